// The SessionStore contract (store/session_store.hpp), run unchanged against every backend:
// the memory store and the Redis store on a real redis-server of the test's own. A backend
// passes when it answers like the contract says, including where it is awkward: binary
// values of megabytes, keys with odd characters, concurrent writers, TTL expiry, refusals.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <boost/asio/post.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/thread_pool.hpp>
#include <mutex>
#include <set>

#include "store_harness.hpp"

namespace voxgate::store::testing {
namespace {

using util::ErrorCode;

class SessionStoreContract : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    if (GetParam() == "memory") {
      harness_ = std::make_unique<StoreHarness>(make_memory_store());
    } else {
      redis_ = std::make_unique<test_support::RedisServer>();
      ASSERT_TRUE(redis_->start()) << redis_->error();
      auto made = make_redis_store(quick_redis_options(redis_->url()));
      ASSERT_TRUE(made) << made.error().message;
      harness_ = std::make_unique<StoreHarness>(std::move(*made));
      ASSERT_TRUE(eventually([&] { return store().available(); })) << "never connected";
    }
  }

  void TearDown() override {
    harness_.reset();
    redis_.reset();
  }

  StoreHarness& s() { return *harness_; }
  SessionStore& store() { return *harness_->store(); }

  // Callbacks of the concurrency tests run here. Destroyed after TearDown has destroyed the
  // store: executors outlive the store.
  boost::asio::thread_pool pool_{4};
  std::unique_ptr<test_support::RedisServer> redis_;
  std::unique_ptr<StoreHarness> harness_;
};

// Every byte value, in an order that is not just a counter, so a shifted or truncated copy
// cannot compare equal.
std::string binary_blob(std::size_t n_bytes, unsigned seed) {
  std::string blob(n_bytes, '\0');
  std::uint32_t x = seed * 2654435761u + 1;
  for (std::size_t i = 0; i < n_bytes; ++i) {
    x = x * 1664525u + 1013904223u;
    blob[i] = static_cast<char>(i < 256 ? i : x >> 24);
  }
  return blob;
}

// Keys a call's code could build from a CallSid, a caller's words or a URL.
std::vector<std::string> odd_keys() {
  return {"call sid with spaces",
          "call:CA123:turns",
          "call:CA123",  // a prefix of the one above: must not alias it
          "100%",
          "%s%n%d",
          "line\nbreak\r\n",
          "*3\r\n$3\r\nDEL\r\n",  // RESP framing inside a key
          std::string("nul\0inside", 10),
          "ünïcödé ☎ 📞",
          "\xff\xfe not utf-8",
          "'quotes\" and \\backslash",
          "{braces} [brackets]",
          std::string(1000, 'k')};
}

TEST_P(SessionStoreContract, IsAvailableAndNamed) {
  EXPECT_TRUE(store().available());
  EXPECT_EQ(store().name(), GetParam());
}

TEST_P(SessionStoreContract, PutGetOverwrite) {
  auto missing = s().get("nothing-here");
  ASSERT_TRUE(missing) << missing.error().message;
  EXPECT_FALSE(missing->has_value());

  ASSERT_TRUE(s().put("k", "one"));
  auto got = s().get("k");
  ASSERT_TRUE(got);
  EXPECT_EQ(got->value_or("<none>"), "one");

  ASSERT_TRUE(s().put("k", "two"));
  EXPECT_EQ(s().get("k")->value_or("<none>"), "two");

  ASSERT_TRUE(s().put("empty", ""));
  auto empty = s().get("empty");
  ASSERT_TRUE(empty);
  ASSERT_TRUE(empty->has_value()) << "an empty value is a value, not a missing key";
  EXPECT_EQ(**empty, "");
}

TEST_P(SessionStoreContract, TakeGetsAndDeletes) {
  ASSERT_TRUE(s().put("chunks", "audio"));
  auto taken = s().take("chunks");
  ASSERT_TRUE(taken) << taken.error().message;
  EXPECT_EQ(taken->value_or("<none>"), "audio");
  EXPECT_FALSE(s().get("chunks")->has_value());
  auto again = s().take("chunks");
  ASSERT_TRUE(again);
  EXPECT_FALSE(again->has_value());
}

