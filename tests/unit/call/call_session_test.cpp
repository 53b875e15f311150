// CallSession with a fake sink and a manual clock: the start checks, inbound audio,
// DTMF, marks, pacing of outbound audio, barge-in and teardown — no sockets.
#include "call/call_session.hpp"

#include <boost/json/parse.hpp>
#include <gtest/gtest.h>

#include "util/base64.hpp"

namespace voxgate::call {
namespace {

using namespace std::chrono_literals;

struct FakeSink : StreamSink {
  void send_text(std::string message) override { sent.push_back(std::move(message)); }
  void close(std::uint16_t code, std::string reason) override {
    closed_code = code;
    closed_reason = std::move(reason);
  }
  void reschedule() override { ++reschedules; }
  std::vector<std::string> events() const {
    std::vector<std::string> names;
    for (const auto& text : sent) {
      names.emplace_back(boost::json::parse(text).at("event").as_string());
    }
    return names;
  }
  std::vector<std::string> sent;
  std::optional<std::uint16_t> closed_code;
  std::string closed_reason;
  int reschedules = 0;
};

const std::string kSid = "CA11111111111111111111111111111111";
const twilio::StreamTokenIssuer kTokens("stream-secret");

std::string start_json(const std::string& call_sid, const std::string& token) {
  std::string params = token.empty() ? "{}" : "{\"token\":\"" + token + "\"}";
  return R"({"event":"start","sequenceNumber":"1","start":{"accountSid":"AC1","streamSid":"MZ1",)"
         R"("callSid":")" + call_sid + R"(","tracks":["inbound"],"mediaFormat":{"encoding":)"
         R"("audio/x-mulaw","sampleRate":8000,"channels":1},"customParameters":)" + params +
         R"(},"streamSid":"MZ1"})";
}

std::string media_json(int sequence, int chunk, const std::string& payload) {
  return R"({"event":"media","sequenceNumber":")" + std::to_string(sequence) +
         R"(","media":{"track":"inbound","chunk":")" + std::to_string(chunk) +
         R"(","timestamp":")" + std::to_string(chunk * 20) + R"(","payload":")" + payload +
         R"("},"streamSid":"MZ1"})";
}

class CallSessionTest : public ::testing::Test {
 protected:
  CallSessionTest() : metrics(registry) {
    CallRecord record;
    record.call_sid = kSid;
    record.status = "in-progress";
    history.record_incoming(record);
  }

  CallSession& open(bool require_token = true, std::size_t buffer_bytes = 8000) {
    session.emplace(CallSessionOptions{.expected_call_sid = kSid,
                                       .tokens = &kTokens,
                                       .require_token = require_token,
                                       .inbound_buffer_bytes = buffer_bytes},
                    sink, history, metrics, now);
    return *session;
  }

  CallSession& started() {
    open();
    session->on_text(R"({"event":"connected","protocol":"Call","version":"1.0.0"})", now);
    session->on_text(start_json(kSid, kTokens.issue(kSid)), now);
    EXPECT_EQ(session->state(), CallSession::State::kStreaming);
    return *session;
  }

  observe::Registry registry;
  StreamMetrics metrics;
  CallHistory history;
  FakeSink sink;
  Clock::time_point now = Clock::time_point{} + 1000s;
  std::optional<CallSession> session;
};

TEST_F(CallSessionTest, ValidStartBeginsStreamingAndRecordsStreamSid) {
  CallSession& call = started();
  EXPECT_EQ(call.start().stream_sid, "MZ1");
  EXPECT_FALSE(sink.closed_code.has_value());
  EXPECT_EQ(history.find(kSid)->stream_sid, "MZ1");
  EXPECT_NE(registry.render().find("voxgate_streams_active 1"), std::string::npos);
}

TEST_F(CallSessionTest, StartForAnotherCallIsRefusedWithPolicyViolation) {
  open();
  session->on_text(start_json("CAother", kTokens.issue("CAother")), now);
  EXPECT_EQ(sink.closed_code, kClosePolicyViolation);
  EXPECT_NE(sink.closed_reason.find("callSid"), std::string::npos);
  EXPECT_EQ(session->state(), CallSession::State::kEnded);
}

TEST_F(CallSessionTest, WrongOrMissingTokenIsRefusedInProduction) {
  open();
  session->on_text(start_json(kSid, kTokens.issue("CAother")), now);
  EXPECT_EQ(sink.closed_code, kClosePolicyViolation);
  EXPECT_NE(sink.closed_reason.find("token"), std::string::npos);

  sink = FakeSink{};
  open();
  session->on_text(start_json(kSid, ""), now);
  EXPECT_EQ(sink.closed_code, kClosePolicyViolation);
  EXPECT_NE(registry.render().find("reason=\"missing_token\"} 1"), std::string::npos);
}

