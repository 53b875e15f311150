// Audio uploaded through the plain-HTTP chunk API (POST /phone/stream-audio/{call_sid}),
// accumulated per call until `/complete` takes it. Bounded per call and in the number of
// calls, so uploads cannot exhaust memory; a refused chunk leaves what was stored intact.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <mutex>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace voxgate::call {

// Thread-safe.
class ChunkStore {
 public:
  ChunkStore(std::size_t max_bytes_per_call, std::size_t max_calls);

  struct Totals {
    std::size_t chunks = 0;
    std::size_t bytes = 0;
  };
  enum class Refusal { kNone, kCallFull, kTooManyCalls };
  struct AppendResult {
    Refusal refusal = Refusal::kNone;
    Totals totals;  // after the append, or unchanged when refused
  };

  // Appends 8 kHz mu-law audio to the call's pending audio.
  AppendResult append(std::string_view call_sid, std::span<const std::uint8_t> mulaw);
  // Removes and returns the call's audio (empty when none); its memory is freed.
  std::vector<std::uint8_t> take(std::string_view call_sid, Totals* totals = nullptr);
  Totals totals(std::string_view call_sid) const;
  std::size_t calls() const;
  std::size_t max_bytes_per_call() const { return max_bytes_per_call_; }

 private:
  struct Pending {
    std::vector<std::uint8_t> audio;
    std::size_t chunks = 0;
  };
  const std::size_t max_bytes_per_call_;
  const std::size_t max_calls_;
  mutable std::mutex mutex_;
  std::map<std::string, Pending, std::less<>> pending_;
};

}  // namespace voxgate::call