TEST_P(SessionStoreContract, PutIfAbsentOnlyTheFirstWins) {
  auto first = s().put_if_absent("decision", "recording");
  ASSERT_TRUE(first) << first.error().message;
  EXPECT_TRUE(*first);
  auto second = s().put_if_absent("decision", "hybrid");
  ASSERT_TRUE(second);
  EXPECT_FALSE(*second);
  EXPECT_EQ(s().get("decision")->value_or("<none>"), "recording");

  ASSERT_TRUE(s().set_fields("a-hash", {{"f", "v"}}));
  EXPECT_FALSE(*s().put_if_absent("a-hash", "x")) << "a key of another kind exists too";
}

TEST_P(SessionStoreContract, FieldsMergeAndReadBack) {
  auto none = s().get_fields("call:CA1");
  ASSERT_TRUE(none) << none.error().message;
  EXPECT_TRUE(none->empty());

  ASSERT_TRUE(s().set_fields("call:CA1", {{"state", "ringing"}, {"mode", "streaming"}}));
  ASSERT_TRUE(s().set_fields("call:CA1", {{"state", "in-progress"}, {"worker", "w2"}}));
  auto fields = s().get_fields("call:CA1");
  ASSERT_TRUE(fields);
  EXPECT_EQ(*fields, (Fields{{"mode", "streaming"}, {"state", "in-progress"}, {"worker", "w2"}}));

  ASSERT_TRUE(s().set_fields("call:CA1", {{"", "empty name"}, {"empty value", ""}}));
  fields = s().get_fields("call:CA1");
  ASSERT_TRUE(fields);
  EXPECT_EQ(fields->size(), 5u);
  EXPECT_EQ(fields->at(""), "empty name");
  EXPECT_EQ(fields->at("empty value"), "");
}

TEST_P(SessionStoreContract, IncrementField) {
  auto first = s().increment_field("call:CA2", "turns", 1);
  ASSERT_TRUE(first) << first.error().message;
  EXPECT_EQ(*first, 1);
  EXPECT_EQ(*s().increment_field("call:CA2", "turns", 41), 42);
  EXPECT_EQ(*s().increment_field("call:CA2", "turns", -50), -8);

  ASSERT_TRUE(s().set_fields("call:CA2", {{"bytes", "100"}, {"name", "Ada"}}));
  EXPECT_EQ(*s().increment_field("call:CA2", "bytes", 23), 123);
  EXPECT_EQ(s().get_fields("call:CA2")->at("turns"), "-8") << "stored as a decimal field";

  auto not_integer = s().increment_field("call:CA2", "name", 1);
  ASSERT_FALSE(not_integer);
  EXPECT_EQ(not_integer.error().code, ErrorCode::kInternal) << not_integer.error().message;

  ASSERT_TRUE(s().set_fields("call:CA2", {{"big", std::to_string(INT64_MAX - 1)}}));
  EXPECT_EQ(*s().increment_field("call:CA2", "big", 1), INT64_MAX);
  auto overflow = s().increment_field("call:CA2", "big", 1);
  ASSERT_FALSE(overflow);
  EXPECT_EQ(overflow.error().code, ErrorCode::kInvalidInput) << overflow.error().message;
  EXPECT_EQ(s().get_fields("call:CA2")->at("big"), std::to_string(INT64_MAX))
      << "a refused increment changes nothing";
}

TEST_P(SessionStoreContract, AppendAndRange) {
  auto none = s().range("call:CA3:turns");
  ASSERT_TRUE(none) << none.error().message;
  EXPECT_TRUE(none->empty());

  for (std::size_t i = 1; i <= 5; ++i) {
    auto length = s().append("call:CA3:turns", "turn " + std::to_string(i));
    ASSERT_TRUE(length) << length.error().message;
    EXPECT_EQ(*length, i);
  }
  ASSERT_TRUE(s().append("call:CA3:turns", ""));
  auto items = s().range("call:CA3:turns");
  ASSERT_TRUE(items);
  EXPECT_EQ(*items,
            (std::vector<std::string>{"turn 1", "turn 2", "turn 3", "turn 4", "turn 5", ""}));
}

