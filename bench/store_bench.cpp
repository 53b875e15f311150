// SessionStore round trips for the work one conversation turn does: append the turn to the
// call's list, set two fields of the call record, read the record back. Against the memory
// store and against Redis on loopback (a redis-server of the benchmark's own, as in the
// contract tests). Redis figures include the hop through the store's connection thread and
// the completion posted back to the caller's io_context, which is what the call code pays.
//
//   TurnOps/<backend>/<calls>: `calls` turns in flight at once, each the three operations
//   one after the other (each waits for the previous one's callback); items/s = turns/s.
//   TurnOpsPipelined/<backend>: one turn, its three operations started together (the store
//   applies them in order, so the read still sees the write).
//
//   ChunkUtterance/<state>: the HTTP chunk API's state work for one utterance: five 1 s
//   chunks uploaded, then the complete (read the conversation, take the chunks, store the
//   new turn), each step waiting for the one before, as the routes do. <state>: the
//   worker's own memory (call::ChunkStore, no REDIS_URL), or call::SharedChunks on the
//   memory store or on Redis.
//
// Run: build-bench/bench/store_bench [--benchmark_min_time=2]
#include <benchmark/benchmark.h>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/system_executor.hpp>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "call/chunk_store.hpp"
#include "call/shared_chunks.hpp"
#include "observe/metrics.hpp"
#include "redis_server.hpp"
#include "store/memory/memory_store.hpp"
#include "store/redis/redis_store.hpp"

namespace {

using namespace std::chrono_literals;
using voxgate::store::Callback;
using voxgate::store::Done;
using voxgate::store::Fields;
using voxgate::store::SessionStore;
using voxgate::util::Result;

constexpr std::size_t kTurnsPerList = 1000;  // a fresh list every so many turns
constexpr auto kTtl = 10min;

SessionStore& memory_store() {
  static const auto store = voxgate::store::make_memory_store();
  return *store;
}

SessionStore* redis_store() {
  static std::unique_ptr<voxgate::test_support::RedisServer> server;
  static std::unique_ptr<SessionStore> store;
  if (!server) {
    server = std::make_unique<voxgate::test_support::RedisServer>();
    if (!server->start()) {
      std::fprintf(stderr, "store_bench: %s\n", server->error().c_str());
      return nullptr;
    }
    auto made = voxgate::store::make_redis_store({.url = server->url(), .prefix = "bench:"});
    if (!made) return nullptr;
    store = std::move(*made);
    const auto deadline = std::chrono::steady_clock::now() + 20s;
    while (!store->available() && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(10ms);
    }
    if (!store->available()) store.reset();
  }
  return store.get();
}

// Google Benchmark runs each function several times: keys carry the run's number, so that a
// run does not find the lists of the one before full.
std::string run_tag() {
  static int runs = 0;
  return "run" + std::to_string(++runs);
}

SessionStore* backend(const std::string& name) {
  return name == "memory" ? &memory_store() : redis_store();
}

// The list a turn goes to; the one before is removed when a new one starts, so a long run
// does not fill the memory store's bound (the removal is 1 operation in kTurnsPerList turns).
std::string list_key(SessionStore* store, const std::string& owner, std::size_t turn) {
  const auto list = [&](std::size_t n) { return owner + ":turns:" + std::to_string(n); };
  if (turn % kTurnsPerList == 0 && turn > 0) {
    store->remove({list(turn / kTurnsPerList - 1)}, boost::asio::system_executor(),
                  [](Result<std::size_t>) {});
  }
  return list(turn / kTurnsPerList);
}

// One call taking a turn: the three operations in sequence, each started from the previous
// one's callback, as a call's strand would.
struct Call {
  SessionStore* store = nullptr;
  boost::asio::any_io_executor executor;
  std::string sid;
  std::size_t turn = 0;
  std::size_t* completed = nullptr;
  bool* failed = nullptr;

  void take_turn() {
    const std::string turns_key = list_key(store, "call:" + sid, turn++);
    store->append(turns_key, "caller: I would like to book a table for two at eight", kTurnsPerList,
                  kTtl, executor, [this](Result<std::size_t> appended) {
                    if (!appended) *failed = true;
                    set_record();
                  });
  }
  void set_record() {
    store->set_fields("call:" + sid, {{"state", "listening"}, {"last_turn_ms", "842"}}, kTtl,
                      executor, [this](Result<Done> set) {
                        if (!set) *failed = true;
                        read_record();
                      });
  }
  void read_record() {
    store->get_fields("call:" + sid, executor, [this](Result<Fields> fields) {
      if (!fields || fields->size() != 2) *failed = true;
      ++*completed;
    });
  }
};

void TurnOps(benchmark::State& state, const std::string& name) {
  SessionStore* store = backend(name);
  if (!store) return state.SkipWithError("no store (is redis-server installed?)");
  const auto n_calls = static_cast<std::size_t>(state.range(0));
  boost::asio::io_context io;
  // Keeps run_one() waiting for a completion from the store's thread instead of returning.
  auto guard = boost::asio::make_work_guard(io);
  std::size_t completed = 0;
  bool failed = false;
  std::vector<Call> calls(n_calls);
  for (std::size_t i = 0; i < n_calls; ++i) {
    calls[i] = Call{store, io.get_executor(), run_tag() + ":CA" + std::to_string(i),
                    0,     &completed,        &failed};
  }
  for (auto _ : state) {
    completed = 0;
    for (auto& call : calls) call.take_turn();
    while (completed < n_calls) io.run_one();
  }
  if (failed) state.SkipWithError("an operation failed");
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * n_calls));
}

