// The Media Streams WebSocket over real sockets on loopback: the server's modules run in
// this process (so a test can make a call speak), and the Twilio side is the stand-in in
// tests/fakes, which speaks the wire protocol and plays audio back like Twilio.
#include <gtest/gtest.h>

#include <future>
#include <thread>

#include "in_process_server.hpp"
#include "twilio_media_client.hpp"

namespace voxgate::testing {
namespace {

using namespace std::chrono_literals;
namespace asio = boost::asio;

std::vector<std::uint8_t> tone_ulaw(std::chrono::milliseconds length) {
  return std::vector<std::uint8_t>(static_cast<std::size_t>(length.count()) * 8, 0x2A);
}

// Polls `condition` for up to `timeout`.
template <class Condition>
bool eventually(Condition condition, std::chrono::milliseconds timeout = 2000ms) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (condition()) return true;
    std::this_thread::sleep_for(5ms);
  }
  return condition();
}

TEST(MediaStreamTest, TenSecondsOfAudioWithDtmfRepliesAndBargeIn) {
  InProcessServer server(/*production=*/true);
  const std::string sid = "CA11111111111111111111111111111111";
  server.answer(sid);
  StreamScript script = server.script_for(sid);
  script.caller_audio = tone_ulaw(10s);
  script.dtmf = {{2000ms, "5"}, {2500ms, "#"}};
  auto report_future = std::async(std::launch::async, [script] {
    return run_stream_blocking(script);
  });

  ASSERT_TRUE(eventually([&] { return server.live_calls.find(sid) != nullptr; }));
  std::this_thread::sleep_for(500ms);
  server.live_calls.find(sid)->speak(tone_ulaw(1000ms), "reply-1");
  std::this_thread::sleep_for(2500ms);  // reply-1 has played by now
  server.live_calls.find(sid)->speak(tone_ulaw(5000ms), "reply-2");
  std::this_thread::sleep_for(1000ms);
  server.live_calls.find(sid)->interrupt();  // the caller talks over reply-2

  const StreamReport report = report_future.get();
  EXPECT_TRUE(report.connected) << report.upgrade_error;
  EXPECT_EQ(report.close_code, 1000) << report.close_reason << " " << report.error;
  EXPECT_EQ(report.media_frames_sent, 500u);
  EXPECT_EQ(report.marks_echoed_played, std::vector<std::string>{"reply-1"});
  // reply-2's mark was still queued here when the clear came (a mark leaves right after
  // its utterance's last frame), so Twilio never saw it: nothing to echo.
  EXPECT_TRUE(report.marks_echoed_cleared.empty());
  EXPECT_EQ(report.clears_received, 1u);
  EXPECT_EQ(report.unexpected_messages, 0u);
  // reply-1 whole (50 frames) and about a second of reply-2, not its 5 s.
  EXPECT_GE(report.media_frames_received, 50u + 40u);
  EXPECT_LE(report.media_frames_received, 50u + 70u);
  // Paced, not dumped: a frame never arrives more than the lead ahead of its play time.
  for (const double lateness_ms : report.media_arrival_lateness_ms) {
    EXPECT_GE(lateness_ms, -130.0);
  }

  // The session is gone within a second of the stream's end, and the call remembers.
  EXPECT_TRUE(eventually([&] { return server.live_calls.size() == 0; }, 1000ms));
  const auto record = server.history.find(sid);
  ASSERT_TRUE(record.has_value());
  EXPECT_EQ(record->stream_sid.substr(0, 2), "MZ");
  ASSERT_EQ(record->dtmf.size(), 2u);
  EXPECT_EQ(record->dtmf[0].digit, "5");
  EXPECT_EQ(record->dtmf[1].digit, "#");
  const std::string text = server.metrics.render();
  EXPECT_NE(text.find("voxgate_stream_frames_in_total 500"), std::string::npos) << text;
  EXPECT_NE(text.find("voxgate_stream_marks_total{fate=\"played\"} 1"), std::string::npos);
  EXPECT_NE(text.find("voxgate_stream_clears_total 1"), std::string::npos);
  EXPECT_NE(text.find("voxgate_streams_active 0"), std::string::npos);
}

TEST(MediaStreamTest, ForgedSignatureWrongTokenAndWrongCallSidAreRefusedWith1008) {
  InProcessServer server(/*production=*/true);
  const std::string sid = "CA22222222222222222222222222222222";

  StreamScript forged = server.script_for(sid);
  forged.upgrade_headers = {{"x-twilio-signature", "forged="}};
  forged.linger = 300ms;
  StreamReport report = run_stream_blocking(forged);
  EXPECT_EQ(report.close_code, 1008);
  EXPECT_EQ(report.close_reason, "bad signature");

  StreamScript unsigned_script = server.script_for(sid);
  unsigned_script.upgrade_headers.clear();
  unsigned_script.linger = 300ms;
  EXPECT_EQ(run_stream_blocking(unsigned_script).close_code, 1008);

  StreamScript wrong_token = server.script_for(sid);
  wrong_token.custom_parameters["token"] = server.tokens.issue("CAsomeoneelse");
  wrong_token.linger = 300ms;
  report = run_stream_blocking(wrong_token);
  EXPECT_EQ(report.close_code, 1008);
  EXPECT_NE(report.close_reason.find("token"), std::string::npos);

  StreamScript wrong_sid = server.script_for(sid);
  wrong_sid.call_sid = "CA33333333333333333333333333333333";  // start.callSid differs
  wrong_sid.linger = 300ms;
  report = run_stream_blocking(wrong_sid);
  EXPECT_EQ(report.close_code, 1008);
  EXPECT_NE(report.close_reason.find("callSid"), std::string::npos);

  // The server lets go of a refused call once its close handshake is over.
  EXPECT_TRUE(eventually([&] { return server.live_calls.size() == 0; }));
  const std::string text = server.metrics.render();
  EXPECT_NE(text.find("reason=\"bad_signature\"} 2"), std::string::npos) << text;
  EXPECT_NE(text.find("reason=\"bad_token\"} 1"), std::string::npos);
  EXPECT_NE(text.find("reason=\"call_sid_mismatch\"} 1"), std::string::npos);
}

