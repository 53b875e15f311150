// Two real `voxgate serve` workers behind a real HAProxy, configured with the choices of
// deploy/haproxy.cfg: webhooks reach both workers, a streaming call placed by the sim
// library works through the balancer (WebSocket upgrade included) and stays on one worker,
// and SIGTERM to the worker holding a stream drains it as a balancer sees it: /healthz
// answers 503, HAProxy takes it out of rotation within seconds, new webhooks all land on
// the other worker without one failing, and the held stream runs until the drain deadline.
//
// The same, shorter, through nginx with deploy/nginx.conf: open-source nginx has no active
// health checks, so a draining worker stays in rotation and what keeps calls from failing
// is nginx retrying its 503s on the other worker (`proxy_next_upstream http_503
// non_idempotent`).
//
// The HAProxy config is made from deploy/haproxy.cfg itself: its `defaults` section and its
// `backend voxgate` section are copied line for line (timeouts, retries and `retry-on 503`,
// the CallSid hash, the /healthz check with `inter 1s fastinter 500ms fall 2 rise 2`); only
// the `server` lines, the `global` section and the frontends (a loopback port instead of
// :80/:443, a stats page to poll) are the test's own. So a change to the shipped file is
// tested here.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/json.hpp>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <future>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "haproxy_process.hpp"
#include "nginx_process.hpp"
#include "http_client.hpp"
#include "server_process.hpp"
#include "sim/load.hpp"
#include "twilio/signature.hpp"