void TurnOpsPipelined(benchmark::State& state, const std::string& name) {
  SessionStore* store = backend(name);
  if (!store) return state.SkipWithError("no store (is redis-server installed?)");
  boost::asio::io_context io;
  auto guard = boost::asio::make_work_guard(io);
  const auto ex = io.get_executor();
  bool failed = false;
  std::size_t turn = 0;
  const std::string tag = run_tag();
  for (auto _ : state) {
    int pending = 3;
    const std::string turns_key = list_key(store, "pipelined:" + tag, turn++);
    store->append(turns_key, "caller: what time do you open", kTurnsPerList, kTtl, ex,
                  [&](Result<std::size_t> r) {
                    failed |= !r;
                    --pending;
                  });
    store->set_fields("pipelined:" + tag, {{"state", "listening"}, {"last_turn_ms", "842"}}, kTtl,
                      ex, [&](Result<Done> r) {
                        failed |= !r;
                        --pending;
                      });
    store->get_fields("pipelined:" + tag, ex, [&](Result<Fields> r) {
      failed |= !r || r->size() != 2;
      --pending;
    });
    while (pending > 0) io.run_one();
  }
  if (failed) state.SkipWithError("an operation failed");
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()));
}

// One utterance through a ChunkState, each step started from the previous one's callback.
struct Utterance {
  voxgate::call::ChunkState* chunks = nullptr;
  boost::asio::any_io_executor executor;
  std::string sid;
  int uploaded = 0;
  std::size_t turns = 0;
  bool done = false;
  bool failed = false;

  static constexpr int kChunks = 5;
  static constexpr std::size_t kChunkBytes = 8000;  // 1 s of 8 kHz mu-law

  void start() {
    uploaded = 0;
    done = false;
    upload();
  }
  void upload() {
    chunks->append(sid, std::vector<std::uint8_t>(kChunkBytes, 0x7f), executor,
                   [this](voxgate::call::ChunkState::Appended appended) {
                     failed |= appended.refusal != voxgate::call::ChunkState::Refusal::kNone;
                     if (++uploaded < kChunks) return upload();
                     complete();
                   });
  }
  void complete() {
    chunks->history(sid, executor, [this](voxgate::call::ChunkState::History history) {
      failed |= history.unavailable;
      chunks->take(sid, executor, [this](voxgate::call::ChunkState::Taken taken) {
        failed |= taken.mulaw.size() != kChunks * kChunkBytes;
        // Each turn to a conversation of its own, so that the list's bound (500 turns) is
        // never reached however many iterations run.
        chunks->add_turn(sid + ":" + std::to_string(++turns),
                         {"what are your opening hours", "Nine to six, Monday to Friday.",
                          "Nine to six, Monday to Friday."},
                         executor, [this] { done = true; });
      });
    });
  }
};

void ChunkUtterance(benchmark::State& state, const std::string& name) {
  boost::asio::io_context io;
  auto guard = boost::asio::make_work_guard(io);
  voxgate::observe::Registry metrics;
  std::unique_ptr<voxgate::call::ChunkState> chunks;
  if (name == "worker-memory") {
    chunks = std::make_unique<voxgate::call::ChunkStore>(120 * 8000, 2000);
  } else {
    SessionStore* store = backend(name == "shared-redis" ? "redis" : "memory");
    if (!store) return state.SkipWithError("no store (is redis-server installed?)");
    chunks = std::make_unique<voxgate::call::SharedChunks>(
        *store, metrics, voxgate::call::SharedChunksOptions{.ttl = kTtl, .executor = io.get_executor()});
  }
  Utterance utterance{chunks.get(), io.get_executor(), run_tag() + ":CAchunks"};
  for (auto _ : state) {
    utterance.start();
    while (!utterance.done) io.run_one();
  }
  io.poll();  // reservations given back after the last take
  if (utterance.failed) state.SkipWithError("an operation failed");
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()));
}

BENCHMARK_CAPTURE(TurnOps, memory, std::string("memory"))->Arg(1)->Arg(16)->UseRealTime();
BENCHMARK_CAPTURE(TurnOps, redis, std::string("redis"))->Arg(1)->Arg(16)->UseRealTime();
BENCHMARK_CAPTURE(TurnOpsPipelined, memory, std::string("memory"))->UseRealTime();
BENCHMARK_CAPTURE(TurnOpsPipelined, redis, std::string("redis"))->UseRealTime();
BENCHMARK_CAPTURE(ChunkUtterance, worker_memory, std::string("worker-memory"))->UseRealTime();
BENCHMARK_CAPTURE(ChunkUtterance, shared_memory, std::string("shared-memory"))->UseRealTime();
BENCHMARK_CAPTURE(ChunkUtterance, shared_redis, std::string("shared-redis"))->UseRealTime();

}  // namespace

BENCHMARK_MAIN();
