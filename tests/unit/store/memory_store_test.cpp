// The memory store's own promises beyond the SessionStore contract (which
// tests/contract/ checks): expiry judged by the injected clock to the millisecond, and the
// memory bound, which reclaims expired keys before refusing a write.
#include "store/memory/memory_store.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <boost/asio/io_context.hpp>
#include <optional>

namespace voxgate::store {
namespace {

using namespace std::chrono_literals;
using util::ErrorCode;

class ManualClock {
 public:
  std::chrono::steady_clock::time_point now() const { return start_ + elapsed_ms_.load() * 1ms; }
  void advance(std::chrono::milliseconds by) { elapsed_ms_ += by.count(); }

 private:
  const std::chrono::steady_clock::time_point start_ = std::chrono::steady_clock::now();
  std::atomic<std::int64_t> elapsed_ms_{0};
};

class MemoryStoreTest : public ::testing::Test {
 protected:
  std::unique_ptr<SessionStore> make(std::size_t max_bytes = std::size_t{1} << 20) {
    return make_memory_store({.now = [this] { return clock_.now(); }, .max_bytes = max_bytes});
  }

  template <class T>
  util::Result<T> run(const std::function<void(Callback<T>)>& start) {
    std::optional<util::Result<T>> out;
    start([&](util::Result<T> result) { out.emplace(std::move(result)); });
    EXPECT_FALSE(out.has_value()) << "ran inline";
    io_.restart();
    io_.run();
    if (!out) return util::Error{ErrorCode::kInternal, "no callback"};
    return std::move(*out);
  }
  util::Result<Done> put(SessionStore& store, std::string key, std::string value,
                         std::chrono::milliseconds ttl) {
    return run<Done>([&](Callback<Done> done) {
      store.put(key, std::move(value), ttl, io_.get_executor(), std::move(done));
    });
  }
  std::optional<std::string> get(SessionStore& store, std::string key) {
    auto result = run<std::optional<std::string>>([&](Callback<std::optional<std::string>> done) {
      store.get(key, io_.get_executor(), std::move(done));
    });
    EXPECT_TRUE(result);
    return result ? *result : std::nullopt;
  }

  ManualClock clock_;
  boost::asio::io_context io_;
};

TEST_F(MemoryStoreTest, ExpiresExactlyAtItsTtl) {
  auto store = make();
  ASSERT_TRUE(put(*store, "k", "v", 1000ms));
  clock_.advance(999ms);
  EXPECT_EQ(get(*store, "k").value_or("<none>"), "v");
  clock_.advance(1ms);
  EXPECT_FALSE(get(*store, "k").has_value());
}

TEST_F(MemoryStoreTest, RefusesWritesOverTheMemoryBound) {
  auto store = make(1000);
  ASSERT_TRUE(put(*store, "a", std::string(600, 'x'), 1000ms));
  auto refused = put(*store, "b", std::string(600, 'y'), 60s);
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().code, ErrorCode::kUnavailable);
  EXPECT_NE(refused.error().message.find("full"), std::string::npos);
  EXPECT_EQ(store->stats().unavailable, 1u);
  EXPECT_EQ(get(*store, "a").value_or("").size(), 600u) << "a refused write changes nothing";

  // Replacing a value counts the old one out.
  for (int i = 0; i < 10; ++i) ASSERT_TRUE(put(*store, "a", std::string(900, 'z'), 1000ms));

  // An expired key is reclaimed for a write that needs the room, read or not.
  clock_.advance(1000ms);
  EXPECT_TRUE(put(*store, "b", std::string(900, 'y'), 60s));
}

TEST_F(MemoryStoreTest, RemovedAndTakenKeysGiveTheirMemoryBack) {
  auto store = make(1000);
  ASSERT_TRUE(put(*store, "a", std::string(900, 'x'), 60s));
  auto taken = run<std::optional<std::string>>([&](Callback<std::optional<std::string>> done) {
    store->take("a", io_.get_executor(), std::move(done));
  });
  ASSERT_TRUE(taken && taken->has_value());
  ASSERT_TRUE(put(*store, "b", std::string(900, 'y'), 60s));
  auto removed = run<std::size_t>([&](Callback<std::size_t> done) {
    store->remove({"b"}, io_.get_executor(), std::move(done));
  });
  ASSERT_TRUE(removed);
  EXPECT_EQ(*removed, 1u);
  EXPECT_TRUE(put(*store, "c", std::string(900, 'z'), 60s));
}

TEST_F(MemoryStoreTest, ListsAndHashesCountTowardsTheBound) {
  auto store = make(1000);
  std::optional<util::Error> refusal;
  for (int i = 0; i < 100 && !refusal; ++i) {
    auto appended = run<std::size_t>([&](Callback<std::size_t> done) {
      store->append("list", std::string(100, 'x'), 1000, 60s, io_.get_executor(), std::move(done));
    });
    if (!appended) refusal = appended.error();
  }
  ASSERT_TRUE(refusal) << "a list grew past the memory bound";
  EXPECT_EQ(refusal->code, ErrorCode::kUnavailable);

  auto fields = run<Done>([&](Callback<Done> done) {
    store->set_fields("hash", {{"f", std::string(200, 'y')}}, 60s, io_.get_executor(),
                      std::move(done));
  });
  ASSERT_FALSE(fields);
  EXPECT_EQ(fields.error().code, ErrorCode::kUnavailable);
}

}  // namespace
}  // namespace voxgate::store
