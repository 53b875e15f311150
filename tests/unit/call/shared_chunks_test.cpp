// SharedChunks over the memory SessionStore: the chunk API's pending audio and conversation
// seen by two "workers" through one store; the per-call bounds, with reservations given
// back so that a refusal or a take leaves the count right; concurrent uploads and takes;
// a store that refuses writes; the keys going when the call ends.
#include "call/shared_chunks.hpp"

#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/thread_pool.hpp>

#include <atomic>
#include <optional>
#include <thread>

#include "call/ai_voice_integration.hpp"
#include "call/shared_calls.hpp"
#include "run_until.hpp"
#include "store/memory/memory_store.hpp"

namespace voxgate::call {
namespace {

using test_support::run_until;
using namespace std::chrono_literals;

std::vector<std::uint8_t> bytes(std::size_t n, std::uint8_t value = 0x55) {
  return std::vector<std::uint8_t>(n, value);
}

class SharedChunksTest : public ::testing::Test {
 protected:
  SharedChunks make(std::size_t max_bytes = 8000) {
    return SharedChunks(*store, metrics,
                        {.max_bytes_per_call = max_bytes, .executor = io.get_executor()});
  }
  template <class T, class Start>
  T wait(Start&& start) {
    std::optional<T> out;
    start([&](T value) { out = std::move(value); });
    EXPECT_FALSE(out) << "never inline";
    EXPECT_TRUE(run_until(io, [&] { return out.has_value(); }));
    return out.value_or(T{});
  }
  ChunkState::Appended append(ChunkState& state, const std::string& sid,
                              std::vector<std::uint8_t> mulaw) {
    return wait<ChunkState::Appended>([&](auto done) {
      state.append(sid, std::move(mulaw), io.get_executor(), std::move(done));
    });
  }
  ChunkState::Taken take(ChunkState& state, const std::string& sid) {
    return wait<ChunkState::Taken>(
        [&](auto done) { state.take(sid, io.get_executor(), std::move(done)); });
  }
  std::int64_t counted_bytes(const std::string& sid) {
    std::optional<store::Fields> fields;
    store->get_fields("chunk_bytes:" + sid, io.get_executor(),
                      [&](util::Result<store::Fields> got) { fields = got.ok() ? *got : store::Fields{}; });
    run_until(io, [&] { return fields.has_value(); });
    const auto it = fields->find("bytes");
    return it == fields->end() ? 0 : std::stoll(it->second);
  }
  void settle() { run_until(io, [] { return false; }, 20ms); }

