// What the HTTP chunk API (POST /phone/stream-audio/{call_sid}, then .../complete) keeps for
// a call between its requests: the audio uploaded and not yet completed, and the
// conversation of the call's earlier completes (each complete is one turn). Two homes:
// this process's memory (call/chunk_store.hpp, one worker) and the SessionStore
// (call/shared_chunks.hpp), where an upload to one worker and the complete sent to
// another meet.
//
// Contract (every implementation):
// - Thread-safe. Each `done` runs exactly once, through the executor given with it, never
//   inside the call that started the operation.
// - A call's pending audio is bounded: at most max_bytes_per_call() bytes of 8 kHz mu-law,
//   in at most max_chunks_per_call() chunks (a chunk averages 20 ms or more). An append
//   that would pass either is refused, and what the call had stays as it was.
// - `take` hands each chunk to exactly one taker, in the order the appends were made; a
//   chunk appended while a take runs goes either to that take or to the next one.
// - A refusal for kUnavailable (the shared store is down) changes nothing that can be seen:
//   the audio stays pending, the history as it was.
#pragma once

#include <boost/asio/any_io_executor.hpp>

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "agent/engine.hpp"

namespace voxgate::call {

class ChunkState {
 public:
  struct Totals {
    std::size_t chunks = 0;
    std::size_t bytes = 0;
  };
  enum class Refusal {
    kNone,
    kCallFull,      // the chunk would take the call past its bound
    kTooManyCalls,  // memory: too many calls have pending audio
    kUnavailable    // shared: the store cannot be reached
  };
  struct Appended {
    Refusal refusal = Refusal::kNone;
    Totals totals;  // the call's pending audio after the append; {} when refused
  };
  struct Taken {
    std::vector<std::uint8_t> mulaw;  // every pending chunk, in upload order
    std::size_t chunks = 0;
    bool unavailable = false;  // nothing was taken: the store cannot be reached
  };
  struct History {
    std::vector<agent::Turn> turns;  // oldest first
    bool unavailable = false;
  };

  virtual ~ChunkState() = default;

  virtual std::size_t max_bytes_per_call() const = 0;
  std::size_t max_chunks_per_call() const { return max_chunks_for(max_bytes_per_call()); }
  // A chunk of 20 ms (160 bytes) or more on average.
  static constexpr std::size_t max_chunks_for(std::size_t max_bytes) {
    return max_bytes / 160 > 0 ? max_bytes / 160 : 1;
  }

  // Appends one chunk of 8 kHz mu-law (not empty) to the call's pending audio.
  virtual void append(std::string call_sid, std::vector<std::uint8_t> mulaw,
                      boost::asio::any_io_executor executor, std::function<void(Appended)> done) = 0;
  // Removes and hands over the call's pending audio (none: empty, chunks 0).
  virtual void take(std::string call_sid, boost::asio::any_io_executor executor,
                    std::function<void(Taken)> done) = 0;
  // The call's conversation so far, and adding its newest turn. `done` of add_turn runs
  // once the turn is stored (or could not be: that is logged, and the call goes on without
  // it), so the next complete, on any worker, sees it.
  virtual void history(std::string call_sid, boost::asio::any_io_executor executor,
                       std::function<void(History)> done) = 0;
  virtual void add_turn(std::string call_sid, agent::Turn turn,
                        boost::asio::any_io_executor executor, std::function<void()> done) = 0;
};

}  // namespace voxgate::call
