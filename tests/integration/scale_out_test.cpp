// Scale-out with the real parts: a redis-server, two `voxgate serve` workers sharing it
// (REDIS_URL) and a real HAProxy in front, with `voxgate sim` playing Twilio.
//
// - A recording-mode call whose webhooks alternate between the workers keeps its history,
//   and reply audio made on one worker is served by the other.
// - A streaming call whose worker is SIGKILLed mid-call goes on on the other worker in
//   recording mode, with the conversation so far (DESIGN.md §6).
// - 200 concurrent streaming calls spread over the two workers all complete.
// - The chunk API's uploads to either worker are completed by either, with one conversation.
// - While Redis is down new calls get 503 (Twilio then uses the number's fallback URL) and
//   nothing crashes; once it is back, calls are taken again.
#include <gtest/gtest.h>
#include <signal.h>

#include <boost/json.hpp>

#include <filesystem>
#include <fstream>
#include <future>
#include <iterator>
#include <thread>

#include "haproxy_process.hpp"
#include "http_client.hpp"
#include "redis_server.hpp"
#include "server_process.hpp"
#include "sim/load.hpp"
#include "sim/recording_host.hpp"
#include "twilio/signature.hpp"

namespace voxgate::testing {
namespace {

using namespace std::chrono_literals;

constexpr const char* kToken = "scale-out-test-token";
constexpr const char* kAccount = "AC0123456789abcdef0123456789abcdef";
constexpr const char* kPublicBase = "https://voice.example.com";

// redis-server, a recording host for the sim, two workers sharing Redis.
class ScaleOutTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(redis_.start()) << redis_.error();
    config_ = (std::filesystem::temp_directory_path() /
               ("voxgate-scale-out-" + std::to_string(::getpid()) + ".toml"))
                  .string();
    std::ofstream(config_) << "[agent]\nscript = \"" << VOXGATE_SOURCE_DIR
                           << "/config/front-desk.toml\"\n[twilio]\nrecording_hosts = "
                              "[\"127.0.0.1\"]\napi_base_url = \""
                           << recordings_.base_url() << "\"\n[server]\ndrain_timeout_s = 1\n";
    for (auto* worker : {&a_, &b_}) {
      worker->emplace(std::vector<std::string>{"--config", config_},
                      std::map<std::string, std::string>{{"TWILIO_AUTH_TOKEN", kToken},
                                                         {"TWILIO_ACCOUNT_SID", kAccount},
                                                         {"VOXGATE_ADMIN_TOKEN", "admin"},
                                                         {"PUBLIC_BASE_URL", kPublicBase},
                                                         {"REDIS_URL", redis_.url()}});
    }
  }
  void TearDown() override { std::filesystem::remove(config_); }

  sim::CallRunnerOptions call_options(const std::string& url) {
    sim::CallRunnerOptions options;
    options.url = url;
    options.auth_token = kToken;
    options.public_url = kPublicBase;
    options.account_sid = kAccount;
    options.recordings = &recordings_;
    options.deadline = 120s;
    return options;
  }

  // The call as a worker knows it (after loading it from Redis, the route does that).
  std::optional<boost::json::object> call_record(ServerProcess& worker, const std::string& sid) {
    HttpClient client;
    const HttpResult result =
        client.get(worker.base_url() + "/calls/" + sid, {"Authorization: Bearer admin"});
    if (result.status != 200) return std::nullopt;
    return boost::json::parse(result.body).as_object();
  }

  // A signed webhook to one worker, as Twilio sends it.
  static HttpResult post_webhook(ServerProcess& worker, const std::string& path,
                                 const twilio::Params& params) {
    HttpClient client;
    return post_signed(client, worker.base_url(), path, params, kToken, kPublicBase);
  }

  std::string dump_logs() {
    std::string out;
    for (auto* worker : {&a_, &b_}) {
      if (*worker) out += "---- worker\n" + (*worker)->stderr_text();
    }
    return out;
  }

  test_support::RedisServer redis_;
  sim::RecordingHost recordings_{"127.0.0.1", 0, kToken};
  std::string config_;
  std::optional<ServerProcess> a_, b_;
  const std::string speech_ = VOXGATE_SPEECH_SET_DIR;
};