TEST_F(CallSessionTest, DevelopmentModeAcceptsAMissingTokenButNotAWrongOne) {
  open(/*require_token=*/false);
  session->on_text(start_json(kSid, ""), now);
  EXPECT_EQ(session->state(), CallSession::State::kStreaming);
  sink = FakeSink{};
  open(/*require_token=*/false);
  session->on_text(start_json(kSid, "forged"), now);
  EXPECT_EQ(sink.closed_code, kClosePolicyViolation);
}

TEST_F(CallSessionTest, MediaIsDecodedIntoTheBoundedBuffer) {
  CallSession& call = started();
  const std::vector<std::uint8_t> frame(160, 0x7E);
  for (int i = 1; i <= 60; ++i) call.on_text(media_json(i + 1, i, util::base64_encode(frame)), now);
  EXPECT_EQ(call.stats().frames_in, 60u);
  EXPECT_EQ(call.stats().bytes_in, 9600u);
  // 8000 bytes of room: the oldest 1600 bytes went, and were counted.
  EXPECT_EQ(call.inbound_audio().size_bytes(), 8000u);
  EXPECT_EQ(call.inbound_audio().dropped_bytes(), 1600u);
}

TEST_F(CallSessionTest, BadInputIsCountedNeverFatal) {
  CallSession& call = started();
  call.on_text("{not json", now);
  call.on_text(R"({"event":"media","media":{"payload":5}})", now);
  call.on_text(media_json(2, 1, "!!!not base64!!!"), now);
  call.on_text(R"({"event":"future-thing","x":1})", now);
  call.on_text(media_json(9, 2, util::base64_encode(std::vector<std::uint8_t>(160, 1))), now);
  EXPECT_EQ(call.stats().malformed_messages, 2u);
  EXPECT_EQ(call.stats().bad_payloads, 1u);
  EXPECT_EQ(call.stats().unknown_events, 1u);
  EXPECT_EQ(call.stats().frames_in, 1u);
  EXPECT_GE(call.sequence_stats().gaps, 1u);
  EXPECT_FALSE(sink.closed_code.has_value());
  EXPECT_EQ(call.state(), CallSession::State::kStreaming);
}

TEST_F(CallSessionTest, MessagesBeforeStartAreIgnored) {
  open();
  session->on_text(media_json(2, 1, util::base64_encode(std::vector<std::uint8_t>(160, 1))), now);
  EXPECT_EQ(session->stats().frames_in, 0u);
  EXPECT_EQ(session->stats().unexpected_messages, 1u);
  EXPECT_FALSE(session->speak(std::vector<std::uint8_t>(160, 1), "m", now));
}

TEST_F(CallSessionTest, DtmfGoesToTheCallHistory) {
  CallSession& call = started();
  call.on_text(R"({"event":"dtmf","streamSid":"MZ1","sequenceNumber":"2",)"
               R"("dtmf":{"track":"inbound_track","digit":"7"}})",
               now);
  ASSERT_EQ(history.find(kSid)->dtmf.size(), 1u);
  EXPECT_EQ(history.find(kSid)->dtmf[0].digit, "7");
  EXPECT_EQ(call.stats().dtmf, 1u);
}

TEST_F(CallSessionTest, SpeechIsPacedAndFollowedByAMark) {
  CallSession& call = started();
  sink.sent.clear();
  ASSERT_TRUE(call.speak(std::vector<std::uint8_t>(160 * 50, 0x55), "utterance-1", now));
  // 100 ms of lead: frames 0 to 5 (due at start + k*20 ms - 100 ms) go at once, the rest
  // one per 20 ms, each exactly when due.
  EXPECT_EQ(sink.sent.size(), 6u);
  for (int i = 0; i < 44; ++i) {
    ASSERT_EQ(call.next_due(), now + 20ms);
    now = call.next_due();
    call.pump(now);
  }
  const auto events = sink.events();
  ASSERT_EQ(events.size(), 51u);
  EXPECT_EQ(std::count(events.begin(), events.end(), "media"), 50);
  EXPECT_EQ(events.back(), "mark");
  const auto media = boost::json::parse(sink.sent[0]);
  EXPECT_EQ(media.at("streamSid").as_string(), "MZ1");
  EXPECT_EQ(util::base64_decode(media.at("media").at("payload").as_string())->size(), 160u);
  EXPECT_EQ(call.next_due(), Clock::time_point::max());

  call.on_text(R"({"event":"mark","sequenceNumber":"3","streamSid":"MZ1",)"
               R"("mark":{"name":"utterance-1"}})",
               now);
  EXPECT_EQ(call.stats().marks_played, 1u);
}