namespace voxgate::testing {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

constexpr const char* kToken = "balancer-test-token";
constexpr const char* kPublicBase = "https://voice.example.com";
constexpr int kDrainTimeoutS = 6;

// A signed incoming-call webhook, as Twilio sends it to the balancer.
HttpResult post_incoming_call(HttpClient& client, const std::string& balancer_url,
                              const std::string& call_sid) {
  const twilio::Params params = {{"CallSid", call_sid},
                                 {"AccountSid", "AC0123456789abcdef0123456789abcdef"},
                                 {"From", "+14155550100"},
                                 {"To", "+14155550199"}};
  return post_signed(client, balancer_url, "/phone/incoming-call-streaming", params, kToken,
                     kPublicBase);
}

std::string call_sid(int n) {
  char sid[35];
  std::snprintf(sid, sizeof sid, "CA%032d", n);
  return sid;
}

// A sample of a worker's /metrics, asked directly; nullopt when it does not answer or has
// no such sample.
std::optional<double> metric_value(HttpClient& client, const ServerProcess& worker,
                                   const std::string& sample) {
  const HttpResult result = client.get(worker.base_url() + "/metrics");
  if (result.status != 200) return std::nullopt;
  const std::string line_start = "\n" + sample + " ";
  const auto at = result.body.find(line_start);
  if (at == std::string::npos) return std::nullopt;
  return std::stod(result.body.substr(at + line_start.size()));
}

std::optional<double> streams_active(HttpClient& client, const ServerProcess& worker) {
  return metric_value(client, worker, "voxgate_streams_active");
}

sim::LoadOptions one_call(const std::string& balancer_url, std::vector<sim::Step> script) {
  sim::LoadOptions load;
  load.call.url = balancer_url;
  load.call.auth_token = kToken;
  load.call.public_url = kPublicBase;  // wss://voice.example.com/… is mapped back to the balancer
  load.call.deadline = 60s;
  load.call.script = std::move(script);
  load.calls = 1;
  load.concurrency = 1;
  return load;
}

TEST(BalancerTest, SpreadsCallsAndDrainsAWorkerWithoutFailingACall) {
  const auto test_started = Clock::now();
  const std::string config = std::filesystem::temp_directory_path() /
                             ("voxgate-balancer-" + std::to_string(getpid()) + ".toml");
  std::ofstream(config) << "[server]\ndrain_timeout_s = " << kDrainTimeoutS
                        << "\n[agent]\nscript = \"" << VOXGATE_SOURCE_DIR
                        << "/config/front-desk.toml\"\n";
  const std::map<std::string, std::string> env = {{"TWILIO_AUTH_TOKEN", kToken},
                                                  {"PUBLIC_BASE_URL", kPublicBase}};
  std::vector<std::unique_ptr<ServerProcess>> workers;
  workers.push_back(
      std::make_unique<ServerProcess>(std::vector<std::string>{"--config", config}, env));
  workers.push_back(
      std::make_unique<ServerProcess>(std::vector<std::string>{"--config", config}, env));
  const unsigned short front_port = free_loopback_port();
  const unsigned short stats_port = free_loopback_port();
  std::unique_ptr<HaproxyProcess> haproxy;
  try {
    haproxy = std::make_unique<HaproxyProcess>(
        haproxy_config(front_port, stats_port, {workers[0]->port(), workers[1]->port()}),
        front_port);
  } catch (const std::exception& e) {
    FAIL() << e.what();
  }
  const std::string balancer = "http://127.0.0.1:" + std::to_string(front_port);
  HttpClient client;
  // HAProxy starts its servers as up; wait for the first checks all the same.
  auto deadline = Clock::now() + 15s;
  while (Clock::now() < deadline) {
    const auto states = server_states(client, stats_port);
    if (states.size() == 2 && states.at("a") == "UP" && states.at("b") == "UP") break;
    std::this_thread::sleep_for(100ms);
  }
  ASSERT_EQ(server_states(client, stats_port),
            (std::map<std::string, std::string>{{"a", "UP"}, {"b", "UP"}}))
      << haproxy->output();

  // 1. Webhooks through the balancer reach both workers.
  constexpr int kWebhooks = 20;
  for (int n = 0; n < kWebhooks; ++n) {
    const HttpResult answer = post_incoming_call(client, balancer, call_sid(n));
    ASSERT_EQ(answer.status, 200) << answer.body << answer.error;
    EXPECT_NE(answer.body.find("<Stream url=\"wss://voice.example.com/phone/stream-audio/"),
              std::string::npos)
        << answer.body;
  }
  const std::string received = "Received streaming call";
  std::size_t on_a = count_of(workers[0]->stderr_text(), received);
  std::size_t on_b = count_of(workers[1]->stderr_text(), received);
  EXPECT_EQ(on_a + on_b, static_cast<std::size_t>(kWebhooks));
  EXPECT_GT(on_a, 0u);
  EXPECT_GT(on_b, 0u);
  std::printf("webhooks: %zu on a, %zu on b\n", on_a, on_b);
  // Requests without a CallSid (/audio/{id}.wav, …) are spread too, not all on one worker.
  for (int n = 0; n < 10; ++n) EXPECT_EQ(client.get(balancer + "/nowhere").status, 404);
  for (const auto& worker : workers) {
    EXPECT_GT(metric_value(client, *worker,
                           "voxgate_http_requests_total{route=\"unmatched\",method=\"GET\","
                           "status=\"404\"}")
                  .value_or(0),
              0)
        << "a worker got none of the requests without a CallSid";
  }

  // 2. A streaming call end to end through the balancer: webhook, WebSocket upgrade,
  // greeting, hang-up; every request of it on one worker (the CallSid hash).
  const std::vector<sim::CallResult> short_call =
      sim::run_load(one_call(balancer, {sim::WaitForReply{30s}, sim::Hangup{}}));
  ASSERT_EQ(short_call.size(), 1u);
  {
    const sim::CallResult& call = short_call[0];
    EXPECT_TRUE(call.ok) << call.error;
    EXPECT_EQ(call.outcome, "caller_hangup");
    EXPECT_GT(call.time_to_greeting_ms.value_or(-1), 0);
    EXPECT_GT(call.frames.frames, 50u);  // the greeting's audio came through the tunnel
    const std::string tag = "[" + call.call_sid + "] ";
    int holders = 0;
    for (const auto& worker : workers) {
      const std::string log = worker->stderr_text();
      const bool webhook = log.find(tag + received) != std::string::npos;
      const bool stream = log.find(tag + "Media stream MZ") != std::string::npos;
      EXPECT_EQ(webhook, stream) << "webhook and stream of one call on different workers";
      holders += stream ? 1 : 0;
    }
    EXPECT_EQ(holders, 1);
  }

  // 3. Drain. A call whose stream outlives the drain deadline; the worker holding it is A.
  auto long_call = std::async(std::launch::async, [&balancer] {
    return sim::run_load(
        one_call(balancer, {sim::WaitForReply{30s}, sim::Pause{40s}, sim::Hangup{}}));
  });
  int a = -1;
  deadline = Clock::now() + 20s;
  while (a < 0 && Clock::now() < deadline) {
    for (int i = 0; i < 2; ++i) {
      if (streams_active(client, *workers[static_cast<std::size_t>(i)]).value_or(0) >= 1) a = i;
    }
    std::this_thread::sleep_for(50ms);
  }
  ASSERT_GE(a, 0) << "the long call's stream never opened";
  ServerProcess& worker_a = *workers[static_cast<std::size_t>(a)];
  ServerProcess& worker_b = *workers[static_cast<std::size_t>(1 - a)];
  const std::string name_a = a == 0 ? "a" : "b";
  const std::string name_b = a == 0 ? "b" : "a";
  std::this_thread::sleep_for(300ms);  // let the call get going; not an assertion
  const std::size_t received_on_a = count_of(worker_a.stderr_text(), received);
  const std::size_t received_on_b = count_of(worker_b.stderr_text(), received);

  const auto signalled = Clock::now();
  worker_a.signal(SIGTERM);

  // A says it is draining, on the listener it keeps open.
  HttpResult health;
  deadline = Clock::now() + 5s;
  while (Clock::now() < deadline) {
    health = client.get(worker_a.base_url() + "/healthz");
    if (health.status == 503) break;
    std::this_thread::sleep_for(20ms);
  }
  ASSERT_EQ(health.status, 503) << health.body << health.error;
  EXPECT_EQ(boost::json::parse(health.body).at("status").as_string(), "draining");

  // New calls keep coming through the balancer from SIGTERM on; none fails, and once
  // HAProxy has A down, they all land on B.
  int next_sid = 1000;
  int posted_while_up = 0;
  std::optional<Clock::duration> marked_down_after;
  deadline = Clock::now() + 15s;
  while (Clock::now() < deadline) {
    const HttpResult answer = post_incoming_call(client, balancer, call_sid(next_sid++));
    EXPECT_EQ(answer.status, 200) << answer.body << answer.error;
    const auto states = server_states(client, stats_port);
    if (states.count(name_a) && states.at(name_a).starts_with("DOWN")) {
      marked_down_after = Clock::now() - signalled;
      break;
    }
    ++posted_while_up;
    std::this_thread::sleep_for(50ms);
  }
  ASSERT_TRUE(marked_down_after) << "HAProxy still has the draining worker up";
  EXPECT_LT(*marked_down_after, 10s);
  std::printf("draining worker %s marked down after %.0f ms (%d webhooks while it was up)\n",
              name_a.c_str(), std::chrono::duration<double, std::milli>(*marked_down_after).count(),
              posted_while_up);
  EXPECT_EQ(server_states(client, stats_port).at(name_b), "UP");
  constexpr int kAfterDown = 10;
  for (int n = 0; n < kAfterDown; ++n) {
    const HttpResult answer = post_incoming_call(client, balancer, call_sid(next_sid++));
    EXPECT_EQ(answer.status, 200) << answer.body << answer.error;
  }
  const int posted_after_sigterm = next_sid - 1000;
  // Some of them were hashed to A while HAProxy still had it up: A refused them with 503 and
  // HAProxy retried them on B (`retry-on … 503`), so Twilio never saw the refusal.
  const double refused_by_a =
      metric_value(client, worker_a,
                   "voxgate_http_requests_total{route=\"/phone/incoming-call-streaming\","
                   "method=\"POST\",status=\"503\"}")
          .value_or(0);
  std::printf("%d webhooks after SIGTERM, %.0f refused by the draining worker and retried\n",
              posted_after_sigterm, refused_by_a);
  if (posted_while_up >= 8) {
    EXPECT_GT(refused_by_a, 0);
  }
  EXPECT_EQ(count_of(worker_a.stderr_text(), received), received_on_a)
      << "a draining worker took a new call";
  EXPECT_EQ(count_of(worker_b.stderr_text(), received),
            received_on_b + static_cast<std::size_t>(posted_after_sigterm));

  // The stream A holds runs on until the drain deadline, then closes with 1001.
  Clock::duration last_seen_open{};
  deadline = signalled + std::chrono::seconds(kDrainTimeoutS + 10);
  while (Clock::now() < deadline) {
    const auto open = streams_active(client, worker_a);
    if (!open || *open < 1) break;
    last_seen_open = Clock::now() - signalled;
    std::this_thread::sleep_for(100ms);
  }
  EXPECT_GE(last_seen_open, std::chrono::seconds(kDrainTimeoutS) - 1s)
      << "the held stream ended before the drain deadline";
  const std::vector<sim::CallResult> held = long_call.get();
  ASSERT_EQ(held.size(), 1u);
  EXPECT_EQ(held[0].close_code, 1001) << held[0].close_reason << " " << held[0].error;
  EXPECT_EQ(held[0].close_reason, "server shutting down");
  // Twilio then follows the <Redirect> after </Connect> (the sim stops at the close, so the
  // test sends it): through the balancer it lands on the live worker, which carries the call
  // on (in recording mode: without REDIS_URL it does not have the call's history).
  {
    const std::string sid = held[0].call_sid;
    const twilio::Params params = {{"CallSid", sid},
                                   {"AccountSid", "AC0123456789abcdef0123456789abcdef"},
                                   {"CallStatus", "in-progress"}};
    const HttpResult redirect = post_signed(client, balancer, "/phone/stream-ended/" + sid,
                                            params, kToken, kPublicBase);
    EXPECT_EQ(redirect.status, 200) << redirect.body << redirect.error;
    EXPECT_NE(redirect.body.find("<Record"), std::string::npos) << redirect.body;
    EXPECT_NE(worker_b.stderr_text().find("[" + sid + "] Stream ended without"), std::string::npos)
        << worker_b.stderr_text();
  }
  EXPECT_EQ(worker_a.wait_for_exit(10s), 0) << worker_a.stderr_text();
  EXPECT_NE(worker_a.stderr_text().find("voxgate stopped"), std::string::npos);

  std::filesystem::remove(config);
  std::printf("balancer test took %.1f s\n",
              std::chrono::duration<double>(Clock::now() - test_started).count());
}

TEST(BalancerTest, NginxSpreadsCallsKeepsEachOnOneWorkerAndRetriesADrainingOne) {
  constexpr int kDrainS = 3;
  const std::string config = std::filesystem::temp_directory_path() /
                             ("voxgate-nginx-" + std::to_string(getpid()) + ".toml");
  std::ofstream(config) << "[server]\ndrain_timeout_s = " << kDrainS << "\n[agent]\nscript = \""
                        << VOXGATE_SOURCE_DIR << "/config/front-desk.toml\"\n";
  const std::map<std::string, std::string> env = {{"TWILIO_AUTH_TOKEN", kToken},
                                                  {"PUBLIC_BASE_URL", kPublicBase}};
  std::vector<std::unique_ptr<ServerProcess>> workers;
  for (int i = 0; i < 2; ++i) {
    workers.push_back(
        std::make_unique<ServerProcess>(std::vector<std::string>{"--config", config}, env));
  }
  const unsigned short front_port = free_loopback_port();
  std::unique_ptr<NginxProcess> nginx;
  try {
    nginx = std::make_unique<NginxProcess>(
        [&](const std::string& dir) {
          return nginx_config(dir, front_port, {workers[0]->port(), workers[1]->port()});
        },
        front_port);
  } catch (const std::exception& e) {
    FAIL() << e.what();
  }
  const std::string balancer = "http://127.0.0.1:" + std::to_string(front_port);
  HttpClient client;
  const std::string received = "Received streaming call";

  // 1. Webhooks spread over both workers by the CallSid in their form body.
  constexpr int kWebhooks = 20;
  for (int n = 0; n < kWebhooks; ++n) {
    const HttpResult answer = post_incoming_call(client, balancer, call_sid(n));
    ASSERT_EQ(answer.status, 200) << answer.body << answer.error << nginx->output();
  }
  const std::size_t on_a = count_of(workers[0]->stderr_text(), received);
  const std::size_t on_b = count_of(workers[1]->stderr_text(), received);
  EXPECT_EQ(on_a + on_b, static_cast<std::size_t>(kWebhooks));
  EXPECT_GT(on_a, 0u);
  EXPECT_GT(on_b, 0u);

  // 2. A streaming call held open: webhook (CallSid in the body) and WebSocket (CallSid in
  // the path) on the same worker, the upgrade through nginx's `location` for streams.
  auto long_call = std::async(std::launch::async, [&balancer] {
    return sim::run_load(
        one_call(balancer, {sim::WaitForReply{30s}, sim::Pause{30s}, sim::Hangup{}}));
  });
  int a = -1;
  auto deadline = Clock::now() + 20s;
  while (a < 0 && Clock::now() < deadline) {
    for (int i = 0; i < 2; ++i) {
      if (streams_active(client, *workers[static_cast<std::size_t>(i)]).value_or(0) >= 1) a = i;
    }
    std::this_thread::sleep_for(50ms);
  }
  ASSERT_GE(a, 0) << "the call's stream never opened\n" << nginx->output();
  ServerProcess& worker_a = *workers[static_cast<std::size_t>(a)];
  ServerProcess& worker_b = *workers[static_cast<std::size_t>(1 - a)];
  const std::size_t received_on_a = count_of(worker_a.stderr_text(), received);
  const std::size_t received_on_b = count_of(worker_b.stderr_text(), received);
  EXPECT_EQ(received_on_a, (a == 0 ? on_a : on_b) + 1)
      << "the stream's worker answered its webhook";

  // 3. SIGTERM the worker holding the stream. nginx keeps sending it the calls its hash
  // picks; it refuses them with 503 and nginx retries them on the other worker.
  worker_a.signal(SIGTERM);
  deadline = Clock::now() + 5s;
  while (Clock::now() < deadline && client.get(worker_a.base_url() + "/healthz").status != 503) {
    std::this_thread::sleep_for(20ms);
  }
  constexpr int kAfterSigterm = 20;
  for (int n = 0; n < kAfterSigterm; ++n) {
    const HttpResult answer = post_incoming_call(client, balancer, call_sid(2000 + n));
    EXPECT_EQ(answer.status, 200) << answer.body << answer.error;
  }
  EXPECT_EQ(count_of(worker_a.stderr_text(), received), received_on_a)
      << "a draining worker took a new call";
  EXPECT_EQ(count_of(worker_b.stderr_text(), received), received_on_b + kAfterSigterm);
  const double refused_by_a =
      metric_value(client, worker_a,
                   "voxgate_http_requests_total{route=\"/phone/incoming-call-streaming\","
                   "method=\"POST\",status=\"503\"}")
          .value_or(0);
  EXPECT_GT(refused_by_a, 0) << "none of 20 CallSids hashed to the draining worker";

  // The held stream is closed at the drain deadline with 1001, through nginx.
  const std::vector<sim::CallResult> held = long_call.get();
  ASSERT_EQ(held.size(), 1u);
  EXPECT_EQ(held[0].close_code, 1001) << held[0].close_reason << " " << held[0].error;
  EXPECT_EQ(worker_a.wait_for_exit(10s), 0) << worker_a.stderr_text();
  std::filesystem::remove(config);
}

}  // namespace
}  // namespace voxgate::testing
