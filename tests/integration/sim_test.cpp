// `voxgate sim`'s call runner against the real binary over loopback: twenty concurrent callers
// with signed webhooks talk to the front-desk agent on the embedded engines (barge-in over the
// greeting, a question, DTMF, goodbye), a caller with the wrong auth token is refused, and
// recording mode runs three turns with the sim as Twilio's recording storage.
#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <set>

#include <boost/json.hpp>

#include <thread>

#include "audio/wav.hpp"
#include "http_client.hpp"
#include "server_process.hpp"
#include "sim/load.hpp"
#include "sim/recording_host.hpp"
#include "util/base64.hpp"

namespace voxgate::testing {
namespace {

using namespace std::chrono_literals;

constexpr const char* kToken = "sim-integration-token";
constexpr const char* kPublicBase = "https://voice.example.com";

TEST(SimTest, TwentyConcurrentScriptedCallsAgainstTheFrontDesk) {
  const std::string config = std::filesystem::temp_directory_path() / "voxgate-sim-test.toml";
  std::ofstream(config) << "[agent]\nscript = \"" << VOXGATE_SOURCE_DIR
                        << "/config/front-desk.toml\"\n";
  ServerProcess server({"--config", config},
                       {{"TWILIO_AUTH_TOKEN", kToken}, {"PUBLIC_BASE_URL", kPublicBase}});
  const std::string set = VOXGATE_SPEECH_SET_DIR;
  const auto hours = read_bytes(set + "/02-rms.ul");    // "what are your opening hours"
  const auto goodbye = read_bytes(set + "/32-rms.ul");  // "thank you goodbye"
  ASSERT_FALSE(hours.empty());
  ASSERT_FALSE(goodbye.empty());

  sim::LoadOptions load;
  load.call.url = server.base_url();
  load.call.auth_token = kToken;
  load.call.public_url = kPublicBase;
  load.call.deadline = 120s;
  load.call.script = {sim::SayWhileTalking{hours, 800ms, 20s},  // over the greeting
                      sim::WaitForReply{40s},
                      sim::Dtmf{"5"},
                      sim::WaitForReply{40s},  // the agent answers the key
                      sim::Pause{300ms},
                      sim::Say{goodbye},
                      sim::WaitForReply{40s},
                      sim::Hangup{}};
  load.calls = 20;
  load.concurrency = 20;
  load.ramp_per_s = 20;
  load.threads = 2;
  std::size_t progress_reports = 0;
  load.progress = [&](const sim::LoadProgress& p) {
    ++progress_reports;
    std::printf("%.0f s: %zu done, %zu active, %zu failed, turn p50 %.0f ms p95 %.0f ms\n",
                p.elapsed_s, p.done, p.active, p.failed, p.turn_p50_ms, p.turn_p95_ms);
  };
  const auto started = std::chrono::steady_clock::now();
  const std::vector<sim::CallResult> results = sim::run_load(load);
  const double wall_s =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();

  ASSERT_EQ(results.size(), 20u);
  EXPECT_GE(progress_reports, 1u);
  const auto print_timeline = [](const sim::CallResult& call) {
    std::printf("%s (%s%s): %zu clears, %zu events, barge-in %.0f ms\n", call.call_sid.c_str(),
                call.outcome.c_str(), call.ok ? "" : (", " + call.error).c_str(), call.clears,
                call.events.size(),
                call.turns.empty() ? -1.0 : call.turns[0].barge_in_ms.value_or(-1.0));
    for (const auto& event : call.events) {
      if (event.kind == "mark_played" || event.kind == "mark_cleared") continue;
      std::printf("  %8.0f ms %-12s %s\n", event.at_ms, event.kind.c_str(), event.detail.c_str());
    }
  };
  print_timeline(results.front());
  print_timeline(results.back());
  std::set<std::string> sids;
  for (const sim::CallResult& call : results) {
    if (!call.ok || !call.close_code || call.turns.empty() || !call.turns[0].barge_in_ms) {
      print_timeline(call);
    }
    SCOPED_TRACE(call.call_sid);
    sids.insert(call.call_sid);
    EXPECT_TRUE(call.ok) << call.error;
    EXPECT_TRUE(call.outcome == "hangup" || call.outcome == "caller_hangup") << call.outcome;
    EXPECT_EQ(call.close_code, 1000) << call.close_reason;
    EXPECT_GT(call.time_to_greeting_ms.value_or(-1), 0);
    EXPECT_LT(call.time_to_greeting_ms.value_or(1e9), 10000);
    EXPECT_EQ(call.turns.size(), 2u);
    if (call.turns.size() != 2u) continue;
    // The question interrupted the greeting: the server cleared within a couple of seconds.
    EXPECT_GT(call.turns[0].barge_in_ms.value_or(-1), 0);
    EXPECT_LT(call.turns[0].barge_in_ms.value_or(1e9), 3000);
    EXPECT_GE(call.clears, 1u);
    // (No mark need be cleared: the server sends an utterance's mark after its last frame,
    // which had not left the server when the caller interrupted the greeting.)
    EXPECT_GE(call.marks_played, 1u);
    for (const auto& turn : call.turns) {
      EXPECT_GT(turn.latency_ms.value_or(-1), 0) << "turn " << turn.index;
      EXPECT_LT(turn.latency_ms.value_or(1e9), 30000) << "turn " << turn.index;
    }
    EXPECT_GT(call.frames.frames, 100u);
    EXPECT_GT(call.duration_ms, 3000);
    EXPECT_LT(call.duration_ms, 120000);
    std::set<std::string> kinds;
    for (const auto& event : call.events) kinds.insert(event.kind);
    for (const char* kind : {"webhook", "connected", "start", "speech_start", "speech_end",
                             "reply_start", "reply_end", "clear", "mark_played", "dtmf",
                             "closed"}) {
      EXPECT_TRUE(kinds.count(kind)) << kind;
    }
  }
  EXPECT_EQ(sids.size(), 20u);
  if (::testing::Test::HasFailure()) std::printf("%s\n", server.stderr_text().c_str());
  const sim::RunSummary summary = sim::summarize(results, wall_s);
  EXPECT_EQ(summary.succeeded, 20u);
  EXPECT_EQ(summary.turn_latency_ms.count, 40u);
  EXPECT_EQ(summary.barge_in_ms.count, 20u);
  std::printf("20 calls in %.1f s: greeting p50 %.0f ms, turn p50 %.0f p95 %.0f ms, "
              "barge-in p50 %.0f ms, underruns %zu of %zu frames\n",
              wall_s, summary.time_to_greeting_ms.p50, summary.turn_latency_ms.p50,
              summary.turn_latency_ms.p95, summary.barge_in_ms.p50, summary.underruns,
              summary.frames);
  std::filesystem::remove(config);
}

TEST(SimTest, AWrongAuthTokenIsRefusedAndReportedOnce) {
  ServerProcess server({}, {{"TWILIO_AUTH_TOKEN", kToken}, {"PUBLIC_BASE_URL", kPublicBase}});
  sim::LoadOptions load;
  load.call.url = server.base_url();
  load.call.auth_token = "not-the-token";
  load.call.public_url = kPublicBase;
  load.call.script = {sim::Pause{200ms}, sim::Hangup{}};
  load.calls = 3;
  load.concurrency = 2;
  const auto results = sim::run_load(load);
  ASSERT_EQ(results.size(), 3u);
  for (const auto& call : results) {
    EXPECT_FALSE(call.ok);
    EXPECT_NE(call.error.find("HTTP 403"), std::string::npos) << call.error;
  }
}

TEST(SimTest, AnUnreachableServerFailsEveryCall) {
  sim::LoadOptions load;
  load.call.url = "http://127.0.0.1:1";
  load.calls = 2;
  const auto results = sim::run_load(load);
  ASSERT_EQ(results.size(), 2u);
  for (const auto& call : results) {
    EXPECT_FALSE(call.ok);
    EXPECT_NE(call.error.find("connect"), std::string::npos) << call.error;
  }
}

}  // namespace
}  // namespace voxgate::testing

