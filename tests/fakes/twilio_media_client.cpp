// The Twilio Media Streams stand-in: one StreamRun per stream, shaped like Beast's WebSocket
// client examples (a strand per connection, do_x/on_x pairs, one write in flight behind a
// queue). Three timers drive it: the script (media frames, dtmf, the end), the playout of the
// far end (mark echoes), and the overall deadline.
#include "twilio_media_client.hpp"

#include <algorithm>
#include <array>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/websocket.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>
#include <deque>
#include <memory>
#include <optional>
#include <random>
#include <string_view>

namespace voxgate::testing {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = boost::beast::http;
namespace json = boost::json;
namespace websocket = boost::beast::websocket;
using tcp = boost::asio::ip::tcp;
using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

// 20 ms of mu-law at 8 kHz: what Twilio is observed to send per media message (protocol §1.4).
constexpr std::size_t kFrameBytes = 160;
constexpr auto kFrameDuration = 20ms;
// One mu-law byte lasts 1/8000 s.
constexpr auto kByteDuration = 125us;
constexpr std::uint8_t kMulawSilence = 0xFF;
constexpr auto kConnectTimeout = 5s;
// Bounds the opening and the closing WebSocket handshakes.
constexpr auto kHandshakeTimeout = 5s;
constexpr auto kDeadlineSlack = 10s;
// An upgrade refusal's body is quoted in the report up to this length.
constexpr std::size_t kMaxQuotedBodyBytes = 200;

constexpr std::string_view kBase64Alphabet =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

std::string base64_encode(const std::uint8_t* data, std::size_t size) {
  std::string out;
  out.reserve((size + 2) / 3 * 4);
  std::size_t i = 0;
  for (; i + 3 <= size; i += 3) {
    const std::uint32_t n = (data[i] << 16) | (data[i + 1] << 8) | data[i + 2];
    out += kBase64Alphabet[(n >> 18) & 63];
    out += kBase64Alphabet[(n >> 12) & 63];
    out += kBase64Alphabet[(n >> 6) & 63];
    out += kBase64Alphabet[n & 63];
  }
  if (i < size) {
    const bool two = i + 1 < size;
    const std::uint32_t n = (data[i] << 16) | (two ? data[i + 1] << 8 : 0);
    out += kBase64Alphabet[(n >> 18) & 63];
    out += kBase64Alphabet[(n >> 12) & 63];
    out += two ? kBase64Alphabet[(n >> 6) & 63] : '=';
    out += '=';
  }
  return out;
}

// Strict RFC 4648 decoding, padding required: Twilio documents the standard alphabet, and a
// sloppy encoder in the server should show up as an unexpected message, not be forgiven.
bool base64_decode(std::string_view text, std::vector<std::uint8_t>& out) {
  static const std::array<int, 256> kValues = [] {
    std::array<int, 256> values{};
    values.fill(-1);
    for (std::size_t i = 0; i < kBase64Alphabet.size(); ++i) {
      values[static_cast<unsigned char>(kBase64Alphabet[i])] = static_cast<int>(i);
    }
    return values;
  }();
  if (text.size() % 4 != 0) return false;
  for (std::size_t i = 0; i < text.size(); i += 4) {
    const bool last = i + 4 == text.size();
    int v[4];
    int n_padding = 0;
    for (int j = 0; j < 4; ++j) {
      const char c = text[i + static_cast<std::size_t>(j)];
      if (c == '=' && last && j >= 2) {
        v[j] = 0;
        ++n_padding;
        continue;
      }
      if (n_padding > 0) return false;  // data after padding
      v[j] = kValues[static_cast<unsigned char>(c)];
      if (v[j] < 0) return false;
    }
    const std::uint32_t n =
        (static_cast<std::uint32_t>(v[0]) << 18) | (static_cast<std::uint32_t>(v[1]) << 12) |
        (static_cast<std::uint32_t>(v[2]) << 6) | static_cast<std::uint32_t>(v[3]);
    out.push_back(static_cast<std::uint8_t>(n >> 16));
    if (n_padding < 2) out.push_back(static_cast<std::uint8_t>(n >> 8));
    if (n_padding < 1) out.push_back(static_cast<std::uint8_t>(n));
  }
  return true;
}

// "CA"/"MZ" + 32 lowercase hex digits, the shape of Twilio's SIDs.
std::string random_sid(std::string_view prefix) {
  thread_local std::mt19937_64 generator{std::random_device{}()};
  std::uniform_int_distribution<int> digit(0, 15);
  std::string sid(prefix);
  for (int i = 0; i < 32; ++i) sid += "0123456789abcdef"[digit(generator)];
  return sid;
}

double to_ms(Clock::duration d) { return std::chrono::duration<double, std::milli>(d).count(); }

const json::string* string_field(const json::object& object, std::string_view key) {
  const json::value* value = object.if_contains(key);
  return value == nullptr ? nullptr : value->if_string();
}

class StreamRun : public std::enable_shared_from_this<StreamRun> {
 public:
  StreamRun(asio::io_context& io, StreamScript script, std::function<void(StreamReport)> done)
      : strand_(asio::make_strand(io)),
        resolver_(strand_),
        ws_(strand_),
        script_timer_(strand_),
        playout_timer_(strand_),
        deadline_timer_(strand_),
        script_(std::move(script)),
        done_(std::move(done)) {}