TEST_F(ScaleOutTest, ARecordingCallAlternatingBetweenWorkersKeepsItsHistory) {
  const unsigned short front = free_loopback_port(), stats = free_loopback_port();
  // Webhooks alternate between the workers (round robin instead of the CallSid hash), and
  // every <Play> fetch goes to worker b, so audio made on a is served from Redis.
  std::string config = haproxy_config(front, stats, {a_->port(), b_->port()}, /*round_robin=*/true);
  const std::string default_backend = "    default_backend voxgate\n";
  config.replace(config.find(default_backend), default_backend.size(),
                 "    use_backend audio if { path_beg /audio/ }\n" + default_backend);
  config += "\nbackend audio\n    server b 127.0.0.1:" + std::to_string(b_->port()) + "\n";
  HaproxyProcess haproxy(config, front);

  sim::LoadOptions load;
  load.call = call_options("http://127.0.0.1:" + std::to_string(front));
  load.call.mode = sim::CallMode::kRecording;
  load.call.script = {sim::WaitForReply{},
                      sim::Say{read_bytes(speech_ + "/02-rms.ul")},  // opening hours
                      sim::WaitForReply{},
                      sim::Say{read_bytes(speech_ + "/01-rms.ul")},  // book an appointment
                      sim::WaitForReply{},
                      sim::Say{read_bytes(speech_ + "/32-rms.ul")},  // thank you goodbye
                      sim::WaitForReply{},
                      sim::Hangup{}};
  const auto results = sim::run_load(load);
  ASSERT_EQ(results.size(), 1u);
  const sim::CallResult& call = results[0];
  EXPECT_TRUE(call.ok) << call.error << "\n" << dump_logs();
  EXPECT_EQ(call.outcome, "hangup");
  EXPECT_EQ(call.turns.size(), 3u);

  // Both workers answered turns, and the three turns are one conversation: the worker that
  // answered the last turn holds all three, in order.
  const std::string said_a = a_->stderr_text(), said_b = b_->stderr_text();
  EXPECT_GE(count_of(said_a, "Caller said"), 1u) << dump_logs();
  EXPECT_GE(count_of(said_b, "Caller said"), 1u) << dump_logs();
  EXPECT_EQ(count_of(said_a, "Caller said") + count_of(said_b, "Caller said"), 3u);
  std::size_t most_turns = 0;
  for (auto* worker : {&a_, &b_}) {
    const auto record = call_record(**worker, call.call_sid);
    ASSERT_TRUE(record) << dump_logs();
    const auto& turns = record->at("turns").as_array();
    if (turns.size() < most_turns) continue;
    most_turns = turns.size();
    if (turns.size() == 3) {
      EXPECT_NE(std::string(turns[0].at("caller").as_string()).find("hours"), std::string::npos);
      EXPECT_NE(std::string(turns[2].at("caller").as_string()).find("goodbye"), std::string::npos);
    }
  }
  EXPECT_EQ(most_turns, 3u);
  EXPECT_EQ(count_of(said_a, "Received call") + count_of(said_b, "Received call"), 1u);
  // Every <Play> went to worker b, including the replies only worker a had made.
  EXPECT_NE(said_a.find("Caller said"), std::string::npos);
}

TEST_F(ScaleOutTest, AStreamingCallWhoseWorkerIsKilledGoesOnElsewhereWithItsHistory) {
  const unsigned short front = free_loopback_port(), stats = free_loopback_port();
  HaproxyProcess haproxy(haproxy_config(front, stats, {a_->port(), b_->port()}), front);

  sim::LoadOptions load;
  load.call = call_options("http://127.0.0.1:" + std::to_string(front));
  load.call.script = {sim::WaitForReply{20s},
                      sim::Say{read_bytes(speech_ + "/02-rms.ul")},  // opening hours
                      sim::WaitForReply{20s},
                      sim::Pause{5s},  // the worker dies in here
                      sim::Say{read_bytes(speech_ + "/01-rms.ul")},  // book an appointment
                      sim::WaitForReply{20s},
                      sim::Say{read_bytes(speech_ + "/32-rms.ul")},  // thank you goodbye
                      sim::WaitForReply{20s},
                      sim::Hangup{}};
  auto running = std::async(std::launch::async, [&] { return sim::run_load(load); });

  // The worker holding the stream is the one that hears the first question.
  ServerProcess* holder = nullptr;
  ServerProcess* other = nullptr;
  const auto deadline = std::chrono::steady_clock::now() + 40s;
  while (holder == nullptr && std::chrono::steady_clock::now() < deadline) {
    for (auto [mine, theirs] : {std::pair{&*a_, &*b_}, std::pair{&*b_, &*a_}}) {
      if (mine->stderr_text().find("Caller said: \"what are your opening hours\"") !=
          std::string::npos) {
        holder = mine;
        other = theirs;
      }
    }
    std::this_thread::sleep_for(50ms);
  }
  ASSERT_NE(holder, nullptr) << dump_logs();
  // Let the answer start, then kill the worker mid-call, without warning.
  std::this_thread::sleep_for(1500ms);
  holder->signal(SIGKILL);
  ASSERT_TRUE(holder->wait_for_exit(5s));

  const auto results = running.get();
  ASSERT_EQ(results.size(), 1u);
  const sim::CallResult& call = results[0];
  EXPECT_TRUE(call.ok) << call.error << "\n" << dump_logs();
  EXPECT_TRUE(call.fell_back);
  EXPECT_EQ(call.outcome, "hangup");
  const std::string log = other->stderr_text();
  EXPECT_NE(log.find("continuing in recording mode"), std::string::npos) << log;
  const auto record = call_record(*other, call.call_sid);
  ASSERT_TRUE(record) << log;
  EXPECT_EQ(record->at("mode").as_string(), "recording");
  const auto& turns = record->at("turns").as_array();
  ASSERT_GE(turns.size(), 3u) << boost::json::serialize(*record);
  // The question asked on the dead worker is still the conversation's first turn.
  EXPECT_NE(std::string(turns[0].at("caller").as_string()).find("hours"), std::string::npos)
      << boost::json::serialize(*record);
}

