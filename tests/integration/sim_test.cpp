// `voxgate sim`'s call runner against the real binary over loopback: twenty concurrent callers
// with signed webhooks talk to the front-desk agent on the embedded engines (barge-in over the
// greeting, a question, DTMF, goodbye), and a caller with the wrong auth token is refused.
#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <set>

#include "server_process.hpp"
#include "sim/load.hpp"

namespace voxgate::testing {
namespace {

using namespace std::chrono_literals;

constexpr const char* kToken = "sim-integration-token";
constexpr const char* kPublicBase = "https://voice.example.com";

std::vector<std::uint8_t> read_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

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