  void start() {
    asio::dispatch(strand_, [self = shared_from_this()] { self->begin(); });
  }

 private:
  enum class EchoCause { kPlayed, kCleared };
  struct Outgoing {
    std::string text;
    bool media = false;
  };

  void begin() {
    started_at_ = Clock::now();
    if (script_.call_sid.empty()) script_.call_sid = random_sid("CA");
    if (script_.stream_sid.empty()) script_.stream_sid = random_sid("MZ");
    if (script_.path.empty()) script_.path = "/";
    std::stable_sort(script_.dtmf.begin(), script_.dtmf.end(),
                     [](const auto& a, const auto& b) { return a.first < b.first; });

    n_frames_ = (script_.caller_audio.size() + kFrameBytes - 1) / kFrameBytes;
    Clock::duration script_length = kFrameDuration * static_cast<std::int64_t>(n_frames_);
    if (!script_.dtmf.empty()) {
      script_length = std::max<Clock::duration>(script_length, script_.dtmf.back().first);
    }
    stream_length_ = script_length + script_.linger;

    deadline_timer_.expires_after(stream_length_ + kDeadlineSlack);
    deadline_timer_.async_wait(
        [self = shared_from_this()](beast::error_code ec) { self->on_deadline(ec); });
    resolver_.async_resolve(
        script_.host, std::to_string(script_.port),
        [self = shared_from_this()](beast::error_code ec, tcp::resolver::results_type results) {
          self->on_resolve(ec, results);
        });
  }

  void on_resolve(beast::error_code ec, const tcp::resolver::results_type& results) {
    if (finished_) return;
    if (ec) {
      report_.upgrade_error = "resolve: " + ec.message();
      return finish();
    }
    beast::get_lowest_layer(ws_).expires_after(kConnectTimeout);
    beast::get_lowest_layer(ws_).async_connect(
        results, [self = shared_from_this()](beast::error_code connect_ec, const tcp::endpoint&) {
          self->on_connect(connect_ec);
        });
  }

  void on_connect(beast::error_code ec) {
    if (finished_) return;
    if (ec) {
      report_.upgrade_error = "connect: " + ec.message();
      return finish();
    }
    // Small real-time frames: no Nagle delay, as a media server would configure it.
    beast::error_code ignored;
    beast::get_lowest_layer(ws_).socket().set_option(tcp::no_delay(true), ignored);
    // The WebSocket stream keeps its own timers from here on; two would fight.
    beast::get_lowest_layer(ws_).expires_never();
    websocket::stream_base::timeout timeouts{};
    timeouts.handshake_timeout = kHandshakeTimeout;
    timeouts.idle_timeout = websocket::stream_base::none();
    timeouts.keep_alive_pings = false;
    ws_.set_option(timeouts);
    ws_.set_option(websocket::stream_base::decorator(
        [headers = script_.upgrade_headers](websocket::request_type& request) {
          request.set(http::field::user_agent, "voxgate-fake-twilio");
          for (const auto& [name, value] : headers) request.set(name, value);
        }));
    const std::string host = script_.host + ":" + std::to_string(script_.port);
    ws_.async_handshake(upgrade_response_, host, script_.path,
                        [self = shared_from_this()](beast::error_code handshake_ec) {
                          self->on_handshake(handshake_ec);
                        });
  }