TEST(MediaStreamTest, BeyondMaxConcurrentCallsIsRefusedWith1013) {
  InProcessServer server(/*production=*/false, /*max_calls=*/1);
  StreamScript first = server.script_for("CAfirst");
  first.caller_audio = tone_ulaw(1500ms);
  auto first_report = std::async(std::launch::async, [first] { return run_stream_blocking(first); });
  ASSERT_TRUE(eventually([&] { return server.live_calls.size() == 1; }));

  StreamScript second = server.script_for("CAsecond");
  second.linger = 300ms;
  const StreamReport refused = run_stream_blocking(second);
  EXPECT_EQ(refused.close_code, 1013);
  EXPECT_EQ(refused.close_reason, "over capacity");
  EXPECT_EQ(first_report.get().close_code, 1000);
  EXPECT_NE(server.metrics.render().find("reason=\"over_capacity\"} 1"), std::string::npos);
}

TEST(MediaStreamTest, AbruptDisconnectTearsTheSessionDown) {
  InProcessServer server(/*production=*/false);
  StreamScript script = server.script_for("CAabrupt");
  script.caller_audio = tone_ulaw(400ms);
  script.send_stop = false;
  const StreamReport report = run_stream_blocking(script);
  EXPECT_EQ(report.media_frames_sent, 20u);
  EXPECT_TRUE(eventually([&] { return server.live_calls.size() == 0; }, 1000ms));
  EXPECT_TRUE(eventually([&] {
    return server.metrics.render().find("voxgate_streams_active 0") != std::string::npos;
  }));
}

// A stream that never says `start` is closed, so the call can fall back to recording.
TEST(MediaStreamTest, NoStartMessageClosesTheStreamAfterTheTimeout) {
  InProcessServer server(/*production=*/false);
  StreamScript script = server.script_for("CAsilent");
  script.send_start = false;
  script.linger = 8000ms;
  const auto started = std::chrono::steady_clock::now();
  const StreamReport report = run_stream_blocking(script);
  const auto waited = std::chrono::steady_clock::now() - started;
  EXPECT_EQ(report.close_code, 1008) << report.error;
  EXPECT_EQ(report.close_reason, "no start message");
  EXPECT_GE(waited, 4900ms);
  EXPECT_LT(waited, 7000ms);
  EXPECT_NE(server.metrics.render().find("voxgate_streams_refused_total{reason=\"no_start\"} 1"),
            std::string::npos);
}

TEST(MediaStreamTest, FiftyConcurrentStreamsAllComplete) {
  InProcessServer server(/*production=*/true);
  constexpr int kStreams = 50;
  asio::io_context client_io;
  std::vector<StreamReport> reports;
  std::mutex mutex;
  for (int i = 0; i < kStreams; ++i) {
    const std::string sid = "CA" + std::to_string(100000 + i);
    server.answer(sid);
    StreamScript script = server.script_for(sid);
    script.caller_audio = tone_ulaw(2000ms);
    script.linger = 1000ms;
    run_stream(client_io, script, [&](StreamReport report) {
      std::lock_guard lock(mutex);
      reports.push_back(std::move(report));
    });
  }
  std::thread clients([&] { client_io.run(); });
  ASSERT_TRUE(eventually([&] { return server.live_calls.size() == kStreams; }, 5000ms));
  // Speech is for streams whose `start` has arrived.
  ASSERT_TRUE(eventually([&] {
    for (const auto& record : server.history.list()) {
      if (record.stream_sid.empty()) return false;
    }
    return true;
  }));
  for (const auto& sid : server.live_calls.call_sids()) {
    server.live_calls.find(sid)->speak(tone_ulaw(1000ms), "reply");
  }
  clients.join();

  ASSERT_EQ(reports.size(), static_cast<std::size_t>(kStreams));
  for (const auto& report : reports) {
    EXPECT_EQ(report.close_code, 1000) << report.error << report.upgrade_error;
    EXPECT_EQ(report.media_frames_sent, 100u);
    EXPECT_EQ(report.media_frames_received, 50u);
    EXPECT_EQ(report.marks_echoed_played, std::vector<std::string>{"reply"});
  }
  EXPECT_TRUE(eventually([&] { return server.live_calls.size() == 0; }, 1000ms));
}

}  // namespace
}  // namespace voxgate::testing
