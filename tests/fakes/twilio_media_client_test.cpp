// Tests of the Twilio Media Streams stand-in against small scripted WebSocket servers written
// here with synchronous Beast calls, one thread per connection, on 127.0.0.1 port 0. They
// check the wire format message by message (against twilio-protocol.md §1.2, not against the
// stand-in's code), the 20 ms pacing, the far end's playout (mark echoes on time, clear), and
// every way a stream can end.
#include "twilio_media_client.hpp"

#include <gtest/gtest.h>
#include <poll.h>

#include <algorithm>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/buffers_to_string.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>
#include <boost/beast/websocket.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>
#include <chrono>
#include <cmath>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

namespace voxgate::testing {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = boost::beast::http;
namespace json = boost::json;
namespace websocket = boost::beast::websocket;
using tcp = boost::asio::ip::tcp;
using Clock = std::chrono::steady_clock;
using Ws = websocket::stream<tcp::socket>;
using namespace std::chrono_literals;

// Timing tolerances: loose enough for a loaded two-core machine and sanitizer builds.
constexpr double kEchoToleranceMs = 150;
constexpr double kImmediateMs = 100;

double ms_between(Clock::time_point from, Clock::time_point to) {
  return std::chrono::duration<double, std::milli>(to - from).count();
}

// Independent of the stand-in's base64, so a bug there cannot cancel out.
std::string base64_encode(const std::vector<std::uint8_t>& bytes) {
  static constexpr char kAlphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  for (std::size_t i = 0; i < bytes.size(); i += 3) {
    std::uint32_t n = static_cast<std::uint32_t>(bytes[i]) << 16;
    if (i + 1 < bytes.size()) n |= static_cast<std::uint32_t>(bytes[i + 1]) << 8;
    if (i + 2 < bytes.size()) n |= bytes[i + 2];
    out += kAlphabet[(n >> 18) & 63];
    out += kAlphabet[(n >> 12) & 63];
    out += i + 1 < bytes.size() ? kAlphabet[(n >> 6) & 63] : '=';
    out += i + 2 < bytes.size() ? kAlphabet[n & 63] : '=';
  }
  return out;
}

std::vector<std::uint8_t> base64_decode(std::string_view text) {
  const std::string_view alphabet =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::vector<std::uint8_t> out;
  std::uint32_t bits = 0;
  int n_bits = 0;
  for (char c : text) {
    if (c == '=') break;
    bits = (bits << 6) | static_cast<std::uint32_t>(alphabet.find(c));
    n_bits += 6;
    if (n_bits >= 8) {
      n_bits -= 8;
      out.push_back(static_cast<std::uint8_t>(bits >> n_bits));
    }
  }
  return out;
}

std::vector<std::uint8_t> test_audio(std::size_t n_bytes, int seed) {
  std::vector<std::uint8_t> audio(n_bytes);
  for (std::size_t i = 0; i < n_bytes; ++i) audio[i] = static_cast<std::uint8_t>(i * 7 + seed);
  return audio;
}

// A loopback server that accepts `n_connections` connections and runs `handler` on each, on a
// thread of its own. Handlers use blocking Beast calls; an exception ends that connection and
// is kept for the test to check.
class ScriptedServer {
 public:
  using Handler = std::function<void(tcp::socket&)>;

  ScriptedServer(int n_connections, Handler handler)
      : acceptor_(io_, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0)) {
    acceptor_thread_ = std::thread([this, n_connections, handler = std::move(handler)] {
      for (int i = 0; i < n_connections; ++i) {
        // Bounded, so a client that never connects fails the test instead of hanging it.
        pollfd poll_fd{acceptor_.native_handle(), POLLIN, 0};
        if (poll(&poll_fd, 1, 10000) <= 0) return record_error("no connection within 10 s");
        tcp::socket socket(io_);
        acceptor_.accept(socket);
        connection_threads_.emplace_back([this, handler, socket = std::move(socket)]() mutable {
          try {
            handler(socket);
          } catch (const std::exception& e) {
            record_error(e.what());
          }
        });
      }
    });
  }