  boost::asio::io_context io;
  observe::Registry metrics;
  std::unique_ptr<store::SessionStore> store = store::make_memory_store();
};

TEST_F(SharedChunksTest, ChunksUploadedToOneWorkerAreTakenByAnother) {
  SharedChunks a = make(), b = make();
  auto first = append(a, "CA1", bytes(300, 1));
  EXPECT_EQ(first.refusal, ChunkState::Refusal::kNone);
  EXPECT_EQ(first.totals.chunks, 1u);
  EXPECT_EQ(first.totals.bytes, 300u);
  auto second = append(b, "CA1", bytes(200, 2));
  EXPECT_EQ(second.totals.chunks, 2u);
  EXPECT_EQ(second.totals.bytes, 500u);
  EXPECT_EQ(append(a, "CA2", bytes(7, 3)).totals.chunks, 1u) << "another call, its own list";

  const auto taken = take(b, "CA1");
  EXPECT_FALSE(taken.unavailable);
  EXPECT_EQ(taken.chunks, 2u);
  // push_back rather than resize: GCC 12 at -O3 warns falsely (-Warray-bounds) on the latter.
  std::vector<std::uint8_t> expected;
  for (int i = 0; i < 500; ++i) expected.push_back(i < 300 ? 1 : 2);
  EXPECT_EQ(taken.mulaw, expected) << "upload order, every byte";
  settle();
  EXPECT_EQ(counted_bytes("CA1"), 0);
  EXPECT_EQ(take(a, "CA1").chunks, 0u) << "taken once";
  EXPECT_EQ(take(a, "CA2").mulaw, bytes(7, 3));
}

TEST_F(SharedChunksTest, TheBoundRefusesAndGivesTheReservationBack) {
  SharedChunks state = make(1000);
  EXPECT_EQ(append(state, "CA1", bytes(1001)).refusal, ChunkState::Refusal::kCallFull);
  settle();
  EXPECT_EQ(counted_bytes("CA1"), 0);
  ASSERT_EQ(append(state, "CA1", bytes(900)).refusal, ChunkState::Refusal::kNone);
  EXPECT_EQ(append(state, "CA1", bytes(200)).refusal, ChunkState::Refusal::kCallFull);
  settle();
  EXPECT_EQ(counted_bytes("CA1"), 900) << "the refused chunk's bytes were given back";
  const auto fits = append(state, "CA1", bytes(100));
  EXPECT_EQ(fits.refusal, ChunkState::Refusal::kNone);
  EXPECT_EQ(fits.totals.bytes, 1000u);
  EXPECT_EQ(take(state, "CA1").mulaw.size(), 1000u);
  settle();
  EXPECT_EQ(append(state, "CA1", bytes(1000)).refusal, ChunkState::Refusal::kNone)
      << "a take frees the whole bound";
  // A chunk averages 20 ms or more: 1000 bytes allow 6 chunks.
  SharedChunks small = make(1000);
  for (int i = 0; i < 6; ++i) {
    ASSERT_EQ(append(small, "CA2", bytes(1)).refusal, ChunkState::Refusal::kNone) << i;
  }
  EXPECT_EQ(append(small, "CA2", bytes(1)).refusal, ChunkState::Refusal::kCallFull);
  settle();
  EXPECT_EQ(counted_bytes("CA2"), 6);
  EXPECT_EQ(take(small, "CA2").chunks, 6u);
}

TEST_F(SharedChunksTest, AStoreThatRefusesWritesLosesNothing) {
  // A memory store at its bound refuses like a Redis at maxmemory (kUnavailable).
  store = store::make_memory_store({.max_bytes = 2000});
  SharedChunks state = make();
  ASSERT_EQ(append(state, "CA1", bytes(1000, 9)).refusal, ChunkState::Refusal::kNone);
  EXPECT_EQ(append(state, "CA1", bytes(1500)).refusal, ChunkState::Refusal::kUnavailable);
  settle();
  EXPECT_EQ(counted_bytes("CA1"), 1000);
  EXPECT_EQ(take(state, "CA1").mulaw, bytes(1000, 9)) << "what was stored stays";
  const std::string text = metrics.render();
  EXPECT_NE(text.find("voxgate_shared_state_errors_total{operation=\"append_chunk\"} 1"),
            std::string::npos)
      << text;
}

TEST_F(SharedChunksTest, ConcurrentUploadsAndTakesCountEveryByteOnce) {
  SharedChunks a = make(1 << 20), b = make(1 << 20);
  boost::asio::thread_pool pool(4);
  constexpr int kThreads = 4, kChunksEach = 50;
  std::atomic<int> appended{0}, refused{0}, takes{0};
  std::atomic<std::size_t> taken_bytes{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      SharedChunks& state = t % 2 ? a : b;
      for (int i = 0; i < kChunksEach; ++i) {
        state.append("CA1", bytes(160 + t), pool.get_executor(),
                     [&](ChunkState::Appended r) {
                       if (r.refusal != ChunkState::Refusal::kNone) ++refused;
                       ++appended;
                     });
        if (i % 10 == 0) {
          (t % 2 ? b : a).take("CA1", pool.get_executor(), [&](ChunkState::Taken r) {
            taken_bytes += r.mulaw.size();
            ++takes;
          });
        }
      }
    });
  }
  for (auto& thread : threads) thread.join();
  ASSERT_TRUE(run_until(io, [&] {
    return appended == kThreads * kChunksEach && takes == kThreads * kChunksEach / 10;
  }, 10s));
  pool.join();
  EXPECT_EQ(refused.load(), 0);
  taken_bytes += take(a, "CA1").mulaw.size();
  std::size_t sent = 0;
  for (int t = 0; t < kThreads; ++t) sent += static_cast<std::size_t>(kChunksEach) * (160 + t);
  EXPECT_EQ(taken_bytes.load(), sent);
  settle();
  EXPECT_EQ(counted_bytes("CA1"), 0) << "every reservation given back by exactly one take";
}