namespace voxgate::testing {
namespace {

using namespace std::chrono_literals;

constexpr const char* kAccount = "AC0123456789abcdef0123456789abcdef";

std::string basic(const std::string& user, const std::string& password) {
  const std::string pair = user + ":" + password;
  return "Authorization: Basic " +
         util::base64_encode(std::span(reinterpret_cast<const std::uint8_t*>(pair.data()),
                                       pair.size()));
}

TEST(SimRecordingHost, ServesRecordingsToTheAccountAndDeletesThem) {
  sim::RecordingHost host("127.0.0.1", 0, "secret");
  const std::vector<std::uint8_t> mulaw(8000, 0x7F);  // 1 s
  const auto added = host.add(kAccount, mulaw);
  EXPECT_TRUE(added.url.starts_with(host.base_url() + "/2010-04-01/Accounts/" + kAccount +
                                    "/Recordings/RE"))
      << added.url;
  HttpClient client;
  const auto ok = client.get(added.url, {basic(kAccount, "secret")});
  ASSERT_EQ(ok.status, 200) << ok.error;
  EXPECT_EQ(ok.headers.at("content-type"), "audio/x-wav");
  const auto decoded = audio::decode_audio(
      std::span(reinterpret_cast<const std::uint8_t*>(ok.body.data()), ok.body.size()));
  ASSERT_TRUE(decoded.audio) << decoded.message;
  EXPECT_EQ(decoded.audio->rate_hz, 8000);
  EXPECT_EQ(decoded.audio->pcm.size(), 8000u);
  EXPECT_EQ(client.get(added.url + ".wav", {basic(kAccount, "secret")}).status, 200);
  EXPECT_EQ(host.downloads(), 2u);

  EXPECT_EQ(client.get(added.url).status, 401);
  EXPECT_EQ(client.get(added.url, {basic(kAccount, "wrong")}).status, 401);
  EXPECT_EQ(client.get(added.url, {"Authorization: Basic !!!"}).status, 401);
  EXPECT_EQ(host.refused(), 3u);
  const std::string other = "AC" + std::string(32, '1');
  EXPECT_EQ(client.get(host.base_url() + "/2010-04-01/Accounts/" + other + "/Recordings/" +
                           added.recording_sid, {basic(other, "secret")})
                .status,
            404);
  EXPECT_EQ(client.get(host.base_url() + "/elsewhere", {basic(kAccount, "secret")}).status, 404);

  EXPECT_EQ(client.remove(added.url + ".json", {basic(kAccount, "secret")}).status, 204);
  EXPECT_EQ(host.deletions(), 1u);
  EXPECT_EQ(host.stored(), 0u);
  EXPECT_EQ(client.get(added.url, {basic(kAccount, "secret")}).status, 404);
}

// Recording mode end to end: the sim is Twilio (webhook, <Play> fetches, <Record> with its
// own recording storage, the process-voice action, deletion through the REST API) and the
// real binary answers three turns with the embedded engines, the call's history carried
// across them.
TEST(SimTest, ThreeRecordingModeTurnsWithTheHistoryKept) {
  sim::RecordingHost host("127.0.0.1", 0, kToken);
  const std::string config =
      std::filesystem::temp_directory_path() / "voxgate-sim-recording-test.toml";
  std::ofstream(config) << "[agent]\nscript = \"" << VOXGATE_SOURCE_DIR
                        << "/config/front-desk.toml\"\n[twilio]\nrecording_hosts = [\"127.0.0.1\"]\n"
                        << "api_base_url = \"" << host.base_url() << "\"\n";
  ServerProcess server({"--config", config}, {{"TWILIO_AUTH_TOKEN", kToken},
                                              {"TWILIO_ACCOUNT_SID", kAccount},
                                              {"VOXGATE_ADMIN_TOKEN", "admin"},
                                              {"PUBLIC_BASE_URL", kPublicBase}});
  const std::string set = VOXGATE_SPEECH_SET_DIR;
  const auto hours = read_bytes(set + "/02-rms.ul");    // "what are your opening hours"
  const auto book = read_bytes(set + "/01-rms.ul");     // "... book an appointment ..."
  const auto goodbye = read_bytes(set + "/32-rms.ul");  // "thank you goodbye"
  ASSERT_FALSE(hours.empty() || book.empty() || goodbye.empty());

  sim::LoadOptions load;
  load.call.mode = sim::CallMode::kRecording;
  load.call.url = server.base_url();
  load.call.auth_token = kToken;
  load.call.public_url = kPublicBase;
  load.call.account_sid = kAccount;
  load.call.recordings = &host;
  load.call.keep_audio = true;
  load.call.deadline = 90s;
  load.call.script = {sim::WaitForReply{}, sim::Say{hours},   sim::WaitForReply{},
                      sim::Say{book},      sim::WaitForReply{}, sim::Say{goodbye},
                      sim::WaitForReply{}, sim::Hangup{}};
  load.calls = 2;
  load.concurrency = 2;
  const auto results = sim::run_load(load);
  ASSERT_EQ(results.size(), 2u);
  for (const auto& call : results) {
    SCOPED_TRACE(call.call_sid);
    EXPECT_TRUE(call.ok) << call.error;
    EXPECT_EQ(call.outcome, "hangup");  // the agent said goodbye and hung up
    ASSERT_EQ(call.turns.size(), 3u);
    for (const auto& turn : call.turns) {
      EXPECT_GT(turn.answer_ms.value_or(-1), 0) << "turn " << turn.index;
      EXPECT_LT(turn.answer_ms.value_or(1e9), 10000) << "turn " << turn.index;
      // Twilio's silence timeout (2 s in the server's <Record>) is part of what the caller waits.
      EXPECT_GT(turn.latency_ms.value_or(-1), 2000) << "turn " << turn.index;
    }
    EXPECT_GT(call.time_to_greeting_ms.value_or(-1), 0);
    // Both sides were kept on one time line: the caller's three utterances and four replies.
    EXPECT_GT(call.caller_audio.size(), hours.size() + book.size() + goodbye.size());
    EXPECT_GT(call.agent_audio.size(), call.caller_audio.size());

    // The server kept the conversation across the three webhooks.
    HttpClient client;
    const auto history = client.get(server.base_url() + "/calls/" + call.call_sid,
                                    {"Authorization: Bearer admin"});
    ASSERT_EQ(history.status, 200) << history.body;
    const auto record = boost::json::parse(history.body).as_object();
    EXPECT_EQ(record.at("mode").as_string(), "recording");
    ASSERT_EQ(record.at("turns").as_array().size(), 3u) << history.body;
    EXPECT_NE(std::string(record.at("turns").as_array()[0].at("caller").as_string()).find("hours"),
              std::string::npos)
        << history.body;
  }
  EXPECT_EQ(host.downloads(), 6u);
  // Deletions are asynchronous: the server deletes each recording after its turn.
  for (int i = 0; i < 100 && host.deletions() < 6u; ++i) std::this_thread::sleep_for(50ms);
  EXPECT_EQ(host.deletions(), 6u);
  EXPECT_EQ(host.refused(), 0u);
  if (::testing::Test::HasFailure()) std::printf("%s\n", server.stderr_text().c_str());
  std::filesystem::remove(config);
}

}  // namespace
}  // namespace voxgate::testing
