// One connection = one MediaStreamConnection: Beast's websocket stream on the strand the
// HTTP session already had, a read loop, one write in flight behind a bounded queue, and
// a steady_timer for the pacer. Shaped after Beast's websocket server examples.
#include "net/media_stream_endpoint.hpp"

#include <boost/asio/post.hpp>
#include <boost/asio/basic_stream_socket.hpp>
#include <boost/asio/basic_waitable_timer.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/strand.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/websocket/stream.hpp>
#include <boost/url/parse.hpp>
#include <spdlog/spdlog.h>

#include <atomic>
#include <deque>

#include "call/call_session.hpp"
#include "call/call_sid.hpp"
#include "twilio/twiml.hpp"
#include "util/log.hpp"
#include "util/version.hpp"

namespace voxgate::net {
namespace asio = boost::asio;
namespace beast = boost::beast;
namespace websocket = boost::beast::websocket;

namespace {

constexpr std::string_view kPathPrefix = "/phone/stream-audio/";

// The sid in /phone/stream-audio/{sid}, or "" when the target is not that route.
std::string call_sid_from_target(std::string_view target) {
  const auto parsed = boost::urls::parse_origin_form(target);
  if (!parsed) return {};
  const auto segments = parsed->segments();
  if (segments.size() != 3) return {};
  auto it = segments.begin();
  if (*it++ != "phone" || *it++ != "stream-audio") return {};
  std::string sid = *it;
  return call::is_valid_call_sid(sid) ? sid : std::string{};
}

}  // namespace

struct MediaStreamEndpoint::Shared {
  MediaStreamOptions options;
  const twilio::StreamTokenIssuer& tokens;
  call::CallHistory& history;
  call::LiveCalls& live_calls;
  call::StreamMetrics& metrics;
  std::optional<twilio::SignatureValidator> validator;
  // Connections alive, from the upgrade to their end (a draining server waits for them).
  std::shared_ptr<std::atomic<std::size_t>> open_connections;
};

namespace {

// The connection's own strand as a concrete type, and a socket and timer bound to it:
// type-erased executors (any_io_executor) and beast::tcp_stream's timer machinery cost
// on every one of the ~100 operations per second a stream makes, and the WebSocket
// keeps its own timeouts.
using Strand = asio::strand<asio::io_context::executor_type>;
using Socket = asio::basic_stream_socket<asio::ip::tcp, Strand>;
using Timer = asio::basic_waitable_timer<call::Clock, asio::wait_traits<call::Clock>, Strand>;

Socket rebind_to_strand(beast::tcp_stream& stream) {
  auto& socket = stream.socket();
  const Strand* strand = socket.get_executor().target<Strand>();
  // The HTTP server gives every connection a strand of its io_context; anything else
  // would be a wiring bug, and the connection still gets a strand of that context.
  Socket rebound(strand != nullptr
                     ? *strand
                     : asio::make_strand(static_cast<asio::io_context&>(
                           asio::query(socket.get_executor(), asio::execution::context))));
  beast::error_code ec;
  const auto protocol = socket.local_endpoint(ec).protocol();
  const auto handle = socket.release(ec);
  if (!ec) rebound.assign(protocol, handle, ec);
  return rebound;
}

class MediaStreamConnection final : public std::enable_shared_from_this<MediaStreamConnection>,
                                    public call::StreamSink,
                                    public call::LiveCallHandle {
 public:
  using Shared = MediaStreamEndpoint::Shared;

  MediaStreamConnection(std::shared_ptr<Shared> shared, std::string call_sid,
                        beast::tcp_stream stream)
      : shared_(std::move(shared)),
        call_sid_(std::move(call_sid)),
        ws_(rebind_to_strand(stream)),
        pacer_timer_(ws_.get_executor()),
        start_timer_(ws_.get_executor()) {
    ++*shared_->open_connections;
  }
  ~MediaStreamConnection() override { --*shared_->open_connections; }

  void start(Request request) {
    ws_.set_option(websocket::stream_base::timeout{
        .handshake_timeout = std::chrono::seconds(10),
        .idle_timeout = shared_->options.idle_timeout,
        .keep_alive_pings = true});
    ws_.set_option(websocket::stream_base::decorator([](websocket::response_type& response) {
      response.set(beast::http::field::server, std::string("voxgate/") + kVersion);
    }));
    ws_.read_message_max(shared_->options.max_message_bytes);
    const bool signed_ok = check_signature(request);
    ws_.async_accept(request, [self = shared_from_this(), signed_ok](beast::error_code ec) {
      self->on_accept(ec, signed_ok);
    });
  }

  // StreamSink (on the strand)
  void send_text(std::string message) override {
    if (close_requested_) return;
    if (outbox_.size() >= shared_->options.max_queued_messages) {
      // Twilio is not reading: holding more would only grow memory and delay.
      log::CallScope scope(call_sid_);
      spdlog::warn("Outbound backlog over {} messages; closing the stream",
                   shared_->options.max_queued_messages);
      close(call::kCloseTryAgainLater, "outbound backlog");
      return;
    }
    outbox_.push_back(std::move(message));
    if (!writing_) write_next();
  }

  void reschedule() override { schedule_pump(); }

  void close(std::uint16_t code, std::string reason) override {
    if (close_requested_) return;
    close_requested_ = true;
    close_reason_.code = code;
    close_reason_.reason = reason.substr(0, 123);  // a close frame carries at most 123 bytes
    pacer_timer_.cancel();
    if (!writing_) send_close();
  }

  // LiveCallHandle (any thread)
  void speak(std::vector<std::uint8_t> mulaw, std::string mark_name) override {
    asio::post(ws_.get_executor(),
               [self = shared_from_this(), mulaw = std::move(mulaw),
                mark_name = std::move(mark_name)]() mutable {
                 if (!self->session_) return;
                 self->session_->speak(mulaw, std::move(mark_name), call::Clock::now());
                 self->schedule_pump();
               });
  }

  void interrupt() override {
    asio::post(ws_.get_executor(), [self = shared_from_this()] {
      if (!self->session_) return;
      self->session_->interrupt(call::Clock::now());
      self->schedule_pump();
    });
  }

  void hang_up(std::uint16_t code, std::string reason) override {
    asio::post(ws_.get_executor(), [self = shared_from_this(), code, reason = std::move(reason)] {
      self->close(code, reason);
    });
  }

 private:
  bool check_signature(const Request& request) const {
    if (!shared_->validator) return true;
    const auto header = request["X-Twilio-Signature"];  // arrives lowercase; names fold case
    // Twilio signs the upgrade over the wss:// URL it was given (twilio-protocol.md §4.1).
    const std::string url = twilio::websocket_url_of(shared_->options.public_base_url) +
                            std::string(request.target());
    return shared_->validator->validate(url, {}, std::string_view(header.data(), header.size()));
  }

  void on_accept(beast::error_code ec, bool signed_ok) {
    log::CallScope scope(call_sid_);
    if (ec) {
      spdlog::warn("WebSocket handshake failed: {}", ec.message());
      return;
    }
    if (!signed_ok) {
      spdlog::warn("Refusing media stream: missing or wrong x-twilio-signature");
      shared_->metrics.streams_refused_total.with({"bad_signature"}).inc();
      return close(call::kClosePolicyViolation, "bad signature");
    }
    switch (shared_->live_calls.admit(call_sid_, weak_from_this())) {
      case call::LiveCalls::Admission::kAdmitted:
        admitted_ = true;
        break;
      case call::LiveCalls::Admission::kOverCapacity:
        spdlog::warn("Refusing media stream: {} calls already live",
                     shared_->live_calls.max_calls());
        shared_->metrics.streams_refused_total.with({"over_capacity"}).inc();
        return close(call::kCloseTryAgainLater, "over capacity");
      case call::LiveCalls::Admission::kDuplicate:
        spdlog::warn("Refusing media stream: this call already has one");
        shared_->metrics.streams_refused_total.with({"duplicate"}).inc();
        return close(call::kClosePolicyViolation, "a stream for this call is already open");
    }
    session_.emplace(
        call::CallSessionOptions{.expected_call_sid = call_sid_,
                                 .tokens = &shared_->tokens,
                                 .require_token = shared_->validator.has_value(),
                                 .inbound_buffer_bytes = shared_->options.inbound_buffer_bytes,
                                 .frames_per_message = shared_->options.frames_per_message,
                                 .engines = shared_->options.engines,
                                 .conversation = shared_->options.conversation,
                                 .turn_metrics = shared_->options.turn_metrics,
                                 .replies = shared_->options.replies,
                                 .executor = ws_.get_executor()},
        *this, shared_->history, shared_->metrics, call::Clock::now());
    spdlog::info("Media stream connected");
    start_timer_.expires_after(shared_->options.start_timeout);
    start_timer_.async_wait([self = shared_from_this()](beast::error_code ec) {
      if (ec || !self->session_ || self->close_requested_) return;
      if (self->session_->state() != call::CallSession::State::kAwaitingStart) return;
      log::CallScope scope(self->call_sid_);
      spdlog::warn("No start message within {} ms: closing the stream",
                   self->shared_->options.start_timeout.count());
      self->shared_->metrics.streams_refused_total.with({"no_start"}).inc();
      self->close(call::kClosePolicyViolation, "no start message");
    });
    read_next();
  }

  void read_next() {
    ws_.async_read(buffer_, [self = shared_from_this()](beast::error_code ec, std::size_t) {
      self->on_read(ec);
    });
  }

  void on_read(beast::error_code ec) {
    if (ec) return finish(ec);
    if (!ws_.got_text()) {
      buffer_.consume(buffer_.size());  // Twilio sends text only; binary is ignored
    } else {
      // A flat_buffer holds the message in one piece: parse it where it lies.
      const std::string_view text(static_cast<const char*>(buffer_.data().data()),
                                  buffer_.size());
      session_->on_text(text, call::Clock::now());
      buffer_.consume(buffer_.size());
      if (!close_requested_) schedule_pump();
    }
    read_next();
  }

  void schedule_pump() {
    if (!session_ || close_requested_) return;
    const auto due = session_->next_due();
    if (due == call::Clock::time_point::max()) {
      pacer_timer_.cancel();
      timer_due_ = due;
      return;
    }
    if (timer_armed_ && due == timer_due_) return;
    timer_due_ = due;
    timer_armed_ = true;
    pacer_timer_.expires_at(due);
    pacer_timer_.async_wait([self = shared_from_this()](beast::error_code ec) {
      if (ec == asio::error::operation_aborted) return;
      self->timer_armed_ = false;
      if (!self->session_ || self->close_requested_) return;
      self->session_->pump(call::Clock::now());
      self->schedule_pump();
    });
  }

  void write_next() {
    if (outbox_.empty()) {
      writing_ = false;
      if (close_requested_) send_close();
      return;
    }
    writing_ = true;
    ws_.text(true);
    ws_.async_write(asio::buffer(outbox_.front()),
                    [self = shared_from_this()](beast::error_code ec, std::size_t) {
                      self->outbox_.pop_front();
                      if (ec) {
                        self->writing_ = false;
                        self->outbox_.clear();
                        return;  // the read side sees the failure and finishes
                      }
                      self->write_next();
                    });
  }

  void send_close() {
    if (close_sent_ || !ws_.is_open()) return;
    close_sent_ = true;
    // A peer that never answers the close must not hold the call: one second at most.
    ws_.set_option(websocket::stream_base::timeout{
        .handshake_timeout = std::chrono::seconds(1),
        .idle_timeout = websocket::stream_base::none(),
        .keep_alive_pings = false});
    ws_.async_close(close_reason_, [self = shared_from_this()](beast::error_code ec) {
      beast::error_code ignored;
      if (ec) beast::get_lowest_layer(self->ws_).close(ignored);
    });
  }

  void finish(beast::error_code ec) {
    if (finished_) return;
    finished_ = true;
    pacer_timer_.cancel();
    start_timer_.cancel();
    if (session_) {
      if (ec != websocket::error::closed && ec != asio::error::operation_aborted) {
        log::CallScope scope(call_sid_);
        spdlog::info("Media stream ended: {}", ec.message());
      }
      session_->on_closed(call::Clock::now());
    }
    if (admitted_) shared_->live_calls.release(call_sid_);
    admitted_ = false;
  }

  std::shared_ptr<Shared> shared_;
  const std::string call_sid_;
  websocket::stream<Socket> ws_;
  beast::flat_buffer buffer_;
  Timer pacer_timer_;
  Timer start_timer_;
  call::Clock::time_point timer_due_ = call::Clock::time_point::max();
  bool timer_armed_ = false;
  std::deque<std::string> outbox_;
  bool writing_ = false;
  bool close_requested_ = false;
  bool close_sent_ = false;
  bool finished_ = false;
  bool admitted_ = false;
  websocket::close_reason close_reason_;
  std::optional<call::CallSession> session_;
};

}  // namespace

MediaStreamEndpoint::MediaStreamEndpoint(MediaStreamOptions options,
                                         const twilio::StreamTokenIssuer& tokens,
                                         call::CallHistory& history, call::LiveCalls& live_calls,
                                         call::StreamMetrics& metrics)
    : shared_(std::make_shared<Shared>(Shared{
          .options = options,
          .tokens = tokens,
          .history = history,
          .live_calls = live_calls,
          .metrics = metrics,
          .validator = options.auth_token.empty()
                           ? std::nullopt
                           : std::optional<twilio::SignatureValidator>(options.auth_token),
          .open_connections = std::make_shared<std::atomic<std::size_t>>(0)})) {}

std::size_t MediaStreamEndpoint::open_connections() const {
  return shared_->open_connections->load();
}

bool MediaStreamEndpoint::accepts(const Request& request) const {
  return request.method() == Method::get &&
         std::string_view(request.target()).starts_with(kPathPrefix) &&
         !call_sid_from_target(request.target()).empty();
}

void MediaStreamEndpoint::upgrade(Request request, beast::tcp_stream stream) {
  auto connection = std::make_shared<MediaStreamConnection>(
      shared_, call_sid_from_target(request.target()), std::move(stream));
  connection->start(std::move(request));
}

}  // namespace voxgate::net