  ~ScriptedServer() { join(); }

  unsigned short port() const { return acceptor_.local_endpoint().port(); }

  // Waits for every connection's handler; returns the errors they raised.
  std::vector<std::string> join() {
    if (acceptor_thread_.joinable()) acceptor_thread_.join();
    for (auto& thread : connection_threads_) {
      if (thread.joinable()) thread.join();
    }
    std::lock_guard lock(mutex_);
    return errors_;
  }

 private:
  void record_error(std::string error) {
    std::lock_guard lock(mutex_);
    errors_.push_back(std::move(error));
  }

  asio::io_context io_;
  tcp::acceptor acceptor_;
  std::thread acceptor_thread_;
  std::vector<std::thread> connection_threads_;
  std::mutex mutex_;
  std::vector<std::string> errors_;
};

// Reads the upgrade request (returned, to be inspected) and accepts it.
http::request<http::string_body> accept_upgrade(Ws& ws) {
  beast::flat_buffer buffer;
  http::request<http::string_body> request;
  http::read(ws.next_layer(), buffer, request);
  ws.accept(request);
  ws.text(true);
  return request;
}

struct Received {
  Clock::time_point at;
  json::object message;
};

// The next text message as a JSON object; nullopt when the connection ended (`ec` says how).
std::optional<Received> read_message(Ws& ws, beast::error_code& ec) {
  beast::flat_buffer buffer;
  ws.read(buffer, ec);
  if (ec) return std::nullopt;
  Received received{Clock::now(), {}};
  received.message = json::parse(beast::buffers_to_string(buffer.data())).as_object();
  return received;
}

// Reads until a message with `event` arrives; everything read on the way goes to `skipped`.
Received read_until(Ws& ws, std::string_view event, std::vector<Received>* skipped = nullptr) {
  for (;;) {
    beast::error_code ec;
    auto received = read_message(ws, ec);
    if (!received) throw std::runtime_error("connection ended waiting for " + std::string(event));
    if (received->message.at("event").as_string() == event) return *received;
    if (skipped != nullptr) skipped->push_back(std::move(*received));
  }
}

// Reads and drops messages until the client closes; returns how the connection ended.
beast::error_code drain(Ws& ws) {
  for (;;) {
    beast::error_code ec;
    if (!read_message(ws, ec)) return ec;
  }
}

void send_json(Ws& ws, const json::object& message) {
  ws.write(asio::buffer(json::serialize(message)));
}

void send_media(Ws& ws, const std::string& stream_sid, const std::vector<std::uint8_t>& audio) {
  for (std::size_t offset = 0; offset < audio.size(); offset += 160) {
    const std::vector<std::uint8_t> frame(
        audio.begin() + static_cast<std::ptrdiff_t>(offset),
        audio.begin() + static_cast<std::ptrdiff_t>(std::min(offset + 160, audio.size())));
    send_json(ws, {{"event", "media"},
                   {"streamSid", stream_sid},
                   {"media", {{"payload", base64_encode(frame)}}}});
  }
}

void send_mark(Ws& ws, const std::string& stream_sid, const std::string& name) {
  send_json(ws, {{"event", "mark"}, {"streamSid", stream_sid}, {"mark", {{"name", name}}}});
}

// Reads `connected` and `start`; returns the streamSid.
std::string read_opening(Ws& ws) {
  read_until(ws, "connected");
  return std::string(read_until(ws, "start").message.at("streamSid").as_string());
}

std::string str(const json::object& object, std::string_view key) {
  return std::string(object.at(key).as_string());
}

std::uint64_t sequence_number(const json::object& message) {
  return std::stoull(str(message, "sequenceNumber"));
}