TEST_F(SharedChunksTest, TheConversationIsSharedAndOddTextSurvives) {
  SharedChunks a = make(), b = make();
  const agent::Turn odd{"what's \"up\"\n", "Ünïcode ☎ and \\ back", ""};
  wait<bool>([&](auto done) {
    a.add_turn("CA1", {"hours?", "Nine to six.", "Nine to six."}, io.get_executor(),
               [done] { done(true); });
  });
  wait<bool>([&](auto done) {
    b.add_turn("CA1", odd, io.get_executor(), [done] { done(true); });
  });
  const auto history = wait<ChunkState::History>(
      [&](auto done) { a.history("CA1", io.get_executor(), std::move(done)); });
  ASSERT_EQ(history.turns.size(), 2u);
  EXPECT_EQ(history.turns[0].agent, "Nine to six.");
  EXPECT_EQ(history.turns[1].caller, odd.caller);
  EXPECT_EQ(history.turns[1].agent, odd.agent);
  EXPECT_EQ(history.turns[1].heard, odd.heard);
  EXPECT_FALSE(decode_turn("{}"));
  EXPECT_FALSE(decode_turn("not json"));
  EXPECT_FALSE(decode_turn(R"({"caller":"a","agent":1,"heard":""})"));
}

TEST_F(SharedChunksTest, TheFacadeOnTwoWorkersCompletesOneCallsChunks) {
  SharedChunks shared_a = make(), shared_b = make();
  AIVoiceIntegration a({.chunk_state = &shared_a}), b({.chunk_state = &shared_b});
  ASSERT_EQ(a.add_audio_chunk("CA1", bytes(4000), AudioEncoding::kRawMulaw8k).error,
            ChunkError::kNone);
  const ChunkResult second = b.add_audio_chunk("CA1", bytes(800), AudioEncoding::kRawMulaw8k);
  ASSERT_EQ(second.error, ChunkError::kNone) << second.message;
  EXPECT_EQ(second.chunks, 2u);
  EXPECT_EQ(second.bytes, 4800u);
  const ProcessingResult result = b.complete_audio("CA1");
  EXPECT_FALSE(result.unavailable);
  EXPECT_EQ(result.chunks, 2u);
  EXPECT_NEAR(result.audio_duration_s, 0.6, 1e-9);
  EXPECT_EQ(a.complete_audio("CA1").chunks, 0u);
}

TEST_F(SharedChunksTest, AnEndedCallTakesItsChunkKeysWithIt) {
  SharedChunks chunks = make();
  CallHistory history;
  AudioStore audio;
  SharedCalls calls(*store, history, audio, metrics, {.executor = io.get_executor()});
  const std::string sid = "CA0123456789abcdef0123456789abcdef";
  history.record_incoming({.call_sid = sid, .mode = CallMode::kRecording, .status = "in-progress"});
  ASSERT_EQ(append(chunks, sid, bytes(500)).refusal, ChunkState::Refusal::kNone);
  wait<bool>([&](auto done) {
    chunks.add_turn(sid, {"hi", "hello", "hello"}, io.get_executor(), [done] { done(true); });
  });
  history.update_status(sid, "completed", TimePoint::clock::now());
  settle();
  std::optional<std::size_t> left;
  auto keys = SharedChunks::keys_of(sid);
  keys.push_back("call:" + sid);
  store->remove(keys, io.get_executor(),
                [&](util::Result<std::size_t> removed) { left = removed.ok() ? *removed : 99; });
  ASSERT_TRUE(run_until(io, [&] { return left.has_value(); }));
  EXPECT_EQ(*left, 0u) << "every key of the call was already gone";
}

}  // namespace
}  // namespace voxgate::call