TEST_P(SessionStoreContract, FullListRefusesAndKeepsWhatItHas) {
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(s().append("chunks", "c" + std::to_string(i), 3));
  auto refused = s().append("chunks", "one too many", 3);
  ASSERT_FALSE(refused) << "a full list must refuse, not drop";
  EXPECT_EQ(refused.error().code, ErrorCode::kInvalidInput);
  EXPECT_NE(refused.error().message.find("full"), std::string::npos) << refused.error().message;
  EXPECT_EQ(*s().range("chunks"), (std::vector<std::string>{"c0", "c1", "c2"}));
  // A larger bound (another caller's) lets it grow again.
  EXPECT_EQ(*s().append("chunks", "c3", 4), 4u);
}

TEST_P(SessionStoreContract, TakeRangeGetsTheListAndDeletesIt) {
  auto none = s().take_range("chunks:CA4");
  ASSERT_TRUE(none) << none.error().message;
  EXPECT_TRUE(none->empty());

  const std::string audio = binary_blob(100000, 4);
  ASSERT_TRUE(s().append("chunks:CA4", "first"));
  ASSERT_TRUE(s().append("chunks:CA4", audio));
  ASSERT_TRUE(s().append("chunks:CA4", ""));
  auto taken = s().take_range("chunks:CA4");
  ASSERT_TRUE(taken) << taken.error().message;
  EXPECT_EQ(*taken, (std::vector<std::string>{"first", audio, ""}));
  EXPECT_TRUE(s().range("chunks:CA4")->empty()) << "taken means deleted";
  EXPECT_EQ(*s().remove({"chunks:CA4"}), 0u);
  // The next append starts a new list.
  EXPECT_EQ(*s().append("chunks:CA4", "again"), 1u);
}

// Appenders and takers at once, as uploads meeting a `complete` on another worker: every
// item ends up either in exactly one take or in the list left at the end.
TEST_P(SessionStoreContract, TakeRangeRacingAppendsLosesAndRepeatsNothing) {
  constexpr int kAppenders = 4;
  constexpr int kItemsEach = 100;
  constexpr int kTakes = 40;
  auto& pool = pool_;
  std::mutex mutex;
  std::multiset<std::string> seen;
  std::atomic<int> appended{0};
  std::atomic<int> taken{0};
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int a = 0; a < kAppenders; ++a) {
    threads.emplace_back([&, a] {
      for (int i = 0; i < kItemsEach; ++i) {
        store().append("race", std::to_string(a) + ":" + std::to_string(i), 100000, 60s,
                       pool.get_executor(), [&](util::Result<std::size_t> r) {
                         if (!r) ++failures;
                         ++appended;
                       });
      }
    });
  }
  threads.emplace_back([&] {
    for (int t = 0; t < kTakes; ++t) {
      store().take_range("race", pool.get_executor(),
                         [&](util::Result<std::vector<std::string>> r) {
                           if (!r) {
                             ++failures;
                           } else {
                             const std::lock_guard lock(mutex);
                             seen.insert(r->begin(), r->end());
                           }
                           ++taken;
                         });
      std::this_thread::sleep_for(1ms);
    }
  });
  for (auto& thread : threads) thread.join();
  ASSERT_TRUE(eventually([&] { return appended == kAppenders * kItemsEach && taken == kTakes; }));
  EXPECT_EQ(failures.load(), 0);
  auto rest = s().take_range("race");
  ASSERT_TRUE(rest);
  seen.insert(rest->begin(), rest->end());
  ASSERT_EQ(seen.size(), std::size_t{kAppenders * kItemsEach});
  for (int a = 0; a < kAppenders; ++a) {
    for (int i = 0; i < kItemsEach; ++i) {
      EXPECT_EQ(seen.count(std::to_string(a) + ":" + std::to_string(i)), 1u) << a << ":" << i;
    }
  }
}

