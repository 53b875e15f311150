// Shaped after Boost.Beast's advanced server example: one strand per connection,
// do_x/on_x pairs, one write in flight, expected errors dropped quietly.
#include "net/http_server.hpp"

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/write.hpp>
#include <boost/beast/websocket/rfc6455.hpp>
#include <spdlog/spdlog.h>

#include <atomic>
#include <list>
#include <mutex>
#include <optional>

namespace voxgate::net {
namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = boost::beast::http;
using tcp = boost::asio::ip::tcp;

namespace {

// After an error response the client may still be sending a body we will not read.
// Closing at once could reset the connection and lose the response, so we stop sending,
// read and discard for at most this long, then close (a "lingering close").
constexpr std::chrono::seconds kLingerTimeout{2};

// How often a draining server looks at its open upgraded connections.
constexpr std::chrono::milliseconds kDrainPoll{50};

}  // namespace

class HttpSession;

struct detail::HttpServerState {
  HttpServerState(asio::io_context& io_context, const Router& r, HttpServerOptions o,
        observe::Registry& metrics)
      : io(io_context),
        router(r),
        options(o),
        acceptor(asio::make_strand(io_context)),
        drain_timer(acceptor.get_executor()),
        connections(metrics
                        .gauge("voxgate_http_connections", "Open HTTP and WebSocket connections.")
                        .with({})),
        connections_total(
            metrics.counter("voxgate_http_connections_total", "Connections accepted.").with({})),
        bad_requests_total(metrics
                               .counter("voxgate_http_malformed_requests_total",
                                        "Requests refused before routing, by reason.",
                                        {"reason"})) {}

  asio::io_context& io;
  const Router& router;
  const HttpServerOptions options;
  tcp::acceptor acceptor;
  asio::steady_timer drain_timer;  // on the acceptor's strand, like the drain state below
  std::optional<std::chrono::steady_clock::time_point> quiet_since;
  observe::Gauge& connections;
  observe::Counter& connections_total;
  observe::Family<observe::Counter>& bad_requests_total;

  // Set by stop(): each response closes its connection from then on.
  std::atomic<bool> draining{false};
  std::mutex mutex;
  bool stopping = false;  // draining has ended: the listener is closed
  std::list<std::weak_ptr<HttpSession>> sessions;
};

class HttpSession : public std::enable_shared_from_this<HttpSession> {
 public:
  HttpSession(tcp::socket&& socket, std::shared_ptr<detail::HttpServerState> server)
      : stream_(std::move(socket)), server_(std::move(server)) {
    server_->connections.inc();
    server_->connections_total.inc();
  }
  ~HttpSession() {
    server_->connections.dec();
    if (registration_) {
      std::lock_guard lock(server_->mutex);
      server_->sessions.erase(*registration_);
    }
  }

  void start(std::list<std::weak_ptr<HttpSession>>::iterator registration) {
    registration_ = registration;
    asio::dispatch(stream_.get_executor(),
                   [self = shared_from_this()] { self->read_header(); });
  }

  // From any thread: finish what is in flight, then close.
  void request_stop() {
    asio::post(stream_.get_executor(), [self = shared_from_this()] {
      self->stopping_ = true;
      // Waiting for a next request that has not begun: nothing in flight, close now.
      if (self->awaiting_request_ && self->buffer_.size() == 0) {
        beast::error_code ignored;
        self->stream_.socket().cancel(ignored);
      }
    });
  }

 private:
  void read_header() {
    parser_.emplace();
    parser_->body_limit(server_->options.max_body_bytes);
    parser_->header_limit(static_cast<std::uint32_t>(server_->options.max_header_bytes));
    awaiting_request_ = true;
    stream_.expires_after(server_->options.idle_timeout);
    http::async_read_header(stream_, buffer_, *parser_,
                            [self = shared_from_this()](beast::error_code ec, std::size_t) {
                              self->on_header(ec);
                            });
  }

  void on_header(beast::error_code ec) {
    awaiting_request_ = false;
    if (ec) return on_read_error(ec);
    const auto& header = parser_->get();
    // curl and others wait for "100 Continue" before sending a larger body.
    if (beast::iequals(header[http::field::expect], "100-continue")) {
      continue_response_.emplace(http::status::continue_, header.version());
      http::async_write(stream_, *continue_response_,
                        [self = shared_from_this()](beast::error_code write_ec, std::size_t) {
                          if (write_ec) return self->close();
                          self->read_body();
                        });
      return;
    }
    read_body();
  }