TEST_F(CallSessionTest, TwoFramesPerMessageHalveTheMessagesAndKeepTheMarkLast) {
  session.emplace(CallSessionOptions{.expected_call_sid = kSid,
                                     .tokens = &kTokens,
                                     .require_token = true,
                                     .frames_per_message = 2},
                  sink, history, metrics, now);
  CallSession& call = *session;
  call.on_text(start_json(kSid, kTokens.issue(kSid)), now);
  sink.sent.clear();
  ASSERT_TRUE(call.speak(std::vector<std::uint8_t>(160 * 50, 0x55), "utterance-1", now));
  // Woken when a frame is due, the session sends it with the next one: a pair every 40 ms,
  // never more than one frame early.
  while (call.next_due() != Clock::time_point::max()) {
    ASSERT_LE(call.next_due() - now, 40ms);
    now = std::max(now, call.next_due());
    call.pump(now);
  }
  // The 7 frames sent at once make 3 pairs and a single, the other 43 come as 21 pairs and
  // a last single: 26 messages instead of 50.
  const auto events = sink.events();
  EXPECT_EQ(std::count(events.begin(), events.end(), "media"), 26);
  EXPECT_EQ(events.back(), "mark");
  std::size_t bytes = 0, pairs = 0;
  for (const auto& text : sink.sent) {
    const auto message = boost::json::parse(text);
    if (message.at("event").as_string() != "media") continue;
    const auto payload = util::base64_decode(message.at("media").at("payload").as_string());
    if (payload->size() == 320u) ++pairs;
    bytes += payload->size();
  }
  EXPECT_EQ(pairs, 24u);
  EXPECT_EQ(bytes, 160u * 50);
  EXPECT_EQ(call.stats().frames_out, 50u);
}

TEST_F(CallSessionTest, InterruptClearsAndLaterMarkEchoesCountAsDiscarded) {
  CallSession& call = started();
  ASSERT_TRUE(call.speak(std::vector<std::uint8_t>(160 * 10, 0x55), "first", now));
  for (int i = 0; i < 4; ++i) {
    now = call.next_due();
    call.pump(now);
  }
  ASSERT_EQ(call.next_due(), Clock::time_point::max());
  ASSERT_TRUE(call.speak(std::vector<std::uint8_t>(160 * 100, 0x55), "second", now));
  now += 40ms;
  call.pump(now);
  sink.sent.clear();
  const audio::InterruptResult heard = call.interrupt(now);
  ASSERT_EQ(sink.events(), std::vector<std::string>{"clear"});
  EXPECT_GT(heard.dropped_frames, 0u);
  EXPECT_EQ(call.next_due(), Clock::time_point::max());
  // Twilio echoes the pending marks because of the clear.
  for (const auto& name : heard.discarded_marks) {
    call.on_text(R"({"event":"mark","sequenceNumber":"9","streamSid":"MZ1","mark":{"name":")" +
                     name + R"("}})",
                 now);
  }
  EXPECT_EQ(call.stats().marks_discarded, heard.discarded_marks.size());
  EXPECT_EQ(call.stats().clears, 1u);
}

TEST_F(CallSessionTest, StopClosesNormallyAndTeardownFreesAudio) {
  CallSession& call = started();
  call.on_text(media_json(2, 1, util::base64_encode(std::vector<std::uint8_t>(160, 1))), now);
  call.on_text(R"({"event":"stop","sequenceNumber":"3","stop":{"accountSid":"AC1",)"
               R"("callSid":"CA11111111111111111111111111111111"},"streamSid":"MZ1"})",
               now);
  EXPECT_EQ(sink.closed_code, kCloseNormal);
  EXPECT_EQ(call.state(), CallSession::State::kEnded);
  call.on_closed(now + 2s);
  call.on_closed(now + 3s);  // idempotent
  EXPECT_EQ(call.inbound_audio().size_bytes(), 0u);
  EXPECT_NE(registry.render().find("voxgate_stream_duration_seconds_count 1"), std::string::npos);
  session.reset();
  EXPECT_NE(registry.render().find("voxgate_streams_active 0"), std::string::npos);
}

}  // namespace
}  // namespace voxgate::call