  void on_handshake(beast::error_code ec) {
    if (finished_) return;
    if (ec == websocket::error::upgrade_declined) {
      const std::string& body = upgrade_response_.body();
      report_.upgrade_error = "HTTP " + std::to_string(upgrade_response_.result_int()) + " " +
                              std::string(upgrade_response_.reason());
      if (!body.empty()) report_.upgrade_error += ": " + body.substr(0, kMaxQuotedBodyBytes);
      return finish();
    }
    if (ec) {
      report_.upgrade_error = "handshake: " + ec.message();
      return finish();
    }
    report_.connected = true;
    ws_.text(true);
    stream_start_ = Clock::now();
    do_read();

    if (script_.send_connected) {
      json::object connected;
      connected["event"] = "connected";
      connected["protocol"] = "Call";
      connected["version"] = "1.0.0";
      send(json::serialize(connected));
    }
    if (script_.send_start) send(start_message());
    schedule_script();
  }

  // ---- what we send -------------------------------------------------------------------

  std::string next_sequence_number() { return std::to_string(next_sequence_number_++); }

  std::string start_message() {
    json::object media_format;
    media_format["encoding"] = "audio/x-mulaw";
    media_format["sampleRate"] = 8000;
    media_format["channels"] = 1;
    json::object custom_parameters;
    for (const auto& [name, value] : script_.custom_parameters) custom_parameters[name] = value;
    json::object start;
    start["accountSid"] = script_.account_sid;
    start["streamSid"] = script_.stream_sid;
    start["callSid"] = script_.call_sid;
    start["tracks"] = json::array{"inbound"};
    start["mediaFormat"] = std::move(media_format);
    start["customParameters"] = std::move(custom_parameters);
    json::object message;
    message["event"] = "start";
    message["sequenceNumber"] = next_sequence_number();
    message["start"] = std::move(start);
    message["streamSid"] = script_.stream_sid;
    return json::serialize(message);
  }

  std::string media_message(std::size_t frame) {
    std::array<std::uint8_t, kFrameBytes> bytes;
    bytes.fill(kMulawSilence);
    const std::size_t offset = frame * kFrameBytes;
    const std::size_t size = std::min(kFrameBytes, script_.caller_audio.size() - offset);
    std::copy_n(script_.caller_audio.begin() + static_cast<std::ptrdiff_t>(offset), size,
                bytes.begin());
    json::object media;
    media["track"] = "inbound";
    media["chunk"] = std::to_string(frame + 1);
    media["timestamp"] = std::to_string(frame * kFrameDuration.count());
    media["payload"] = base64_encode(bytes.data(), bytes.size());
    json::object message;
    message["event"] = "media";
    message["sequenceNumber"] = next_sequence_number();
    message["media"] = std::move(media);
    message["streamSid"] = script_.stream_sid;
    return json::serialize(message);
  }

  std::string dtmf_message(const std::string& digit) {
    json::object dtmf;
    dtmf["track"] = "inbound_track";
    dtmf["digit"] = digit;
    json::object message;
    message["event"] = "dtmf";
    message["streamSid"] = script_.stream_sid;
    message["sequenceNumber"] = next_sequence_number();
    message["dtmf"] = std::move(dtmf);
    return json::serialize(message);
  }

  std::string mark_message(const std::string& name) {
    json::object mark;
    mark["name"] = name;
    json::object message;
    message["event"] = "mark";
    message["sequenceNumber"] = next_sequence_number();
    message["streamSid"] = script_.stream_sid;
    message["mark"] = std::move(mark);
    return json::serialize(message);
  }