  void read_body() {
    stream_.expires_after(server_->options.request_timeout);
    http::async_read(stream_, buffer_, *parser_,
                     [self = shared_from_this()](beast::error_code ec, std::size_t) {
                       self->on_body(ec);
                     });
  }

  void on_body(beast::error_code ec) {
    if (ec) return on_read_error(ec);
    UpgradeHandler* upgrade = server_->options.upgrade_handler;
    if (upgrade != nullptr && !stopping_ && beast::websocket::is_upgrade(parser_->get()) &&
        upgrade->accepts(parser_->get())) {
      stream_.expires_never();
      upgrade->upgrade(parser_->release(), std::move(stream_));
      return;
    }
    // A route may answer later (speech processing); the answer comes back to this strand.
    // Until it does, the io_context has work: a draining server must not stop under an
    // answer that engine threads are still making. The responder may be destroyed on such a
    // thread, late: answering moves the connection and the work out of it, so only an
    // empty shell goes there.
    struct Pending {
      std::shared_ptr<HttpSession> self;
      std::optional<asio::executor_work_guard<asio::any_io_executor>> work;
    };
    auto pending = std::make_shared<Pending>(
        Pending{shared_from_this(), asio::make_work_guard(asio::any_io_executor(stream_.get_executor()))});
    server_->router.handle_async(parser_->get(), [pending](Response response) {
      std::shared_ptr<HttpSession> self = std::move(pending->self);
      if (!self) return;  // answered already
      auto work = std::move(pending->work);
      pending->work.reset();
      asio::post(self->stream_.get_executor(),
                 [self, work = std::move(work), response = std::move(response)]() mutable {
                   // While draining, connections are not kept for later requests: at the
                   // end of the drain an idle one would be closed under a client that just
                   // chose to reuse it.
                   if (self->stopping_ || self->server_->draining) response.keep_alive(false);
                   self->send(std::move(response), /*linger=*/false);
                 });
    });
  }

  void on_read_error(beast::error_code ec) {
    if (ec == http::error::end_of_stream || ec == asio::error::operation_aborted ||
        ec == beast::error::timeout || ec == asio::error::connection_reset ||
        ec == asio::error::eof) {
      return close();
    }
    // The rest are malformed requests: answer them with a JSON error, then close, since
    // the stream's framing can no longer be trusted.
    if (ec == http::error::body_limit) {
      server_->bad_requests_total.with({"body_too_large"}).inc();
      return send_error(Status::payload_too_large, "payload_too_large",
                        "The request body is larger than " +
                            std::to_string(server_->options.max_body_bytes) + " bytes.");
    }
    if (ec == http::error::header_limit) {
      server_->bad_requests_total.with({"header_too_large"}).inc();
      return send_error(Status::request_header_fields_too_large, "header_too_large",
                        "The request headers are too large.");
    }
    if (ec.category() == http::make_error_code(http::error::bad_method).category()) {
      server_->bad_requests_total.with({"malformed"}).inc();
      return send_error(Status::bad_request, "malformed_request",
                        "The request is not valid HTTP/1.1: " + ec.message() + ".");
    }
    spdlog::debug("HTTP read failed: {}", ec.message());
    close();
  }

  void send_error(Status status, std::string_view code, std::string message) {
    Response response = error_response(status, code, message);
    response.keep_alive(false);
    response.prepare_payload();
    send(std::move(response), /*linger=*/true);
  }

  void send(Response&& response, bool linger) {
    response_ = std::move(response);
    stream_.expires_after(server_->options.request_timeout);
    http::async_write(stream_, *response_,
                      [self = shared_from_this(), linger](beast::error_code ec, std::size_t) {
                        self->on_write(ec, linger);
                      });
  }

  void on_write(beast::error_code ec, bool linger) {
    const bool keep_alive = response_->keep_alive();
    response_.reset();
    if (ec) return close();
    if (linger) return linger_then_close();
    if (!keep_alive || stopping_) return shutdown_and_close();
    read_header();
  }

  void linger_then_close() {
    beast::error_code ignored;
    stream_.socket().shutdown(tcp::socket::shutdown_send, ignored);
    stream_.expires_after(kLingerTimeout);
    drain();
  }

  void drain() {
    stream_.async_read_some(asio::buffer(discard_),
                            [self = shared_from_this()](beast::error_code ec, std::size_t) {
                              if (ec) return self->close();
                              self->drain();
                            });
  }

