// Routing: a pure function from an HTTP request to a response, so every route can be
// tested without sockets. The HTTP session reads a request, calls Router::handle, and
// writes what it returns.
//
// Patterns are paths whose segments are literals or a `{name}` placeholder, optionally
// followed by a literal suffix: "/phone/process-voice/{call_sid}", "/audio/{id}.wav".
// Placeholders match one non-empty, percent-decoded segment.
#pragma once

#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/verb.hpp>
#include <boost/json/value.hpp>

#include <atomic>
#include <chrono>
#include <functional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "observe/metrics.hpp"

namespace voxgate::net {

using Request = boost::beast::http::request<boost::beast::http::string_body>;
using Response = boost::beast::http::response<boost::beast::http::string_body>;
using Status = boost::beast::http::status;
using Method = boost::beast::http::verb;

class PathParams {
 public:
  void add(std::string name, std::string value);
  // The value of placeholder `name`; "" when the pattern has none of that name.
  const std::string& get(std::string_view name) const;

 private:
  std::vector<std::pair<std::string, std::string>> values_;
};

// Responses every route uses. All set Content-Type; the router fills in version,
// keep-alive and Content-Length.
Response json_response(Status status, const boost::json::value& body);
// {"error": code, "message": message}: the error shape of DESIGN.md §2.
Response error_response(Status status, std::string_view code, std::string_view message);
Response twiml_response(std::string xml);
Response empty_response(Status status);

// What a route does to calls, which decides how it is served while the server drains (after
// SIGTERM, DESIGN.md §2) and while shared state is out of reach (docs/SCALING.md).
struct RouteOptions {
  // A route that starts a new call (an incoming-call webhook). It answers 503 without
  // calling its handler while draining ({"error":"draining"}) and while the shared store
  // cannot be reached ({"error":"store_unavailable"}), so Twilio uses the number's fallback
  // URL or a load balancer retries on another worker. Routes of calls already in progress
  // keep being served until the process exits.
  bool starts_call = false;
  // A route that reads or changes a call's record (stream-ended, process-voice, status
  // callbacks). With a call loader set (shared state across workers), the router first loads
  // the call named by the path's {call_sid}, or else the form's CallSid, then runs the
  // handler, so that it continues from what any worker last stored.
  bool acts_on_call = false;
};

class Router {
 public:
  using Handler = std::function<Response(const Request&, const PathParams&)>;
  // Delivers a route's response; callable once, from any thread.
  using Responder = std::function<void(Response)>;
  // A route whose answer comes later (speech processing): it must copy what it needs of
  // the request, which lives only during the call, and call `respond` exactly once.
  using AsyncHandler = std::function<void(const Request&, const PathParams&, Responder)>;

  // Counts requests and their latency in `metrics` (voxgate_http_requests_total,
  // voxgate_http_request_duration_seconds), labelled by route pattern.
  explicit Router(observe::Registry& metrics);

  // Registers a route at start-up (not thread-safe; `handle` may run concurrently only
  // after all routes are added). A second route with the same method and pattern is a
  // programming error (std::logic_error).
  void add(Method method, std::string pattern, Handler handler, RouteOptions options = {});
  void add_async(Method method, std::string pattern, AsyncHandler handler,
                 RouteOptions options = {});

  // Thread-safe. While draining, routes added with `starts_call` answer 503.
  void set_draining(bool draining) { draining_ = draining; }
  bool draining() const { return draining_; }

  // Shared call state (call/shared_calls.hpp), set at start-up before `handle_async` runs.
  // `load` fetches a call's record and then calls `then` (once, from any thread), whatever it
  // found; `available` says whether the store can be reached: while it cannot, routes that
  // start a call answer 503 {"error":"store_unavailable"} (Twilio then uses the number's
  // fallback URL), and calls in progress go on with what this worker holds.
  using CallLoader = std::function<void(std::string call_sid, std::function<void()> then)>;
  void set_shared_state(CallLoader load, std::function<bool()> available);

  // Thread-safe. Never throws: an unknown path gives 404, a known path with another
  // method 405 (with Allow), an unparsable target 400, and a handler that throws 500
  // (logged). The response carries the request's HTTP version and keep-alive choice.
  // Routes added with add_async answer 500 here: use handle_async for them.
  Response handle(const Request& request) const;
  // Every route; sync ones call `respond` before returning.
  void handle_async(const Request& request, Responder respond) const;

 private:
  struct Route {
    Method method;
    std::string pattern;
    std::vector<std::string> segments;
    Handler handler;             // one of these two is set
    AsyncHandler async_handler;
    RouteOptions options;
  };
  struct Dispatch {
    const Route* route = nullptr;  // the async route to call, or null when `response` is set
    PathParams params;
    Response response;
    std::string label;
  };

  Dispatch dispatch(const Request& request) const;
  // Version, keep-alive, headers and metrics of a finished response.
  Response finish(const Request& request, Response response, const std::string& label,
                  std::chrono::steady_clock::time_point started) const;
  void add_route(Method method, std::string pattern, Handler handler, AsyncHandler async,
                 RouteOptions options);
  static bool match(const Route& route, const std::vector<std::string>& segments,
                    PathParams& params);
  // Runs a route's handler (either kind) and delivers its answer; never throws.
  void run(const Route& route, const Request& request, const PathParams& params,
           const Responder& deliver) const;

  std::vector<Route> routes_;
  observe::Family<observe::Counter>& requests_total_;
  observe::Family<observe::Histogram>& request_duration_s_;
  std::atomic<bool> draining_{false};
  CallLoader load_call_;
  std::function<bool()> store_available_;
};

}  // namespace voxgate::net
