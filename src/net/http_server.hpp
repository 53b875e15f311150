// The HTTP/1.1 listener: accepts connections and serves each on its own strand, with
// keep-alive, a request body limit and read timeouts, handing every complete request to
// a Router. Stopping is graceful, in two steps:
//
//   stop() ─▶ draining: still accepting and serving (each response closes its connection),
//             while upgraded connections (Media Streams) are open and for a quiet period
//             after the last one closed, so the requests of calls in progress (stream-ended,
//             call-status, audio) still reach this worker and a balancer's health check sees
//             /healthz answer 503 rather than a refused connection
//          ─▶ closed: no new connections, idle ones close at once, and a request already
//             being received or answered finishes before its connection closes.
//
// Which routes refuse new work while draining is the router's business (Router::set_draining);
// when open streams are cut is the caller's (the drain deadline in app/serve.cpp).
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/tcp_stream.hpp>

#include <chrono>
#include <cstddef>
#include <memory>

#include "net/router.hpp"
#include "observe/metrics.hpp"

namespace voxgate::net {

namespace detail {
struct HttpServerState;  // shared by the server and its connections
}  // namespace detail

// Takes over connections whose request is a protocol upgrade it accepts (the Media
// Streams WebSocket). Called on the connection's strand; `upgrade` owns the stream from
// then on, and the HTTP server forgets the connection.
class UpgradeHandler {
 public:
  virtual ~UpgradeHandler() = default;
  virtual bool accepts(const Request& request) const = 0;
  virtual void upgrade(Request request, boost::beast::tcp_stream stream) = 0;
  // Thread-safe: connections taken over and not yet closed. A draining server keeps its
  // listener open while this is above zero.
  virtual std::size_t open_connections() const { return 0; }
};

struct HttpServerOptions {
  std::size_t max_body_bytes = 1 << 20;
  std::size_t max_header_bytes = 16 * 1024;
  // Time allowed to receive one request once its first byte has arrived.
  std::chrono::seconds request_timeout{30};
  // Time a keep-alive connection may wait for its next request.
  std::chrono::seconds idle_timeout{75};
  // Upgrades it does not accept are answered by the router like any request.
  UpgradeHandler* upgrade_handler = nullptr;
  // Draining ends, and the listener closes, once no upgraded connection has been open for
  // this long: the requests that follow a stream's end (Twilio's <Redirect> to stream-ended,
  // the status callback) come within a few hundred milliseconds.
  std::chrono::milliseconds drain_quiet_period{1000};
};

class HttpServer {
 public:
  // `router` and `metrics` must outlive the server. Handlers run on the io_context's
  // threads; the router must be fully built before `listen`.
  HttpServer(boost::asio::io_context& io, const Router& router, HttpServerOptions options,
             observe::Registry& metrics);
  ~HttpServer();

  // Binds, listens and starts accepting; returns the bound endpoint (port 0 picks one).
  // Throws boost::system::system_error when the address cannot be bound (start-up).
  boost::asio::ip::tcp::endpoint listen(const boost::asio::ip::tcp::endpoint& endpoint);

  // Thread-safe, idempotent. Starts the graceful stop above; the io_context runs out of
  // this server's work once draining has ended and in-flight requests are answered.
  void stop();

 private:
  std::shared_ptr<detail::HttpServerState> state_;
};

}  // namespace voxgate::net
