// Outgoing HTTP(S): the one way voxgate talks to services it does not own (OpenAI-compatible
// speech and chat APIs, a user's agent webhook, Twilio's REST API, recording downloads).
//
// libcurl does the protocol (TLS, redirects off, HTTP/1.1 keep-alive, connection reuse);
// one `curl_multi` driven by one thread of the client's own does the waiting, so no I/O
// thread ever blocks on the network. A request's callbacks are posted to the executor the
// caller gives (the call's strand), never run inline and never on the client's thread.
//
// Contract:
// - `Client` is thread-safe: `start` may be called from any thread.
// - Callbacks of one request run through its executor, in this order: `on_body_chunk`
//   zero or more times (only when given: then `Response::body` stays empty), then
//   `on_done` exactly once, unless the request is cancelled first. Each is posted on its
//   own, so the order holds on a strand or a one-thread io_context, not on a bare
//   multi-threaded pool.
// - `Transfer::cancel()` aborts the request; when called on the request's executor, no
//   callback of that request runs after it returns. Dropping the Transfer does not cancel.
// - Only hosts in `ClientOptions::allowed_hosts` are fetched: any other URL fails at once
//   with kInvalidInput ("host not allowed"), without a connection. Entries are "host" (any
//   port) or "host:port" (that port, explicit or the scheme's default: "h:443" allows
//   "https://h/"); hosts compare case-insensitively, IPv6 addresses in brackets.
// - A response with any status is a success for the client (the caller judges 4xx/5xx);
//   errors are connection failures (kUnavailable), timeouts (kTimeout), a body over
//   `max_response_bytes`, streamed or not (kInvalidInput), and a request that cannot be
//   sent as given: not absolute http(s), a method or header with characters HTTP does not
//   allow (kInvalidInput). Error messages name the host, never the credentials.
// - Secrets (Authorization headers, Basic-auth passwords) never reach the logs.
// - Destroying the client cancels every request in flight; their `on_done` is not called.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "util/result.hpp"

namespace voxgate::http {

using Headers = std::vector<std::pair<std::string, std::string>>;

struct Request {
  std::string method = "GET";   // GET, POST, DELETE, …
  std::string url;              // absolute http:// or https:// URL
  Headers headers;              // e.g. {"Content-Type", "application/json"}
  std::string body;             // sent as is (POST/PUT)
  std::string basic_auth_user;  // HTTP Basic auth when non-empty
  std::string basic_auth_password;
  std::chrono::milliseconds timeout{10'000};  // the whole exchange
  std::chrono::milliseconds connect_timeout{3'000};
  std::size_t max_response_bytes = 32u << 20;
};

struct Response {
  int status = 0;
  Headers headers;      // names lowercased, in arrival order
  std::string body;     // empty when the body went to `on_body_chunk`
  double total_ms = 0;  // from start to the last byte

  // The first header with this (lowercase) name, or "".
  std::string_view header(std::string_view lowercase_name) const;
};

class Transfer {
 public:
  virtual ~Transfer() = default;
  virtual void cancel() = 0;
};

struct ClientOptions {
  std::vector<std::string> allowed_hosts;  // "host" or "host:port"
  std::string user_agent = "voxgate";
};

class Client {
 public:
  static util::Result<std::unique_ptr<Client>> create(ClientOptions options);
  virtual ~Client() = default;

  // Starts `request`. `on_body_chunk` (may be empty) receives the body as it arrives, for
  // streamed answers such as server-sent events.
  virtual std::shared_ptr<Transfer> start(
      Request request, boost::asio::any_io_executor executor,
      std::function<void(util::Result<Response>)> on_done,
      std::function<void(std::string_view chunk)> on_body_chunk = {}) = 0;

  // Whether a URL's host (and port) is one this client may fetch.
  virtual bool allowed(std::string_view url) const = 0;
};

// "host" or "host:port" of an absolute URL, lowercased; "" when the URL is not absolute
// http(s). Used for allow-lists (twilio.recording_hosts, the engines' base URLs).
std::string host_and_port_of(std::string_view url);

}  // namespace voxgate::http
