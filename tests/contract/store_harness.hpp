// Synchronous wrappers around a SessionStore for the contract tests: each starts one
// operation with an io_context's executor, checks that the callback was not run inline,
// runs the io_context until it arrives, and checks that it arrived exactly once. Also the
// backends under test, built the same way for every suite.
#pragma once

#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>
#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "redis_server.hpp"
#include "run_until.hpp"
#include "store/memory/memory_store.hpp"
#include "store/redis/redis_store.hpp"
#include "store/session_store.hpp"

namespace voxgate::store::testing {

using namespace std::chrono_literals;

// Generous: a loaded two-core machine running other builds must not fail a test on time.
inline constexpr std::chrono::milliseconds kCallbackLimit = 30s;

// Polls `condition` every 10 ms until it holds or `limit` passes.
inline bool eventually(const std::function<bool()>& condition,
                       std::chrono::milliseconds limit = 30s) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (!condition()) {
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(10ms);
  }
  return true;
}

// Owns the store and the io_context its callbacks go to, the store declared last so it is
// destroyed first: the contract wants executors to outlive the store (its thread may still
// be returning from a post when the callback has already run).
class StoreHarness {
 public:
  explicit StoreHarness(std::unique_ptr<SessionStore> store) : store_(std::move(store)) {}

  SessionStore* store() { return store_.get(); }
  void destroy_store() { store_.reset(); }
  boost::asio::io_context& io() { return io_; }
  Executor executor() { return io_.get_executor(); }

  template <class T>
  util::Result<T> wait(const std::function<void(Callback<T>)>& start) {
    int calls = 0;
    std::optional<util::Result<T>> out;
    start([&](util::Result<T> result) {
      ++calls;
      out.emplace(std::move(result));
    });
    EXPECT_EQ(calls, 0) << "the callback ran inline";
    const bool arrived = test_support::run_until(
        io_, [&] { return out.has_value(); }, kCallbackLimit);
    EXPECT_TRUE(arrived) << "no callback within " << kCallbackLimit.count() << " ms";
    io_.restart();
    io_.poll();
    EXPECT_EQ(calls, 1) << "the callback ran more than once";
    if (!out) return util::Error{util::ErrorCode::kInternal, "test: no callback"};
    return std::move(*out);
  }

  util::Result<Done> put(std::string_view key, std::string value,
                         std::chrono::milliseconds ttl = 60s) {
    return wait<Done>([&](Callback<Done> done) {
      store_->put(key, std::move(value), ttl, executor(), std::move(done));
    });
  }
  util::Result<std::optional<std::string>> get(std::string_view key) {
    return wait<std::optional<std::string>>([&](Callback<std::optional<std::string>> done) {
      store_->get(key, executor(), std::move(done));
    });
  }
  util::Result<std::optional<std::string>> take(std::string_view key) {
    return wait<std::optional<std::string>>([&](Callback<std::optional<std::string>> done) {
      store_->take(key, executor(), std::move(done));
    });
  }
  util::Result<bool> put_if_absent(std::string_view key, std::string value,
                                   std::chrono::milliseconds ttl = 60s) {
    return wait<bool>([&](Callback<bool> done) {
      store_->put_if_absent(key, std::move(value), ttl, executor(), std::move(done));
    });
  }
  util::Result<Done> set_fields(std::string_view key, Fields fields,
                                std::chrono::milliseconds ttl = 60s) {
    return wait<Done>([&](Callback<Done> done) {
      store_->set_fields(key, std::move(fields), ttl, executor(), std::move(done));
    });
  }
  util::Result<Fields> get_fields(std::string_view key) {
    return wait<Fields>(
        [&](Callback<Fields> done) { store_->get_fields(key, executor(), std::move(done)); });
  }
  util::Result<std::int64_t> increment_field(std::string_view key, std::string_view field,
                                             std::int64_t by, std::chrono::milliseconds ttl = 60s) {
    return wait<std::int64_t>([&](Callback<std::int64_t> done) {
      store_->increment_field(key, field, by, ttl, executor(), std::move(done));
    });
  }
  util::Result<std::size_t> append(std::string_view key, std::string value,
                                   std::size_t max_items = 1000,
                                   std::chrono::milliseconds ttl = 60s) {
    return wait<std::size_t>([&](Callback<std::size_t> done) {
      store_->append(key, std::move(value), max_items, ttl, executor(), std::move(done));
    });
  }
  util::Result<std::vector<std::string>> range(std::string_view key) {
    return wait<std::vector<std::string>>([&](Callback<std::vector<std::string>> done) {
      store_->range(key, executor(), std::move(done));
    });
  }
  util::Result<std::vector<std::string>> take_range(std::string_view key) {
    return wait<std::vector<std::string>>([&](Callback<std::vector<std::string>> done) {
      store_->take_range(key, executor(), std::move(done));
    });
  }
  util::Result<std::size_t> remove(std::vector<std::string> keys) {
    return wait<std::size_t>([&](Callback<std::size_t> done) {
      store_->remove(std::move(keys), executor(), std::move(done));
    });
  }

 private:
  boost::asio::io_context io_;
  std::unique_ptr<SessionStore> store_;
};

// Options that make a Redis store notice an outage and a recovery quickly in tests.
inline RedisStoreOptions quick_redis_options(std::string url) {
  RedisStoreOptions options;
  options.url = std::move(url);
  options.prefix = "voxgate-test:";
  options.connect_timeout = 1000ms;
  options.command_timeout = 3000ms;
  options.reconnect_min = 20ms;
  options.reconnect_max = 200ms;
  options.health_check_interval = 100ms;
  return options;
}

}  // namespace voxgate::store::testing