  std::string stop_message() {
    json::object stop;
    stop["accountSid"] = script_.account_sid;
    stop["callSid"] = script_.call_sid;
    json::object message;
    message["event"] = "stop";
    message["sequenceNumber"] = next_sequence_number();
    message["stop"] = std::move(stop);
    message["streamSid"] = script_.stream_sid;
    return json::serialize(message);
  }

  // ---- the caller's script ------------------------------------------------------------

  Clock::time_point frame_due(std::size_t frame) const {
    return stream_start_ + kFrameDuration * static_cast<std::int64_t>(frame);
  }

  Clock::time_point dtmf_due(std::size_t index) const {
    return stream_start_ + script_.dtmf[index].first;
  }

  void schedule_script() {
    Clock::time_point due = stream_start_ + stream_length_;
    if (next_frame_ < n_frames_) due = std::min(due, frame_due(next_frame_));
    if (next_dtmf_ < script_.dtmf.size()) due = std::min(due, dtmf_due(next_dtmf_));
    script_timer_.expires_at(due);
    script_timer_.async_wait(
        [self = shared_from_this()](beast::error_code ec) { self->on_script_timer(ec); });
  }

  void on_script_timer(beast::error_code ec) {
    if (ec || finished_ || ending_) return;
    const Clock::time_point now = Clock::now();
    // Everything due goes out in time order: after a stall we catch up instead of drifting.
    for (;;) {
      const bool frame_ready = next_frame_ < n_frames_ && frame_due(next_frame_) <= now;
      const bool dtmf_ready = next_dtmf_ < script_.dtmf.size() && dtmf_due(next_dtmf_) <= now;
      if (dtmf_ready && (!frame_ready || dtmf_due(next_dtmf_) < frame_due(next_frame_))) {
        send(dtmf_message(script_.dtmf[next_dtmf_].second));
        ++next_dtmf_;
        ++report_.dtmf_sent;
      } else if (frame_ready) {
        send(media_message(next_frame_), /*media=*/true);
        ++next_frame_;
      } else {
        break;
      }
    }
    const bool script_done = next_frame_ == n_frames_ && next_dtmf_ == script_.dtmf.size();
    if (script_done && now >= stream_start_ + stream_length_) return end_stream();
    schedule_script();
  }

  // From here on nothing but `stop` is sent, so the queue drains once and the end follows.
  void end_stream() {
    if (script_.send_stop) send(stop_message());
    ending_ = true;
    if (!writing_) after_last_write();
  }

  // Called once the queue has drained after end_stream().
  void after_last_write() {
    if (!script_.send_stop) return finish();  // drops the connection without a close frame
    ws_.async_close(websocket::close_code::normal,
                    [self = shared_from_this()](beast::error_code ec) { self->on_close(ec); });
  }

  void on_close(beast::error_code ec) {
    if (finished_) return;
    if (ec && ec != websocket::error::closed) report_.error = "close: " + ec.message();
    finish();
  }

  // ---- writing ------------------------------------------------------------------------

  // The queue holds at most a few frames while the server keeps reading; if it stops, the
  // deadline ends the stream, which bounds the queue to the length of the script.
  void send(std::string text, bool media = false) {
    if (finished_ || ending_) return;
    queue_.push_back(Outgoing{std::move(text), media});
    if (!writing_) do_write();
  }

  void do_write() {
    writing_ = true;
    ws_.async_write(
        asio::buffer(queue_.front().text),
        [self = shared_from_this()](beast::error_code ec, std::size_t) { self->on_write(ec); });
  }

  void on_write(beast::error_code ec) {
    writing_ = false;
    if (finished_) return;
    // The server's close frame came in while we wrote: the pending read is finishing the
    // close handshake and will end the stream cleanly; cutting the socket now would spoil it.
    if (ec == websocket::error::closed) return queue_.clear();
    if (ec) {
      report_.error = "write: " + ec.message();
      return finish();
    }
    if (queue_.front().media) ++report_.media_frames_sent;
    queue_.pop_front();
    if (!queue_.empty()) return do_write();
    if (ending_) after_last_write();
  }