TEST_P(SessionStoreContract, RemoveDeletesEveryKindAndCounts) {
  ASSERT_TRUE(s().put("call:CA4:token", "t"));
  ASSERT_TRUE(s().set_fields("call:CA4", {{"state", "done"}}));
  ASSERT_TRUE(s().append("call:CA4:turns", "hello"));
  ASSERT_TRUE(s().put("call:CA5", "another call"));

  auto removed =
      s().remove({"call:CA4:token", "call:CA4", "call:CA4:turns", "call:CA4:never-written"});
  ASSERT_TRUE(removed) << removed.error().message;
  EXPECT_EQ(*removed, 3u);
  EXPECT_FALSE(s().get("call:CA4:token")->has_value());
  EXPECT_TRUE(s().get_fields("call:CA4")->empty());
  EXPECT_TRUE(s().range("call:CA4:turns")->empty());
  EXPECT_EQ(s().get("call:CA5")->value_or("<none>"), "another call") << "only what was named";

  EXPECT_EQ(*s().remove({}), 0u);
  EXPECT_EQ(*s().remove({"call:CA4"}), 0u);
}

TEST_P(SessionStoreContract, ExpiredKeysReadAsMissing) {
  ASSERT_TRUE(s().put("short", "v", 100ms));
  ASSERT_TRUE(s().set_fields("short-hash", {{"f", "v"}}, 100ms));
  ASSERT_TRUE(s().append("short-list", "v", 10, 100ms));
  ASSERT_TRUE(s().increment_field("short-counter", "n", 1, 100ms));
  ASSERT_TRUE(s().put_if_absent("short-once", "v", 100ms));
  ASSERT_TRUE(s().put("long", "v", 60s));

  EXPECT_TRUE(eventually([&] {
    return !s().get("short")->has_value() && s().get_fields("short-hash")->empty() &&
           s().range("short-list")->empty() && s().get_fields("short-counter")->empty() &&
           !s().get("short-once")->has_value();
  })) << "short TTLs never expired";
  EXPECT_TRUE(*s().put_if_absent("short-once", "again")) << "an expired key is absent";
  EXPECT_EQ(s().get("long")->value_or("<none>"), "v");
  EXPECT_EQ(*s().remove({"short"}), 0u) << "an expired key does not count as removed";
}

TEST_P(SessionStoreContract, EachWriteSetsTheTtl) {
  // Written with a long TTL, then written again with a short one: the later write's TTL
  // holds, for every kind of write.
  ASSERT_TRUE(s().append("list", "a", 10, 60s));
  ASSERT_TRUE(s().append("list", "b", 10, 100ms));
  ASSERT_TRUE(s().set_fields("hash", {{"f", "v"}}, 60s));
  ASSERT_TRUE(s().increment_field("hash", "n", 1, 100ms));
  ASSERT_TRUE(s().put("value", "v", 60s));
  ASSERT_TRUE(s().put("value", "v", 100ms));
  EXPECT_TRUE(eventually([&] {
    return s().range("list")->empty() && s().get_fields("hash")->empty() &&
           !s().get("value")->has_value();
  }));

  // And the other way round: a short TTL extended by a later write outlives it. "gone" is
  // written after the first write with the same TTL, so once it has expired, so would have
  // "kept" without the second write. The TTL leaves a loaded machine 1.5 s between writes.
  ASSERT_TRUE(s().set_fields("kept", {{"f", "v"}}, 1500ms));
  ASSERT_TRUE(s().set_fields("kept", {{"g", "w"}}, 60s));
  ASSERT_TRUE(s().put("gone", "v", 1500ms));
  EXPECT_TRUE(eventually([&] { return !s().get("gone")->has_value(); }));
  EXPECT_EQ(s().get_fields("kept")->size(), 2u);
}

