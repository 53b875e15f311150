// What the Redis store promises beyond the shared contract (store/redis/redis_store.hpp),
// against a real redis-server the test stops, freezes and restarts: failing fast while Redis
// is down and recovering by itself, timeouts and the queue bound when Redis hangs, AUTH and
// SELECT from the URL with the password kept out of logs and errors, the key prefix, and
// every callback answered when the store is destroyed.
#include <gtest/gtest.h>
#include <spdlog/sinks/base_sink.h>
#include <spdlog/spdlog.h>

#include <atomic>
#include <mutex>

#include "store_harness.hpp"

namespace voxgate::store::testing {
namespace {

using test_support::RedisServer;
using util::ErrorCode;

std::unique_ptr<SessionStore> make_store(const RedisStoreOptions& options) {
  auto made = make_redis_store(options);
  EXPECT_TRUE(made) << made.error().message;
  return made ? std::move(*made) : nullptr;
}

// Captures what is logged through spdlog's default logger while alive. The text is read
// under the sink's own mutex: the store's thread logs while the test reads.
class CaptureSink final : public spdlog::sinks::base_sink<std::mutex> {
 public:
  std::string text() {
    const std::lock_guard lock(mutex_);
    return text_;
  }

 protected:
  void sink_it_(const spdlog::details::log_msg& msg) override {
    spdlog::memory_buf_t formatted;
    formatter_->format(msg, formatted);
    text_.append(formatted.data(), formatted.size());
  }
  void flush_() override {}

 private:
  std::string text_;
};

class LogCapture {
 public:
  LogCapture() : previous_(spdlog::default_logger()), sink_(std::make_shared<CaptureSink>()) {
    spdlog::set_default_logger(std::make_shared<spdlog::logger>("capture", sink_));
    spdlog::set_level(spdlog::level::debug);
  }
  ~LogCapture() { spdlog::set_default_logger(previous_); }
  std::string text() { return sink_->text(); }

 private:
  std::shared_ptr<spdlog::logger> previous_;
  std::shared_ptr<CaptureSink> sink_;
};

// Results of many operations started at once, counted by outcome.
struct Tally {
  std::atomic<int> done{0};
  std::atomic<int> ok{0};
  std::atomic<int> unavailable{0};
  std::atomic<int> timeout{0};
  std::atomic<int> cancelled{0};
  std::atomic<int> other{0};
  std::atomic<int> queue_full{0};