TEST(TwilioMediaClientTest, SendsTheDocumentedMessagesPacedAtFiftyPerSecond) {
  http::request<http::string_body> upgrade;
  std::vector<Received> messages;
  beast::error_code end;
  std::optional<websocket::close_reason> client_close;
  ScriptedServer server(1, [&](tcp::socket& socket) {
    Ws ws(std::move(socket));
    upgrade = accept_upgrade(ws);
    for (;;) {
      auto received = read_message(ws, end);
      if (!received) break;
      messages.push_back(std::move(*received));
    }
    client_close = ws.reason();
  });

  StreamScript script;
  script.port = server.port();
  script.path = "/phone/stream-audio/CA123";
  script.upgrade_headers = {{"x-twilio-signature", "c2lnbmF0dXJl"}};
  script.call_sid = "CA123";
  script.custom_parameters = {{"token", "tok-1"}, {"lang", "en"}};
  script.caller_audio = test_audio(16000 - 40, 1);  // 2 s less 5 ms: the last frame is padded
  script.dtmf = {{1000ms, "#"}, {500ms, "5"}};
  const StreamReport report = run_stream_blocking(script);
  EXPECT_TRUE(server.join().empty());

  EXPECT_EQ(upgrade.target(), "/phone/stream-audio/CA123");
  EXPECT_EQ(upgrade["x-twilio-signature"], "c2lnbmF0dXJl");

  ASSERT_GE(messages.size(), 2u);
  const json::object& connected = messages[0].message;
  EXPECT_EQ(json::value(connected),
            json::parse(R"({"event":"connected","protocol":"Call","version":"1.0.0"})"));

  const json::object& start = messages[1].message;
  EXPECT_EQ(str(start, "event"), "start");
  EXPECT_EQ(str(start, "sequenceNumber"), "1");
  const std::string stream_sid = str(start, "streamSid");
  EXPECT_EQ(stream_sid.size(), 34u);
  EXPECT_EQ(stream_sid.rfind("MZ", 0), 0u);
  EXPECT_EQ(stream_sid.find_first_not_of("0123456789abcdef", 2), std::string::npos);
  const json::object& start_body = start.at("start").as_object();
  EXPECT_EQ(str(start_body, "accountSid"), script.account_sid);
  EXPECT_EQ(str(start_body, "streamSid"), stream_sid);
  EXPECT_EQ(str(start_body, "callSid"), "CA123");
  EXPECT_EQ(start_body.at("tracks"), json::parse(R"(["inbound"])"));
  EXPECT_EQ(start_body.at("mediaFormat"),
            json::parse(R"({"encoding":"audio/x-mulaw","sampleRate":8000,"channels":1})"));
  EXPECT_EQ(start_body.at("customParameters"), json::parse(R"({"token":"tok-1","lang":"en"})"));

  // Media, dtmf and stop: sequence numbers continue from start's without a gap.
  std::vector<Received> media;
  std::vector<std::uint8_t> caller_audio;
  std::vector<std::pair<std::string, std::size_t>> dtmf;  // digit, media frames before it
  for (std::size_t i = 1; i < messages.size(); ++i) {
    const json::object& message = messages[i].message;
    EXPECT_EQ(sequence_number(message), i) << json::serialize(message);
    EXPECT_EQ(str(message, "streamSid"), stream_sid);
    const std::string event = str(message, "event");
    if (event == "media") {
      const json::object& body = message.at("media").as_object();
      EXPECT_EQ(body.size(), 4u);
      EXPECT_EQ(str(body, "track"), "inbound");
      EXPECT_EQ(str(body, "chunk"), std::to_string(media.size() + 1));
      EXPECT_EQ(str(body, "timestamp"), std::to_string(media.size() * 20));
      const auto payload = base64_decode(str(body, "payload"));
      EXPECT_EQ(payload.size(), 160u);
      caller_audio.insert(caller_audio.end(), payload.begin(), payload.end());
      media.push_back(messages[i]);
    } else if (event == "dtmf") {
      EXPECT_EQ(json::value(message.at("dtmf")),
                json::parse(R"({"track":"inbound_track","digit":")" +
                            std::string(message.at("dtmf").at("digit").as_string()) + "\"}"));
      dtmf.emplace_back(str(message.at("dtmf").as_object(), "digit"), media.size());
    } else if (event != "start") {
      EXPECT_EQ(event, "stop");
      EXPECT_EQ(i, messages.size() - 1) << "stop must be the last message";
      EXPECT_EQ(message.at("stop"),
                json::parse(R"({"accountSid":")" + script.account_sid + R"(","callSid":"CA123"})"));
    }
  }
  EXPECT_EQ(str(messages.back().message, "event"), "stop");

  ASSERT_EQ(media.size(), 100u);
  std::vector<std::uint8_t> expected_audio = script.caller_audio;
  expected_audio.resize(16000, 0xFF);
  EXPECT_EQ(caller_audio, expected_audio);
  // Frames due at 500 and 1000 ms go out with the keypresses due then.
  ASSERT_EQ(dtmf.size(), 2u);
  EXPECT_EQ(dtmf[0].first, "5");
  EXPECT_NEAR(static_cast<double>(dtmf[0].second), 25, 1);
  EXPECT_EQ(dtmf[1].first, "#");
  EXPECT_NEAR(static_cast<double>(dtmf[1].second), 50, 1);

  // Pacing: 50 frames per second on a steady schedule, not a burst and not drifting.
  const double span_ms = ms_between(media.front().at, media.back().at);
  EXPECT_NEAR(span_ms, 99 * 20, 100);
  double worst_ms = 0;
  for (std::size_t k = 0; k < media.size(); ++k) {
    const double offset_ms = ms_between(media.front().at, media[k].at) - 20.0 * k;
    worst_ms = std::max(worst_ms, std::abs(offset_ms));
  }
  EXPECT_LT(worst_ms, 100) << "a frame strayed from its 20 ms slot";

  // A clean end: stop, then a normal close.
  EXPECT_EQ(end, websocket::error::closed);
  ASSERT_TRUE(client_close.has_value());
  EXPECT_EQ(client_close->code, websocket::close_code::normal);

  EXPECT_TRUE(report.connected);
  EXPECT_EQ(report.upgrade_error, "");
  EXPECT_EQ(report.error, "");
  EXPECT_FALSE(report.deadline_expired);
  EXPECT_EQ(report.media_frames_sent, 100u);
  EXPECT_EQ(report.dtmf_sent, 2u);
  EXPECT_EQ(report.unexpected_messages, 0u);
  EXPECT_EQ(report.close_code, std::optional<std::uint16_t>(1000));
  EXPECT_GE(report.duration, 1900ms);
  EXPECT_LT(report.duration, 4000ms);
}

