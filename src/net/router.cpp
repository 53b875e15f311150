#include "net/router.hpp"

#include <boost/beast/http/field.hpp>
#include <boost/json/serialize.hpp>
#include <boost/url/parse.hpp>
#include <spdlog/spdlog.h>

#include <atomic>
#include <chrono>
#include <memory>
#include <stdexcept>

#include "net/form.hpp"
#include "util/version.hpp"

namespace voxgate::net {
namespace http = boost::beast::http;

namespace {

const std::string kEmpty;

bool is_placeholder(std::string_view segment) {
  return segment.size() > 2 && segment.front() == '{' && segment.find('}') != std::string::npos;
}

std::vector<std::string> split_pattern(std::string_view pattern) {
  std::vector<std::string> segments;
  std::size_t start = 1;  // patterns begin with '/'
  while (start <= pattern.size()) {
    const std::size_t end = std::min(pattern.find('/', start), pattern.size());
    segments.emplace_back(pattern.substr(start, end - start));
    start = end + 1;
  }
  return segments;
}

// Status codes are a bounded label set; anything unusual still gets its own number.
std::string status_label(Status status) { return std::to_string(static_cast<unsigned>(status)); }

}  // namespace

void PathParams::add(std::string name, std::string value) {
  values_.emplace_back(std::move(name), std::move(value));
}

const std::string& PathParams::get(std::string_view name) const {
  for (const auto& [key, value] : values_) {
    if (key == name) return value;
  }
  return kEmpty;
}

Response json_response(Status status, const boost::json::value& body) {
  Response response{status, 11};
  response.set(http::field::content_type, "application/json");
  response.body() = boost::json::serialize(body);
  response.body().push_back('\n');
  return response;
}

Response error_response(Status status, std::string_view code, std::string_view message) {
  return json_response(status, boost::json::object{{"error", code}, {"message", message}});
}

Response twiml_response(std::string xml) {
  Response response{Status::ok, 11};
  response.set(http::field::content_type, "text/xml; charset=utf-8");
  response.body() = std::move(xml);
  return response;
}

Response empty_response(Status status) { return Response{status, 11}; }

Router::Router(observe::Registry& metrics)
    : requests_total_(metrics.counter("voxgate_http_requests_total",
                                      "HTTP requests answered, by route, method and status.",
                                      {"route", "method", "status"})),
      request_duration_s_(metrics.histogram(
          "voxgate_http_request_duration_seconds",
          "Time from a complete request to its response being ready, by route.", {"route"},
          observe::latency_buckets_s())) {}

void Router::add(Method method, std::string pattern, Handler handler, RouteOptions options) {
  add_route(method, std::move(pattern), std::move(handler), nullptr, options);
}

void Router::add_async(Method method, std::string pattern, AsyncHandler handler,
                       RouteOptions options) {
  add_route(method, std::move(pattern), nullptr, std::move(handler), options);
}

void Router::add_route(Method method, std::string pattern, Handler handler, AsyncHandler async,
                       RouteOptions options) {
  for (const Route& route : routes_) {
    if (route.method == method && route.pattern == pattern) {
      throw std::logic_error("route registered twice: " + pattern);
    }
  }
  auto segments = split_pattern(pattern);
  routes_.push_back({method, std::move(pattern), std::move(segments), std::move(handler),
                     std::move(async), options});
}

bool Router::match(const Route& route, const std::vector<std::string>& segments,
                   PathParams& params) {
  if (route.segments.size() != segments.size()) return false;
  PathParams found;
  for (std::size_t i = 0; i < segments.size(); ++i) {
    const std::string& want = route.segments[i];
    const std::string& have = segments[i];
    if (!is_placeholder(want)) {
      if (want != have) return false;
      continue;
    }
    const std::size_t close = want.find('}');
    const std::string_view suffix = std::string_view{want}.substr(close + 1);
    if (have.size() <= suffix.size() || !have.ends_with(suffix)) return false;
    found.add(want.substr(1, close - 1), have.substr(0, have.size() - suffix.size()));
  }
  params = std::move(found);
  return true;
}

Router::Dispatch Router::dispatch(const Request& request) const {
  Dispatch result;
  const auto target = boost::urls::parse_origin_form(request.target());
  if (!target) {
    result.label = "invalid";
    result.response = error_response(Status::bad_request, "bad_request",
                                      "The request target is not a valid path.");
    return result;
  }
  std::vector<std::string> segments;
  for (auto segment : target->segments()) segments.push_back(segment);
  if (segments.empty()) segments.emplace_back();  // "/" is one empty segment, like the patterns

  std::string allowed;
  for (const Route& route : routes_) {
    PathParams params;
    if (!match(route, segments, params)) continue;
    result.label = route.pattern;
    if (route.method != request.method()) {
      if (!allowed.empty()) allowed += ", ";
      allowed += std::string(http::to_string(route.method));
      continue;
    }
    if (route.options.starts_call && store_available_ && !store_available_()) {
      result.response = error_response(Status::service_unavailable, "store_unavailable",
                                        "The shared call state (Redis) cannot be reached, so "
                                        "this server takes no new calls for now.");
      result.response.set(http::field::retry_after, "1");
      return result;
    }
    if (route.options.starts_call && draining_) {
      // Nothing was done, so the request may be retried anywhere: balancers retry a 503
      // on another worker (deploy/haproxy.cfg `retry-on 503`), Twilio uses the fallback URL.
      result.response = error_response(Status::service_unavailable, "draining",
                                        "This server is shutting down and takes no new calls; "
                                        "retry on another server.");
      result.response.set(http::field::retry_after, "1");
      return result;
    }
    if (route.async_handler || (route.options.acts_on_call && load_call_)) {
      result.route = &route;
      result.params = std::move(params);
      return result;
    }
    try {
      result.response = route.handler(request, params);
    } catch (const std::exception& e) {
      spdlog::error("Route {} failed: {}", route.pattern, e.what());
      result.response = error_response(Status::internal_server_error, "internal_error",
                                        "The server could not handle this request.");
    }
    return result;
  }
  if (!allowed.empty()) {
    result.response = error_response(Status::method_not_allowed, "method_not_allowed",
                                      "This path does not accept " +
                                          std::string(request.method_string()) +
                                          "; allowed: " + allowed + ".");
    result.response.set(http::field::allow, allowed);
    return result;
  }
  result.label = "unmatched";
  result.response = error_response(Status::not_found, "not_found", "No such route.");
  return result;
}

Response Router::finish(const Request& request, Response response, const std::string& label,
                        std::chrono::steady_clock::time_point started) const {
  response.version(request.version());
  response.keep_alive(request.keep_alive());
  response.set(http::field::server, std::string("voxgate/") + kVersion);
  response.prepare_payload();
  const std::chrono::duration<double> elapsed = std::chrono::steady_clock::now() - started;
  request_duration_s_.with({label}).observe(elapsed.count());
  const std::string method(http::to_string(request.method()));
  requests_total_.with({label, method, status_label(response.result())}).inc();
  return response;
}

Response Router::handle(const Request& request) const {
  const auto started = std::chrono::steady_clock::now();
  Dispatch dispatched = dispatch(request);
  if (dispatched.route != nullptr && dispatched.route->handler) {
    // Deferred only to load its call: a synchronous caller gets it without the load.
    run(*dispatched.route, request, dispatched.params,
        [&dispatched](Response response) { dispatched.response = std::move(response); });
  } else if (dispatched.route != nullptr) {
    dispatched.response = error_response(Status::internal_server_error, "internal_error",
                                          "This route answers asynchronously.");
  }
  return finish(request, std::move(dispatched.response), dispatched.label, started);
}

void Router::handle_async(const Request& request, Responder respond) const {
  const auto started = std::chrono::steady_clock::now();
  Dispatch dispatched = dispatch(request);
  if (dispatched.route == nullptr) {
    respond(finish(request, std::move(dispatched.response), dispatched.label, started));
    return;
  }
  // The finished response needs the request's version and keep-alive, not the request.
  auto head = std::make_shared<Request>(request.method(), request.target(), request.version());
  head->keep_alive(request.keep_alive());
  // Shared, so that a handler that throws after taking its responder is still answered.
  auto once = std::make_shared<std::pair<std::atomic<bool>, Responder>>(false, std::move(respond));
  auto deliver = [this, head, label = dispatched.label, started, once](Response response) {
    if (once->first.exchange(true)) return;
    once->second(finish(*head, std::move(response), label, started));
  };
  const Route* route = dispatched.route;
  if (!route->options.acts_on_call || !load_call_) {
    return run(*route, request, dispatched.params, deliver);
  }
  std::string call_sid = dispatched.params.get("call_sid");
  if (call_sid.empty()) {
    const FormParseResult form = parse_form(request.body());
    if (const std::string* sid = find_first(form.params, "CallSid")) call_sid = *sid;
  }
  // The handler runs after the load, when this request object is gone: it gets a copy.
  auto kept = std::make_shared<Request>(request);
  load_call_(std::move(call_sid), [this, route, kept, params = std::move(dispatched.params),
                                   deliver = std::move(deliver)] {
    run(*route, *kept, params, deliver);
  });
}

void Router::run(const Route& route, const Request& request, const PathParams& params,
                 const Responder& deliver) const {
  try {
    if (route.async_handler) return route.async_handler(request, params, deliver);
    deliver(route.handler(request, params));
  } catch (const std::exception& e) {
    spdlog::error("Route {} failed: {}", route.pattern, e.what());
    deliver(error_response(Status::internal_server_error, "internal_error",
                           "The server could not handle this request."));
  }
}

void Router::set_shared_state(CallLoader load, std::function<bool()> available) {
  load_call_ = std::move(load);
  store_available_ = std::move(available);
}

}  // namespace voxgate::net