TEST_F(ScaleOutTest, TwoHundredConcurrentCallsSpreadOverTwoWorkersAllComplete) {
  const unsigned short front = free_loopback_port(), stats = free_loopback_port();
  HaproxyProcess haproxy(haproxy_config(front, stats, {a_->port(), b_->port()}), front);
  sim::LoadOptions load;
  load.call = call_options("http://127.0.0.1:" + std::to_string(front));
  load.call.script = {sim::WaitForReply{30s}, sim::Hangup{}};  // the greeting, then goodbye
  load.calls = 200;
  load.concurrency = 200;
  load.ramp_per_s = 100;
  load.threads = 1;
  const auto results = sim::run_load(load);
  ASSERT_EQ(results.size(), 200u);
  std::size_t ok = 0;
  std::string first_error;
  for (const auto& call : results) {
    if (call.ok) ++ok;
    if (!call.ok && first_error.empty()) first_error = call.call_sid + ": " + call.error;
  }
  EXPECT_EQ(ok, 200u) << first_error;
  const std::size_t on_a = count_of(a_->stderr_text(), "Received streaming call");
  const std::size_t on_b = count_of(b_->stderr_text(), "Received streaming call");
  EXPECT_EQ(on_a + on_b, 200u);
  EXPECT_GT(on_a, 40u) << "the CallSid hash spreads calls over both workers";
  EXPECT_GT(on_b, 40u);
}

// The chunk API behind a balancer that does not keep a call on one worker: chunks uploaded
// to both workers are completed by either, the conversation grows across them, and nothing
// of the call is left in Redis once Twilio reports it finished.
TEST_F(ScaleOutTest, ChunkApiUploadsToEitherWorkerAreCompletedByEither) {
  HttpClient client;
  const std::string sid = "CA0000000000000000000000000000c4c4";
  const std::vector<std::string> admin = {"Authorization: Bearer admin",
                                          "Content-Type: audio/x-mulaw"};
  const auto upload = [&](ServerProcess& worker, const std::vector<std::uint8_t>& audio,
                          std::size_t from, std::size_t to) {
    return client.post(worker.base_url() + "/phone/stream-audio/" + sid,
                       std::string(audio.begin() + static_cast<std::ptrdiff_t>(from),
                                   audio.begin() + static_cast<std::ptrdiff_t>(to)),
                       admin);
  };
  const auto complete = [&](ServerProcess& worker) {
    return client.post(worker.base_url() + "/phone/stream-audio/" + sid + "/complete", "",
                       {"Authorization: Bearer admin"});
  };
  const auto redis = [&](const std::string& command) { return redis_.command(command); };

  // "What are your opening hours", its first half to a, the rest to b.
  const auto hours = read_bytes(speech_ + "/02-rms.ul");
  const HttpResult first = upload(*a_, hours, 0, hours.size() / 2);
  ASSERT_EQ(first.status, 200) << first.body << dump_logs();
  const HttpResult second = upload(*b_, hours, hours.size() / 2, hours.size());
  ASSERT_EQ(second.status, 200) << second.body;
  EXPECT_EQ(boost::json::parse(second.body).at("chunks").as_int64(), 2);
  EXPECT_EQ(boost::json::parse(second.body).at("bytes").as_int64(),
            static_cast<std::int64_t>(hours.size()));
  EXPECT_EQ(redis("LLEN voxgate:chunks:" + sid), ":2");

  const HttpResult answered = complete(*b_);
  ASSERT_EQ(answered.status, 200) << answered.body << dump_logs();
  const auto result = boost::json::parse(answered.body);
  EXPECT_EQ(result.at("chunks").as_int64(), 2);
  EXPECT_NE(std::string(result.at("transcript").as_string()).find("hours"), std::string::npos)
      << answered.body;
  EXPECT_EQ(redis("EXISTS voxgate:chunks:" + sid), ":0") << "taken means deleted";
  EXPECT_EQ(redis("LLEN voxgate:chunk_turns:" + sid), ":1");
  EXPECT_EQ(complete(*a_).status, 404) << "the audio went to b's complete, once";

  // The next turn on a: its reply is stored after b's, in one conversation.
  const auto goodbye = read_bytes(speech_ + "/32-rms.ul");
  ASSERT_EQ(upload(*a_, goodbye, 0, goodbye.size()).status, 200);
  const HttpResult closing = complete(*a_);
  ASSERT_EQ(closing.status, 200) << closing.body << dump_logs();
  EXPECT_EQ(redis("LLEN voxgate:chunk_turns:" + sid), ":2");

  // Twilio reports the call finished (to either worker): its keys go.
  EXPECT_EQ(post_webhook(*a_, "/phone/call-status", {{"CallSid", sid}, {"CallStatus", "completed"}})
                .status,
            204);
  const auto deadline = std::chrono::steady_clock::now() + 5s;
  while (redis("EXISTS voxgate:chunk_turns:" + sid) != ":0" &&
         std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(20ms);
  }
  EXPECT_EQ(redis("EXISTS voxgate:chunk_turns:" + sid + " voxgate:chunk_bytes:" + sid +
                  " voxgate:chunks:" + sid),
            ":0");
}

