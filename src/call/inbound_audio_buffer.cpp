#include "call/inbound_audio_buffer.hpp"

#include <algorithm>

namespace voxgate::call {

InboundAudioBuffer::InboundAudioBuffer(std::size_t capacity_bytes)
    : capacity_bytes_(capacity_bytes) {}

void InboundAudioBuffer::append(std::span<const std::uint8_t> mulaw) {
  if (mulaw.size() >= capacity_bytes_) {
    dropped_bytes_ += bytes_.size() + (mulaw.size() - capacity_bytes_);
    bytes_.assign(mulaw.end() - static_cast<std::ptrdiff_t>(capacity_bytes_), mulaw.end());
    return;
  }
  const std::size_t overflow = bytes_.size() + mulaw.size();
  if (overflow > capacity_bytes_) {
    const std::size_t n_drop = overflow - capacity_bytes_;
    bytes_.erase(bytes_.begin(), bytes_.begin() + static_cast<std::ptrdiff_t>(n_drop));
    dropped_bytes_ += n_drop;
  }
  bytes_.insert(bytes_.end(), mulaw.begin(), mulaw.end());
}

std::vector<std::uint8_t> InboundAudioBuffer::take_all() {
  std::vector<std::uint8_t> all(bytes_.begin(), bytes_.end());
  std::deque<std::uint8_t>().swap(bytes_);
  return all;
}

void InboundAudioBuffer::clear() { std::deque<std::uint8_t>().swap(bytes_); }

}  // namespace voxgate::call