TEST_P(SessionStoreContract, RefusedWritesLeaveTheTtlAlone) {
  // 1.5 s: time for the second write on a loaded machine before the first expires.
  ASSERT_TRUE(s().put_if_absent("once", "v", 1500ms));
  EXPECT_FALSE(*s().put_if_absent("once", "w", 60s));
  ASSERT_TRUE(s().append("full", "v", 1, 1500ms));
  EXPECT_FALSE(s().append("full", "w", 1, 60s));
  EXPECT_TRUE(
      eventually([&] { return !s().get("once")->has_value() && s().range("full")->empty(); }));
}

TEST_P(SessionStoreContract, WrongKindOfValueIsAnInternalError) {
  ASSERT_TRUE(s().put("plain", "v"));
  ASSERT_TRUE(s().set_fields("hash", {{"f", "v"}}));
  ASSERT_TRUE(s().append("list", "v"));
  const auto expect_internal = [](const auto& result, const char* what) {
    ASSERT_FALSE(result) << what;
    EXPECT_EQ(result.error().code, ErrorCode::kInternal) << what << ": " << result.error().message;
  };
  expect_internal(s().get("hash"), "get of a hash");
  expect_internal(s().take("list"), "take of a list");
  expect_internal(s().get_fields("plain"), "get_fields of a value");
  expect_internal(s().set_fields("list", {{"f", "v"}}), "set_fields on a list");
  expect_internal(s().increment_field("plain", "n", 1), "increment_field on a value");
  expect_internal(s().append("hash", "v"), "append to a hash");
  expect_internal(s().range("plain"), "range of a value");
  expect_internal(s().take_range("hash"), "take_range of a hash");
  EXPECT_EQ(s().get_fields("hash")->size(), 1u) << "a refused take deletes nothing";
  EXPECT_EQ(s().get("plain")->value_or("<none>"), "v") << "a failed write changes nothing";
  EXPECT_EQ(s().range("list")->size(), 1u);

  ASSERT_TRUE(s().put("hash", "now a value")) << "put replaces any kind";
  EXPECT_EQ(s().get("hash")->value_or("<none>"), "now a value");
}

TEST_P(SessionStoreContract, BadArgumentsAreInvalidInputAndChangeNothing) {
  const auto expect_invalid = [](const auto& result, const char* what) {
    ASSERT_FALSE(result) << what;
    EXPECT_EQ(result.error().code, ErrorCode::kInvalidInput)
        << what << ": " << result.error().message;
  };
  expect_invalid(s().put("", "v"), "empty key");
  expect_invalid(s().get(""), "get of an empty key");
  expect_invalid(s().take_range(""), "take_range of an empty key");
  expect_invalid(s().put("k", "v", 0ms), "zero ttl");
  expect_invalid(s().put("k", "v", -5ms), "negative ttl");
  expect_invalid(s().put("k", "v", kMaxTtl + 1ms), "ttl over the limit");
  expect_invalid(s().set_fields("k", {}), "no fields");
  expect_invalid(s().append("k", "v", 0), "max_items 0");
  expect_invalid(s().increment_field("k", "n", 1, 0ms), "zero ttl on increment");
  expect_invalid(s().remove({"a", ""}), "an empty key among others");
  expect_invalid(s().put("k", std::string(kMaxValueBytes + 1, 'x')), "value too large");
  expect_invalid(s().append("k", std::string(kMaxValueBytes + 1, 'x')), "item too large");
  EXPECT_FALSE(s().get("k")->has_value());
  EXPECT_TRUE(s().range("k")->empty());
}

TEST_P(SessionStoreContract, CallbacksRunOnTheGivenExecutor) {
  auto& pool = pool_;
  auto strand = boost::asio::make_strand(pool.get_executor());
  std::atomic<int> on_strand{0};
  std::atomic<int> calls{0};
  const int n_operations = 20;
  for (int i = 0; i < n_operations; ++i) {
    store().put("k" + std::to_string(i), "v", 60s, strand, [&, strand](util::Result<Done> r) {
      if (r && strand.running_in_this_thread()) ++on_strand;
      ++calls;
    });
  }
  ASSERT_TRUE(eventually([&] { return calls == n_operations; }));
  EXPECT_EQ(on_strand.load(), n_operations);
}