TEST(TwilioMediaClientTest, EchoesAMarkWhenTheAudioBeforeItHasPlayed) {
  const std::vector<std::uint8_t> reply = test_audio(8000, 3);  // 1 s
  double first_echo_ms = 0;
  double second_echo_ms = 0;
  json::object echo;
  std::string stream_sid_seen;
  std::uint64_t last_inbound_sequence = 0;
  ScriptedServer server(1, [&](tcp::socket& socket) {
    Ws ws(std::move(socket));
    accept_upgrade(ws);
    const std::string stream_sid = read_opening(ws);
    stream_sid_seen = stream_sid;
    send_media(ws, stream_sid, reply);
    send_mark(ws, stream_sid, "reply-1");
    const auto sent = Clock::now();
    std::vector<Received> before;
    Received first = read_until(ws, "mark", &before);
    first_echo_ms = ms_between(sent, first.at);
    echo = first.message;
    if (!before.empty()) last_inbound_sequence = sequence_number(before.back().message);

    // Nothing is buffered now, so the echo comes at once.
    send_mark(ws, stream_sid, "reply-2");
    const auto sent_second = Clock::now();
    second_echo_ms = ms_between(sent_second, read_until(ws, "mark").at);
    drain(ws);
  });

  StreamScript script;
  script.port = server.port();
  script.path = "/phone/stream-audio/CA1";
  script.caller_audio = test_audio(8000, 0);
  script.linger = 800ms;
  const StreamReport report = run_stream_blocking(script);
  EXPECT_TRUE(server.join().empty());

  EXPECT_NEAR(first_echo_ms, 1000, kEchoToleranceMs);
  EXPECT_LT(second_echo_ms, kImmediateMs);
  ASSERT_FALSE(echo.empty());
  EXPECT_EQ(str(echo, "event"), "mark");
  EXPECT_EQ(str(echo.at("mark").as_object(), "name"), "reply-1");
  EXPECT_EQ(str(echo, "streamSid"), stream_sid_seen);
  EXPECT_EQ(echo.size(), 4u);  // event, sequenceNumber, streamSid, mark
  EXPECT_EQ(sequence_number(echo), last_inbound_sequence + 1);

  EXPECT_EQ(report.marks_echoed_played, (std::vector<std::string>{"reply-1", "reply-2"}));
  EXPECT_TRUE(report.marks_echoed_cleared.empty());
  EXPECT_EQ(report.media_frames_received, 50u);
  EXPECT_EQ(report.bytes_received, 8000u);
  EXPECT_EQ(report.received_audio, reply);
  EXPECT_EQ(report.unexpected_messages, 0u);
  // All 50 frames came at once: the first plays on arrival, the others wait their turn.
  ASSERT_EQ(report.media_arrival_lateness_ms.size(), 50u);
  EXPECT_EQ(report.media_arrival_lateness_ms.front(), 0);
  EXPECT_NEAR(report.media_arrival_lateness_ms.back(), -980, kEchoToleranceMs);
  // On a loaded machine the burst may straddle a scheduling delay of a few ms.
  for (double lateness_ms : report.media_arrival_lateness_ms) EXPECT_LE(lateness_ms, 10.0);
}