  // ---- reading: the far end -----------------------------------------------------------

  void do_read() {
    ws_.async_read(read_buffer_, [self = shared_from_this()](beast::error_code ec, std::size_t) {
      self->on_read(ec);
    });
  }

  void on_read(beast::error_code ec) {
    if (finished_) return;
    if (ec == websocket::error::closed) return finish();  // a clean close handshake
    if (ec) {
      report_.error = "read: " + ec.message();
      return finish();
    }
    if (ws_.got_text()) {
      const auto data = read_buffer_.cdata();
      handle_message(std::string_view(static_cast<const char*>(data.data()), data.size()));
    } else {
      ++report_.unexpected_messages;
    }
    read_buffer_.consume(read_buffer_.size());
    do_read();
  }

  void handle_message(std::string_view text) {
    const Clock::time_point now = Clock::now();
    boost::system::error_code parse_ec;
    const json::value value = json::parse(text, parse_ec);
    const json::object* message = parse_ec ? nullptr : value.if_object();
    const json::string* event = message ? string_field(*message, "event") : nullptr;
    const json::string* stream_sid = message ? string_field(*message, "streamSid") : nullptr;
    if (event == nullptr || stream_sid == nullptr || *stream_sid != script_.stream_sid) {
      ++report_.unexpected_messages;
      return;
    }
    if (*event == "media") {
      const json::value* media = message->if_contains("media");
      const json::string* payload =
          media && media->is_object() ? string_field(media->get_object(), "payload") : nullptr;
      std::vector<std::uint8_t> bytes;
      if (payload == nullptr || !base64_decode(*payload, bytes)) {
        ++report_.unexpected_messages;
        return;
      }
      return on_media(bytes, now);
    }
    if (*event == "mark") {
      const json::value* mark = message->if_contains("mark");
      const json::string* name =
          mark && mark->is_object() ? string_field(mark->get_object(), "name") : nullptr;
      if (name == nullptr) {
        ++report_.unexpected_messages;
        return;
      }
      return on_mark(std::string(*name), now);
    }
    if (*event == "clear") return on_clear(now);
    ++report_.unexpected_messages;
  }

  void on_media(const std::vector<std::uint8_t>& bytes, Clock::time_point now) {
    Clock::time_point play_at = now;
    double lateness_ms = 0;
    if (playout_end_ > now) {
      play_at = playout_end_;
      lateness_ms = to_ms(now - playout_end_);
    } else if (!utterance_boundary_) {
      lateness_ms = to_ms(now - playout_end_);
    }
    playout_end_ = play_at + kByteDuration * static_cast<std::int64_t>(bytes.size());
    utterance_boundary_ = false;
    // A media message may hold several 20 ms frames (Twilio takes any size, §1.3).
    report_.media_frames_received += (bytes.size() + kFrameBytes - 1) / kFrameBytes;
    report_.bytes_received += bytes.size();
    report_.media_arrival_lateness_ms.push_back(lateness_ms);
    report_.received_audio.insert(report_.received_audio.end(), bytes.begin(), bytes.end());
  }

  void on_mark(std::string name, Clock::time_point now) {
    utterance_boundary_ = true;
    echo_played_marks(now);  // keeps echoes in order if the playout timer is about to fire
    if (pending_marks_.empty() && playout_end_ <= now) {
      return echo(std::move(name), EchoCause::kPlayed);
    }
    pending_marks_.emplace_back(playout_end_, std::move(name));
    if (pending_marks_.size() == 1) arm_playout_timer();
  }

  void on_clear(Clock::time_point now) {
    ++report_.clears_received;
    report_.clear_times_ms.push_back(
        std::chrono::duration<double, std::milli>(Clock::now() - stream_start_).count());
    echo_played_marks(now);
    for (auto& [due, name] : pending_marks_) echo(std::move(name), EchoCause::kCleared);
    pending_marks_.clear();
    playout_timer_.cancel();
    playout_end_ = now;
    utterance_boundary_ = true;
  }