TEST_P(SessionStoreContract, CompletionsOnOneStrandArriveInOrder) {
  auto& pool = pool_;
  auto strand = boost::asio::make_strand(pool.get_executor());
  std::mutex mutex;
  std::vector<std::size_t> lengths;
  const std::size_t n_items = 200;
  for (std::size_t i = 0; i < n_items; ++i) {
    store().append("ordered", std::to_string(i), n_items, 60s, strand,
                   [&](util::Result<std::size_t> r) {
                     const std::lock_guard lock(mutex);
                     lengths.push_back(r ? *r : 0);
                   });
  }
  ASSERT_TRUE(eventually([&] {
    const std::lock_guard lock(mutex);
    return lengths.size() == n_items;
  }));
  for (std::size_t i = 0; i < n_items; ++i) ASSERT_EQ(lengths[i], i + 1) << "at " << i;
  auto items = s().range("ordered");
  ASSERT_TRUE(items);
  ASSERT_EQ(items->size(), n_items);
  for (std::size_t i = 0; i < n_items; ++i) EXPECT_EQ((*items)[i], std::to_string(i));
}

TEST_P(SessionStoreContract, ConcurrentWritersLoseNothing) {
  // Several threads, each with executors of its own, append to one list and increment one
  // field at once: every write lands, and each append sees a different length.
  constexpr int kThreads = 4;
  constexpr int kPerThread = 250;
  constexpr int kTotal = kThreads * kPerThread;
  auto& pool = pool_;
  std::mutex mutex;
  std::set<std::size_t> lengths;
  std::set<std::int64_t> counts;
  std::atomic<int> failures{0};
  std::atomic<int> done{0};
  std::vector<std::thread> writers;
  for (int t = 0; t < kThreads; ++t) {
    writers.emplace_back([&, t] {
      auto strand = boost::asio::make_strand(pool.get_executor());
      for (int i = 0; i < kPerThread; ++i) {
        store().append("shared:turns", std::to_string(t) + ":" + std::to_string(i), kTotal, 60s,
                       strand, [&](util::Result<std::size_t> r) {
                         if (r) {
                           const std::lock_guard lock(mutex);
                           lengths.insert(*r);
                         } else {
                           ++failures;
                         }
                         ++done;
                       });
        store().increment_field("shared:record", "chunks", 1, 60s, strand,
                                [&](util::Result<std::int64_t> r) {
                                  if (r) {
                                    const std::lock_guard lock(mutex);
                                    counts.insert(*r);
                                  } else {
                                    ++failures;
                                  }
                                  ++done;
                                });
      }
    });
  }
  for (auto& writer : writers) writer.join();
  ASSERT_TRUE(eventually([&] { return done == 2 * kTotal; }));
  EXPECT_EQ(failures.load(), 0);
  EXPECT_EQ(lengths.size(), static_cast<std::size_t>(kTotal)) << "two appends saw one length";
  EXPECT_EQ(counts.size(), static_cast<std::size_t>(kTotal)) << "two increments saw one value";
  if (!lengths.empty()) {
    EXPECT_EQ(*lengths.rbegin(), static_cast<std::size_t>(kTotal));
  }
  if (!counts.empty()) {
    EXPECT_EQ(*counts.rbegin(), kTotal);
  }

  auto items = s().range("shared:turns");
  ASSERT_TRUE(items);
  std::set<std::string> unique(items->begin(), items->end());
  EXPECT_EQ(unique.size(), static_cast<std::size_t>(kTotal));
  EXPECT_EQ(s().get_fields("shared:record")->at("chunks"), std::to_string(kTotal));
}