TEST(TwilioMediaClientTest, ClearDropsTheBufferAndEchoesPendingMarksAtOnce) {
  double clear_to_echoes_ms = 0;
  double after_clear_echo_ms = 0;
  std::vector<std::string> echoed;
  ScriptedServer server(1, [&](tcp::socket& socket) {
    Ws ws(std::move(socket));
    accept_upgrade(ws);
    const std::string stream_sid = read_opening(ws);
    send_media(ws, stream_sid, test_audio(8000, 0));
    send_mark(ws, stream_sid, "a");
    send_media(ws, stream_sid, test_audio(4000, 0));
    send_mark(ws, stream_sid, "b");
    std::this_thread::sleep_for(200ms);
    send_json(ws, {{"event", "clear"}, {"streamSid", stream_sid}});
    const auto cleared = Clock::now();
    for (int i = 0; i < 2; ++i) {
      const Received mark = read_until(ws, "mark");
      clear_to_echoes_ms = ms_between(cleared, mark.at);
      echoed.push_back(str(mark.message.at("mark").as_object(), "name"));
    }
    // The buffer is empty after a clear: a new mark is played at once.
    send_mark(ws, stream_sid, "c");
    const auto sent = Clock::now();
    after_clear_echo_ms = ms_between(sent, read_until(ws, "mark").at);
    drain(ws);
  });

  StreamScript script;
  script.port = server.port();
  script.path = "/s";
  script.linger = 1s;
  const StreamReport report = run_stream_blocking(script);
  EXPECT_TRUE(server.join().empty());

  EXPECT_EQ(echoed, (std::vector<std::string>{"a", "b"}));
  EXPECT_LT(clear_to_echoes_ms, kImmediateMs);
  EXPECT_LT(after_clear_echo_ms, kImmediateMs);
  EXPECT_EQ(report.clears_received, 1u);
  EXPECT_EQ(report.marks_echoed_cleared, (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(report.marks_echoed_played, (std::vector<std::string>{"c"}));
  EXPECT_EQ(report.media_frames_received, 75u);
}

TEST(TwilioMediaClientTest, LatenessShowsUnderrunsWithinAnUtteranceOnly) {
  ScriptedServer server(1, [&](tcp::socket& socket) {
    Ws ws(std::move(socket));
    accept_upgrade(ws);
    const std::string stream_sid = read_opening(ws);
    send_media(ws, stream_sid, test_audio(160, 0));  // plays for 20 ms
    std::this_thread::sleep_for(150ms);
    send_media(ws, stream_sid, test_audio(160, 0));  // ~130 ms late: the caller heard a gap
    send_mark(ws, stream_sid, "end of utterance");
    std::this_thread::sleep_for(150ms);
    send_media(ws, stream_sid, test_audio(160, 0));  // a new utterance: not late
    drain(ws);
  });

  StreamScript script;
  script.port = server.port();
  script.path = "/s";
  script.linger = 600ms;
  const StreamReport report = run_stream_blocking(script);
  EXPECT_TRUE(server.join().empty());

  ASSERT_EQ(report.media_arrival_lateness_ms.size(), 3u);
  EXPECT_EQ(report.media_arrival_lateness_ms[0], 0);
  EXPECT_NEAR(report.media_arrival_lateness_ms[1], 130, 60);
  EXPECT_EQ(report.media_arrival_lateness_ms[2], 0);
  EXPECT_EQ(report.marks_echoed_played, (std::vector<std::string>{"end of utterance"}));
}

TEST(TwilioMediaClientTest, ReportsTheServersCloseCodeAndReason) {
  beast::error_code end;
  ScriptedServer server(1, [&](tcp::socket& socket) {
    Ws ws(std::move(socket));
    accept_upgrade(ws);
    read_opening(ws);
    ws.close(websocket::close_reason(websocket::close_code::policy_error, "bad stream token"));
  });

  StreamScript script;
  script.port = server.port();
  script.path = "/s";
  script.caller_audio = test_audio(8000 * 5, 0);  // would run 5 s
  const StreamReport report = run_stream_blocking(script);
  EXPECT_TRUE(server.join().empty());

  EXPECT_TRUE(report.connected);
  EXPECT_EQ(report.close_code, std::optional<std::uint16_t>(1008));
  EXPECT_EQ(report.close_reason, "bad stream token");
  EXPECT_EQ(report.error, "");
  EXPECT_LT(report.duration, 2s);
  EXPECT_LT(report.media_frames_sent, 50u);
}

TEST(TwilioMediaClientTest, ReportsARefusedUpgrade) {
  ScriptedServer server(1, [&](tcp::socket& socket) {
    beast::flat_buffer buffer;
    http::request<http::string_body> request;
    http::read(socket, buffer, request);
    http::response<http::string_body> response(http::status::forbidden, request.version());
    response.set(http::field::content_type, "application/json");
    response.body() = R"({"error":"bad_signature"})";
    response.prepare_payload();
    response.keep_alive(false);
    http::write(socket, response);
  });

  StreamScript script;
  script.port = server.port();
  script.path = "/s";
  script.caller_audio = test_audio(8000, 0);
  const StreamReport report = run_stream_blocking(script);
  EXPECT_TRUE(server.join().empty());

  EXPECT_FALSE(report.connected);
  EXPECT_EQ(report.upgrade_error, R"(HTTP 403 Forbidden: {"error":"bad_signature"})");
  EXPECT_EQ(report.media_frames_sent, 0u);
  EXPECT_FALSE(report.close_code.has_value());
}

TEST(TwilioMediaClientTest, ReportsAConnectionRefused) {
  unsigned short port = 0;
  {
    asio::io_context io;
    tcp::acceptor closed(io, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
    port = closed.local_endpoint().port();
  }
  StreamScript script;
  script.port = port;
  const StreamReport report = run_stream_blocking(script);
  EXPECT_FALSE(report.connected);
  EXPECT_EQ(report.upgrade_error.rfind("connect: ", 0), 0u) << report.upgrade_error;
}

TEST(TwilioMediaClientTest, AbruptEndSendsNoStopAndNoCloseFrame) {
  beast::error_code end;
  std::string last_event;
  std::size_t n_media = 0;
  ScriptedServer server(1, [&](tcp::socket& socket) {
    Ws ws(std::move(socket));
    accept_upgrade(ws);
    for (;;) {
      auto received = read_message(ws, end);
      if (!received) break;
      last_event = str(received->message, "event");
      if (last_event == "media") ++n_media;
    }
  });

  StreamScript script;
  script.port = server.port();
  script.path = "/s";
  script.caller_audio = test_audio(1600, 0);
  script.send_stop = false;
  const StreamReport report = run_stream_blocking(script);
  EXPECT_TRUE(server.join().empty());

  EXPECT_EQ(last_event, "media");
  EXPECT_EQ(n_media, 10u);
  EXPECT_NE(end, websocket::error::closed) << "the stand-in sent a close frame";
  EXPECT_TRUE(end) << "the connection should have ended in an error";
  EXPECT_EQ(report.media_frames_sent, 10u);
  EXPECT_FALSE(report.close_code.has_value());
}

TEST(TwilioMediaClientTest, CountsMessagesItCannotTake) {
  ScriptedServer server(1, [&](tcp::socket& socket) {
    Ws ws(std::move(socket));
    accept_upgrade(ws);
    const std::string stream_sid = read_opening(ws);
    ws.binary(true);
    ws.write(asio::buffer(std::string("\x01\x02", 2)));
    ws.text(true);
    ws.write(asio::buffer(std::string("not json")));
    send_json(ws, {{"event", "dance"}, {"streamSid", stream_sid}});
    send_json(ws, {{"event", "clear"}});  // no streamSid
    send_json(ws, {{"event", "clear"}, {"streamSid", "MZ-someone-else"}});
    send_json(ws, {{"event", "media"}, {"streamSid", stream_sid}, {"media", {{"payload", "@@"}}}});
    send_json(ws, {{"event", "media"}, {"streamSid", stream_sid}, {"media", {{"payload", "/w="}}}});
    send_json(ws, {{"event", "mark"}, {"streamSid", stream_sid}});  // no mark.name
    send_media(ws, stream_sid, test_audio(160, 0));
    drain(ws);
  });

  StreamScript script;
  script.port = server.port();
  script.path = "/s";
  script.linger = 300ms;
  const StreamReport report = run_stream_blocking(script);
  EXPECT_TRUE(server.join().empty());

  EXPECT_EQ(report.unexpected_messages, 8u);
  EXPECT_EQ(report.media_frames_received, 1u);
  EXPECT_EQ(report.clears_received, 0u);
  EXPECT_TRUE(report.marks_echoed_played.empty());
}

TEST(TwilioMediaClientTest, ManyStreamsShareOneIoContext) {
  constexpr int kStreams = 4;
  ScriptedServer server(kStreams, [&](tcp::socket& socket) {
    Ws ws(std::move(socket));
    accept_upgrade(ws);
    const std::string stream_sid = read_opening(ws);
    send_media(ws, stream_sid, test_audio(800, 0));  // 100 ms
    send_mark(ws, stream_sid, stream_sid);
    drain(ws);
  });

  asio::io_context io;
  std::vector<StreamReport> reports;
  std::vector<std::string> stream_sids;
  for (int i = 0; i < kStreams; ++i) {
    StreamScript script;
    script.port = server.port();
    script.path = "/s/" + std::to_string(i);
    script.stream_sid = "MZ" + std::string(31, '0') + std::to_string(i);
    stream_sids.push_back(script.stream_sid);
    script.caller_audio = test_audio(4000, i);
    script.linger = 300ms;
    run_stream(io, script,
               [&reports](StreamReport report) { reports.push_back(std::move(report)); });
  }
  const auto started = Clock::now();
  io.run();  // one thread for all four: no thread per stream
  EXPECT_TRUE(server.join().empty());

  ASSERT_EQ(reports.size(), static_cast<std::size_t>(kStreams));
  // Concurrent, not one after the other: four 0.8 s streams take about 0.8 s.
  EXPECT_LT(ms_between(started, Clock::now()), 2000);
  std::vector<std::string> echoed;
  for (const StreamReport& report : reports) {
    EXPECT_TRUE(report.connected);
    EXPECT_EQ(report.media_frames_sent, 25u);
    EXPECT_EQ(report.media_frames_received, 5u);
    EXPECT_EQ(report.close_code, std::optional<std::uint16_t>(1000));
    ASSERT_EQ(report.marks_echoed_played.size(), 1u);
    echoed.push_back(report.marks_echoed_played[0]);
  }
  std::sort(echoed.begin(), echoed.end());
  EXPECT_EQ(echoed, stream_sids);
}

}  // namespace
}  // namespace voxgate::testing