  void shutdown_and_close() {
    beast::error_code ignored;
    stream_.socket().shutdown(tcp::socket::shutdown_send, ignored);
    close();
  }

  void close() {
    beast::error_code ignored;
    stream_.socket().close(ignored);
  }

  beast::tcp_stream stream_;
  std::shared_ptr<detail::HttpServerState> server_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  std::optional<Response> response_;
  std::optional<http::response<http::empty_body>> continue_response_;
  std::array<char, 4096> discard_{};
  // Where stop() finds this session; erased when the session is destroyed.
  std::optional<std::list<std::weak_ptr<HttpSession>>::iterator> registration_;
  bool awaiting_request_ = false;
  bool stopping_ = false;
};

namespace {

void accept_next(const std::shared_ptr<detail::HttpServerState>& state);

void on_accept(const std::shared_ptr<detail::HttpServerState>& state, beast::error_code ec,
               tcp::socket socket) {
  if (ec == asio::error::operation_aborted) return;
  if (ec) {
    // Out of descriptors and the like: keep accepting; the next attempt may succeed.
    spdlog::warn("accept failed: {}", ec.message());
    return accept_next(state);
  }
  // Audio frames and webhook answers are small and urgent: Nagle's algorithm would hold
  // them back waiting for ACKs (up to the peer's delayed-ACK time, ~40 ms).
  beast::error_code ignored;
  socket.set_option(tcp::no_delay(true), ignored);
  std::list<std::weak_ptr<HttpSession>>::iterator registration;
  auto session = std::make_shared<HttpSession>(std::move(socket), state);
  {
    std::lock_guard lock(state->mutex);
    if (state->stopping) return;  // the socket closes with the session
    registration = state->sessions.insert(state->sessions.end(), session);
  }
  session->start(registration);
  accept_next(state);
}

void accept_next(const std::shared_ptr<detail::HttpServerState>& state) {
  // Each connection gets its own strand: its handlers never run concurrently.
  state->acceptor.async_accept(asio::make_strand(state->io),
                               [state](beast::error_code ec, tcp::socket socket) {
                                 on_accept(state, ec, std::move(socket));
                               });
}

}  // namespace

HttpServer::HttpServer(asio::io_context& io, const Router& router, HttpServerOptions options,
                       observe::Registry& metrics)
    : state_(std::make_shared<detail::HttpServerState>(io, router, options, metrics)) {}

HttpServer::~HttpServer() { stop(); }

tcp::endpoint HttpServer::listen(const tcp::endpoint& endpoint) {
  auto& acceptor = state_->acceptor;
  acceptor.open(endpoint.protocol());
  acceptor.set_option(asio::socket_base::reuse_address(true));
  acceptor.bind(endpoint);
  acceptor.listen(asio::socket_base::max_listen_connections);
  const tcp::endpoint bound = acceptor.local_endpoint();
  asio::dispatch(acceptor.get_executor(), [state = state_] { accept_next(state); });
  return bound;
}

namespace {

// On the acceptor's strand: no new connections; idle ones close, busy ones after their answer.
void close_listener(const std::shared_ptr<detail::HttpServerState>& state) {
  std::vector<std::shared_ptr<HttpSession>> live;
  {
    std::lock_guard lock(state->mutex);
    if (state->stopping) return;
    state->stopping = true;
    for (const auto& weak : state->sessions) {
      if (auto session = weak.lock()) live.push_back(std::move(session));
    }
  }
  beast::error_code ignored;
  state->acceptor.close(ignored);
  for (const auto& session : live) session->request_stop();
}

// On the acceptor's strand, every kDrainPoll while draining.
void watch_drain(const std::shared_ptr<detail::HttpServerState>& state) {
  const UpgradeHandler* upgrades = state->options.upgrade_handler;
  const auto now = std::chrono::steady_clock::now();
  if (upgrades != nullptr && upgrades->open_connections() > 0) {
    state->quiet_since.reset();
  } else if (!state->quiet_since) {
    state->quiet_since = now;
  }
  if (state->quiet_since && now - *state->quiet_since >= state->options.drain_quiet_period) {
    return close_listener(state);
  }
  state->drain_timer.expires_after(kDrainPoll);
  state->drain_timer.async_wait([state](beast::error_code ec) {
    if (!ec) watch_drain(state);
  });
}

}  // namespace

void HttpServer::stop() {
  if (state_->draining.exchange(true)) return;
  asio::post(state_->acceptor.get_executor(), [state = state_] { watch_drain(state); });
}

}  // namespace voxgate::net