TEST_P(SessionStoreContract, TakeHandsAValueToExactlyOneOfManyTakers) {
  constexpr int kValues = 50;
  constexpr int kTakersPerValue = 4;
  for (int v = 0; v < kValues; ++v) ASSERT_TRUE(s().put("once:" + std::to_string(v), "x"));
  auto& pool = pool_;
  std::atomic<int> got_value{0};
  std::atomic<int> got_nothing{0};
  std::atomic<int> done{0};
  std::vector<std::thread> takers;
  for (int t = 0; t < kTakersPerValue; ++t) {
    takers.emplace_back([&] {
      for (int v = 0; v < kValues; ++v) {
        store().take("once:" + std::to_string(v), pool.get_executor(),
                     [&](util::Result<std::optional<std::string>> r) {
                       if (r && r->has_value()) ++got_value;
                       if (r && !r->has_value()) ++got_nothing;
                       ++done;
                     });
      }
    });
  }
  for (auto& taker : takers) taker.join();
  ASSERT_TRUE(eventually([&] { return done == kValues * kTakersPerValue; }));
  EXPECT_EQ(got_value.load(), kValues);
  EXPECT_EQ(got_nothing.load(), kValues * (kTakersPerValue - 1));
}

TEST_P(SessionStoreContract, BigBinaryValuesRoundTrip) {
  const std::string audio = binary_blob(std::size_t{4} << 20, 1);  // 4 MB
  ASSERT_TRUE(s().put("reply.wav", audio));
  auto got = s().get("reply.wav");
  ASSERT_TRUE(got) << got.error().message;
  ASSERT_TRUE(got->has_value());
  EXPECT_TRUE(**got == audio) << "4 MB of every byte value came back changed (size "
                              << (*got)->size() << ")";

  const std::string chunk = binary_blob(std::size_t{1} << 20, 2);
  ASSERT_TRUE(s().append("chunks", chunk));
  ASSERT_TRUE(s().append("chunks", audio));
  auto items = s().range("chunks");
  ASSERT_TRUE(items);
  ASSERT_EQ(items->size(), 2u);
  EXPECT_TRUE((*items)[0] == chunk);
  EXPECT_TRUE((*items)[1] == audio);

  const std::string field_name = binary_blob(300, 3);
  ASSERT_TRUE(s().set_fields("record", {{field_name, chunk}, {"plain", "x"}}));
  auto fields = s().get_fields("record");
  ASSERT_TRUE(fields);
  ASSERT_EQ(fields->count(field_name), 1u);
  EXPECT_TRUE(fields->at(field_name) == chunk);

  auto taken = s().take("reply.wav");
  ASSERT_TRUE(taken && taken->has_value());
  EXPECT_TRUE(**taken == audio);
}

TEST_P(SessionStoreContract, OddKeysAreDistinctAndWork) {
  const auto keys = odd_keys();
  for (std::size_t i = 0; i < keys.size(); ++i) {
    ASSERT_TRUE(s().put(keys[i], "value " + std::to_string(i))) << "key #" << i;
  }
  for (std::size_t i = 0; i < keys.size(); ++i) {
    EXPECT_EQ(s().get(keys[i])->value_or("<none>"), "value " + std::to_string(i)) << "key #" << i;
  }
  for (std::size_t i = 0; i < keys.size(); ++i) {
    const std::string hash = keys[i] + ":h";
    ASSERT_TRUE(s().set_fields(hash, {{keys[i], "field"}})) << "key #" << i;
    EXPECT_EQ(s().get_fields(hash)->at(keys[i]), "field") << "key #" << i;
    EXPECT_EQ(*s().increment_field(hash, keys[i] + "#", 2), 2) << "key #" << i;
    EXPECT_EQ(*s().append(keys[i] + ":l", keys[i]), 1u) << "key #" << i;
    EXPECT_EQ(s().range(keys[i] + ":l")->front(), keys[i]) << "key #" << i;
  }
  std::vector<std::string> all = keys;
  for (const auto& key : keys) {
    all.push_back(key + ":h");
    all.push_back(key + ":l");
  }
  EXPECT_EQ(*s().remove(all), 3 * keys.size());
  for (std::size_t i = 0; i < keys.size(); ++i) {
    EXPECT_FALSE(s().get(keys[i])->has_value()) << "key #" << i;
  }
}

INSTANTIATE_TEST_SUITE_P(Backends, SessionStoreContract, ::testing::Values("memory", "redis"),
                         [](const ::testing::TestParamInfo<std::string>& info) {
                           return info.param;
                         });

}  // namespace
}  // namespace voxgate::store::testing
