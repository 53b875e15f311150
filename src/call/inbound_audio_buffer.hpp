// The caller's audio as it arrives, kept for the stages that consume it (speech
// recognition, the HTTP chunk API). It is bounded: beyond its capacity the oldest audio
// is dropped and counted, so a call that nobody processes cannot grow without limit.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

namespace voxgate::call {

// 8 kHz mu-law bytes (one byte per sample). Not thread-safe: owned by one call.
class InboundAudioBuffer {
 public:
  explicit InboundAudioBuffer(std::size_t capacity_bytes);

  void append(std::span<const std::uint8_t> mulaw);
  // Hands over everything buffered and empties the buffer (its memory is freed).
  std::vector<std::uint8_t> take_all();
  void clear();

  std::size_t size_bytes() const { return bytes_.size(); }
  std::size_t capacity_bytes() const { return capacity_bytes_; }
  std::uint64_t dropped_bytes() const { return dropped_bytes_; }

 private:
  const std::size_t capacity_bytes_;
  // Grows as audio comes, up to the capacity (most calls never fill it); once full it is
  // a ring whose oldest byte is at `oldest_`.
  std::vector<std::uint8_t> bytes_;
  std::size_t oldest_ = 0;
  std::uint64_t dropped_bytes_ = 0;
};

}  // namespace voxgate::call