  void echo_played_marks(Clock::time_point now) {
    while (!pending_marks_.empty() && pending_marks_.front().first <= now) {
      echo(std::move(pending_marks_.front().second), EchoCause::kPlayed);
      pending_marks_.pop_front();
    }
  }

  void echo(std::string name, EchoCause cause) {
    if (finished_ || ending_) return;  // the call is hanging up: no one hears the rest
    send(mark_message(name));
    auto& list =
        cause == EchoCause::kPlayed ? report_.marks_echoed_played : report_.marks_echoed_cleared;
    list.push_back(std::move(name));
  }

  // Re-arming replaces any wait in flight, and the handler re-reads the state, so a stale
  // wake-up after a clear does no harm.
  void arm_playout_timer() {
    if (pending_marks_.empty()) return;
    playout_timer_.expires_at(pending_marks_.front().first);
    playout_timer_.async_wait([self = shared_from_this()](beast::error_code ec) {
      if (ec || self->finished_) return;
      self->echo_played_marks(Clock::now());
      self->arm_playout_timer();
    });
  }

  // ---- the end ------------------------------------------------------------------------

  void on_deadline(beast::error_code ec) {
    if (ec || finished_) return;
    report_.deadline_expired = true;
    report_.error = "deadline";
    finish();
  }

  void finish() {
    if (finished_) return;
    finished_ = true;
    if (report_.connected) {
      const websocket::close_reason& reason = ws_.reason();
      if (reason.code != websocket::close_code::none) {
        report_.close_code = static_cast<std::uint16_t>(reason.code);
        report_.close_reason = std::string(reason.reason.data(), reason.reason.size());
      }
    }
    resolver_.cancel();
    script_timer_.cancel();
    playout_timer_.cancel();
    deadline_timer_.cancel();
    beast::get_lowest_layer(ws_).close();
    report_.duration =
        std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - started_at_);
    // Posted, so `done` never runs inside one of our handlers' call chains.
    asio::post(strand_, [done = std::move(done_), report = std::move(report_)]() mutable {
      done(std::move(report));
    });
  }

  asio::strand<asio::io_context::executor_type> strand_;
  tcp::resolver resolver_;
  websocket::stream<beast::tcp_stream> ws_;
  asio::steady_timer script_timer_;
  asio::steady_timer playout_timer_;
  asio::steady_timer deadline_timer_;
  StreamScript script_;
  std::function<void(StreamReport)> done_;
  StreamReport report_;

  websocket::response_type upgrade_response_;
  beast::flat_buffer read_buffer_;
  std::deque<Outgoing> queue_;
  bool writing_ = false;

  Clock::time_point started_at_;
  Clock::time_point stream_start_;
  Clock::duration stream_length_{};  // script + linger, from stream_start_
  std::size_t n_frames_ = 0;
  std::size_t next_frame_ = 0;
  std::size_t next_dtmf_ = 0;
  std::uint64_t next_sequence_number_ = 1;

  // The far end's playout: when the buffered audio will have played, and the marks waiting
  // for it (due time, name), in order.
  Clock::time_point playout_end_{};
  bool utterance_boundary_ = true;
  std::deque<std::pair<Clock::time_point, std::string>> pending_marks_;

  bool ending_ = false;    // the script is over, `stop` (if any) is queued: nothing more is sent
  bool finished_ = false;  // done is posted; handlers only unwind
};

}  // namespace

void run_stream(asio::io_context& io, StreamScript script, std::function<void(StreamReport)> done) {
  std::make_shared<StreamRun>(io, std::move(script), std::move(done))->start();
}

StreamReport run_stream_blocking(StreamScript script) {
  asio::io_context io;
  StreamReport report;
  run_stream(io, std::move(script), [&report](StreamReport r) { report = std::move(r); });
  io.run();
  return report;
}

}  // namespace voxgate::testing