TEST_F(ScaleOutTest, WhileRedisIsDownNewCallsGet503AndCallsResumeWhenItIsBack) {
  HttpClient client;
  const auto incoming = [&](ServerProcess& worker, const std::string& sid) {
    return post_webhook(worker, "/phone/incoming-call-streaming",
                        {{"CallSid", sid}, {"AccountSid", kAccount},
                         {"From", "+14155550100"}, {"To", "+14155550199"}});
  };
  const auto wait_for = [&](ServerProcess& worker, bool ok) {
    const auto deadline = std::chrono::steady_clock::now() + 20s;
    while (std::chrono::steady_clock::now() < deadline) {
      const HttpResult health = client.get(worker.base_url() + "/healthz");
      if (health.status == 200 &&
          boost::json::parse(health.body).as_object().at("store_ok").as_bool() == ok) {
        return true;
      }
      std::this_thread::sleep_for(100ms);
    }
    return false;
  };
  ASSERT_TRUE(wait_for(*a_, true));
  EXPECT_EQ(incoming(*a_, "CA00000000000000000000000000000001").status, 200);

  redis_.stop(SIGKILL);
  ASSERT_TRUE(wait_for(*a_, false)) << dump_logs();
  const HttpResult refused = incoming(*a_, "CA00000000000000000000000000000002");
  EXPECT_EQ(refused.status, 503);
  EXPECT_NE(refused.body.find("store_unavailable"), std::string::npos) << refused.body;
  // The chunk API cannot store a chunk without Redis: 503, not a chunk kept on one worker
  // where the complete may never reach it.
  const HttpResult upload = client.post(
      a_->base_url() + "/phone/stream-audio/CA00000000000000000000000000000004",
      std::string(1600, '\xff'), {"Authorization: Bearer admin", "Content-Type: audio/x-mulaw"});
  EXPECT_EQ(upload.status, 503) << upload.body;
  EXPECT_NE(upload.body.find("store_unavailable"), std::string::npos) << upload.body;
  const HttpResult complete =
      client.post(a_->base_url() + "/phone/stream-audio/CA00000000000000000000000000000004/complete",
                  "", {"Authorization: Bearer admin"});
  EXPECT_EQ(complete.status, 503) << complete.body;
  EXPECT_NE(complete.body.find("store_unavailable"), std::string::npos) << complete.body;
  // A call in progress is still served from what this worker holds.
  EXPECT_EQ(post_webhook(*a_, "/phone/call-status",
                         {{"CallSid", "CA00000000000000000000000000000001"},
                          {"CallStatus", "in-progress"}})
                .status,
            204);

  ASSERT_TRUE(redis_.start()) << redis_.error();
  ASSERT_TRUE(wait_for(*a_, true)) << dump_logs();
  EXPECT_EQ(incoming(*a_, "CA00000000000000000000000000000003").status, 200);
  EXPECT_FALSE(a_->wait_for_exit(10ms)) << "the worker is still running";
}

}  // namespace
}  // namespace voxgate::testing