  template <class T>
  Callback<T> callback() {
    return [this](util::Result<T> result) {
      if (result) {
        ++ok;
      } else {
        switch (result.error().code) {
          case ErrorCode::kUnavailable:
            ++unavailable;
            break;
          case ErrorCode::kTimeout:
            ++timeout;
            break;
          case ErrorCode::kCancelled:
            ++cancelled;
            break;
          default:
            ++other;
            break;
        }
        if (result.error().message.find("queue full") != std::string::npos) ++queue_full;
      }
      ++done;
    };
  }
};

TEST(RedisStore, FailsFastWhileRedisIsDownAndRecoversWhenItComesBack) {
  RedisServer redis;
  ASSERT_TRUE(redis.start()) << redis.error();
  StoreHarness s(make_store(quick_redis_options(redis.url())));
  SessionStore* store = s.store();
  ASSERT_TRUE(store);
  ASSERT_TRUE(eventually([&] { return store->available(); }));
  ASSERT_TRUE(s.put("before", "v"));

  redis.stop(SIGKILL);
  bool saw_unavailable = false;
  const auto deadline = std::chrono::steady_clock::now() + 30s;
  while (!saw_unavailable && std::chrono::steady_clock::now() < deadline) {
    const auto started = std::chrono::steady_clock::now();
    auto result = s.get("before");
    EXPECT_LT(std::chrono::steady_clock::now() - started, 10s) << "an operation hung";
    if (!result) {
      EXPECT_EQ(result.error().code, ErrorCode::kUnavailable) << result.error().message;
      saw_unavailable = true;
    }
  }
  ASSERT_TRUE(saw_unavailable) << "operations kept succeeding with Redis gone";
  EXPECT_TRUE(eventually([&] { return !store->available(); }, 10s));

  // While it is down, a burst of operations is answered at once; nothing piles up.
  constexpr int kBurst = 2000;
  Tally tally;
  const auto burst_started = std::chrono::steady_clock::now();
  for (int i = 0; i < kBurst; ++i) {
    store->put("k" + std::to_string(i), "v", 60s, s.executor(), tally.callback<Done>());
  }
  ASSERT_TRUE(test_support::run_until(
      s.io(), [&] { return tally.done == kBurst; }, 30s));
  EXPECT_LT(std::chrono::steady_clock::now() - burst_started, 10s);
  EXPECT_EQ(tally.unavailable.load(), kBurst);
  EXPECT_GE(store->stats().unavailable, static_cast<std::uint64_t>(kBurst));
  EXPECT_GE(store->stats().connections_lost, 1u);
  EXPECT_EQ(store->stats().queued, 0u);

  ASSERT_TRUE(redis.start()) << redis.error();  // the same port: a restarted Redis
  EXPECT_TRUE(eventually([&] { return store->available(); })) << "never reconnected";
  EXPECT_TRUE(s.put("after", "v"));
  EXPECT_EQ(s.get("after")->value_or("<none>"), "v");
}

TEST(RedisStore, NoticesAnOutageWhileIdle) {
  RedisServer redis;
  ASSERT_TRUE(redis.start()) << redis.error();
  auto store = make_store(quick_redis_options(redis.url()));
  ASSERT_TRUE(store);
  ASSERT_TRUE(eventually([&] { return store->available(); }));
  redis.stop(SIGTERM);
  EXPECT_TRUE(eventually([&] { return !store->available(); }, 10s))
      << "the health check did not notice";
  ASSERT_TRUE(redis.start()) << redis.error();
  EXPECT_TRUE(eventually([&] { return store->available(); }));
}

TEST(RedisStore, AHungRedisTimesOutAndTheQueueStaysBounded) {
  RedisServer redis;
  ASSERT_TRUE(redis.start()) << redis.error();
  auto options = quick_redis_options(redis.url());
  options.command_timeout = 500ms;
  options.connect_timeout = 500ms;
  options.max_queued_commands = 8;
  // No idle PING: one caught in flight by the pause would make the hang look like a lost
  // connection to the commands queued behind it, and none of them would time out.
  options.health_check_interval = 60s;
  StoreHarness s(make_store(options));
  SessionStore* store = s.store();
  ASSERT_TRUE(store);
  ASSERT_TRUE(eventually([&] { return store->available(); }));

  redis.pause();
  constexpr int kOperations = 200;
  Tally tally;
  const auto started = std::chrono::steady_clock::now();
  for (int i = 0; i < kOperations; ++i) {
    store->put("k" + std::to_string(i), "v", 60s, s.executor(), tally.callback<Done>());
  }
  ASSERT_TRUE(test_support::run_until(
      s.io(), [&] { return tally.done == kOperations; }, 30s))
      << tally.done << " of " << kOperations << " answered";
  EXPECT_LT(std::chrono::steady_clock::now() - started, 15s);
  EXPECT_EQ(tally.ok.load(), 0);
  EXPECT_EQ(tally.other.load() + tally.cancelled.load(), 0);
  EXPECT_GE(tally.timeout.load(), 1) << "what was sent should have timed out";
  EXPECT_GE(tally.queue_full.load(), 1) << "more than the bound was queued";
  EXPECT_EQ(store->stats().queue_full, static_cast<std::uint64_t>(tally.queue_full.load()));
  EXPECT_EQ(store->stats().timeouts, static_cast<std::uint64_t>(tally.timeout.load()));
  EXPECT_TRUE(eventually([&] { return !store->available(); }, 10s));

  redis.resume();
  EXPECT_TRUE(eventually([&] { return store->available(); })) << "never recovered";
  EXPECT_TRUE(s.put("after", "v"));
}

TEST(RedisStore, AuthenticatesAndSelectsTheDatabaseWithoutLeakingThePassword) {
  const std::string password = "pw-Zq81-secret";
  RedisServer redis({"--requirepass", password});
  ASSERT_TRUE(redis.start()) << redis.error();
  LogCapture logs;

  StoreHarness s(
      make_store(quick_redis_options("redis://:" + password + "@" + redis.host_port() + "/3")));
  SessionStore* store = s.store();
  ASSERT_TRUE(store);
  ASSERT_TRUE(eventually([&] { return store->available(); })) << logs.text();
  ASSERT_TRUE(s.put("k", "v"));
  EXPECT_EQ(redis.command({"AUTH " + password, "SELECT 3", "EXISTS voxgate-test:k"}), ":1");
  EXPECT_EQ(redis.command({"AUTH " + password, "SELECT 0", "EXISTS voxgate-test:k"}), ":0");

  const std::string wrong = "not-the-pw-77";
  StoreHarness r(make_store(quick_redis_options("redis://:" + wrong + "@" + redis.host_port())));
  SessionStore* refused = r.store();
  ASSERT_TRUE(refused);
  auto result = r.get("k");
  ASSERT_FALSE(result);
  EXPECT_EQ(result.error().code, ErrorCode::kUnavailable);
  EXPECT_EQ(result.error().message.find(wrong), std::string::npos);
  EXPECT_TRUE(eventually([&] { return logs.text().find("AUTH refused") != std::string::npos; }))
      << logs.text();
  EXPECT_FALSE(refused->available());

  redis.stop(SIGKILL);  // connection-loss and reconnect messages too
  EXPECT_TRUE(eventually([&] { return !store->available(); }));
  auto lost = s.get("k");
  ASSERT_FALSE(lost);
  EXPECT_EQ(lost.error().message.find(password), std::string::npos);
  r.destroy_store();
  s.destroy_store();
  const std::string logged = logs.text();
  EXPECT_NE(logged.find("Redis store"), std::string::npos) << "nothing was logged";
  EXPECT_EQ(logged.find(password), std::string::npos) << logged;
  EXPECT_EQ(logged.find(wrong), std::string::npos) << logged;
}

TEST(RedisStore, KeysLiveUnderThePrefix) {
  RedisServer redis;
  ASSERT_TRUE(redis.start()) << redis.error();
  auto first_options = quick_redis_options(redis.url());
  first_options.prefix = "app-one:";
  auto second_options = first_options;
  second_options.prefix = "app-two:";
  StoreHarness a(make_store(first_options));
  StoreHarness b(make_store(second_options));
  ASSERT_TRUE(a.store() && b.store());
  ASSERT_TRUE(eventually([&] { return a.store()->available() && b.store()->available(); }));
  ASSERT_TRUE(a.put("call:CA1", "one"));
  ASSERT_TRUE(b.put("call:CA1", "two"));
  EXPECT_EQ(a.get("call:CA1")->value_or("<none>"), "one");
  EXPECT_EQ(b.get("call:CA1")->value_or("<none>"), "two");
  EXPECT_EQ(redis.command("EXISTS app-one:call:CA1"), ":1");
  EXPECT_EQ(redis.command("EXISTS call:CA1"), ":0");
  EXPECT_EQ(redis.command("DBSIZE"), ":2");
  EXPECT_EQ(*a.remove({"call:CA1"}), 1u);
  EXPECT_EQ(b.get("call:CA1")->value_or("<none>"), "two");
  // Every write set a TTL: nothing is left to live forever.
  EXPECT_NE(redis.command("PTTL app-two:call:CA1"), ":-1");
}

TEST(RedisStore, DestroyingTheStoreAnswersEverythingPending) {
  RedisServer redis;
  ASSERT_TRUE(redis.start()) << redis.error();
  auto options = quick_redis_options(redis.url());
  options.command_timeout = 2000ms;
  boost::asio::io_context io;  // outlives the store, as the contract wants
  auto store = make_store(options);
  ASSERT_TRUE(store);
  ASSERT_TRUE(eventually([&] { return store->available(); }));
  Tally tally;
  redis.pause();
  constexpr int kOperations = 50;
  for (int i = 0; i < kOperations; ++i) {
    store->get("k", io.get_executor(), tally.callback<std::optional<std::string>>());
  }
  const auto started = std::chrono::steady_clock::now();
  store.reset();
  EXPECT_LT(std::chrono::steady_clock::now() - started, 10s);
  ASSERT_TRUE(test_support::run_until(
      io, [&] { return tally.done == kOperations; }, 10s));
  io.restart();
  io.poll();
  EXPECT_EQ(tally.done.load(), kOperations) << "a callback ran twice";
  EXPECT_EQ(tally.ok.load(), 0);
  EXPECT_EQ(tally.other.load(), 0);
}

TEST(RedisStore, UnreachableAtStartIsUnavailableAtOnce) {
  RedisServer redis;  // started and stopped again: a port nobody listens on
  ASSERT_TRUE(redis.start()) << redis.error();
  const std::string url = redis.url();
  redis.stop(SIGKILL);
  StoreHarness s(make_store(quick_redis_options(url)));
  SessionStore* store = s.store();
  ASSERT_TRUE(store);
  EXPECT_FALSE(store->available());
  const auto started = std::chrono::steady_clock::now();
  auto result = s.put("k", "v");
  EXPECT_LT(std::chrono::steady_clock::now() - started, 5s);
  ASSERT_FALSE(result);
  EXPECT_EQ(result.error().code, ErrorCode::kUnavailable);
  EXPECT_FALSE(store->available());
}

TEST(RedisStore, RefusesBadUrlsAndOptionsWithoutEchoingThem) {
  const std::string password = "pw-in-a-bad-url";
  for (const std::string& url :
       {"rediss://:" + password + "@host:6379", "redis://:" + password + "@host:notaport",
        "http://:" + password + "@host", "redis://:" + password + "@host/db?x=1"}) {
    auto made = make_redis_store({.url = url});
    ASSERT_FALSE(made) << "accepted a bad url";
    EXPECT_EQ(made.error().code, ErrorCode::kInvalidInput);
    EXPECT_EQ(made.error().message.find(password), std::string::npos) << made.error().message;
  }
  auto zero_queue = make_redis_store({.url = "127.0.0.1:6379", .max_queued_commands = 0});
  ASSERT_FALSE(zero_queue);
  EXPECT_EQ(zero_queue.error().code, ErrorCode::kInvalidInput);
}

}  // namespace
}  // namespace voxgate::store::testing
