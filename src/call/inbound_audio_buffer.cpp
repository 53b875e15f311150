#include "call/inbound_audio_buffer.hpp"

#include <algorithm>

namespace voxgate::call {

InboundAudioBuffer::InboundAudioBuffer(std::size_t capacity_bytes)
    : capacity_bytes_(capacity_bytes) {}

void InboundAudioBuffer::append(std::span<const std::uint8_t> mulaw) {
  if (capacity_bytes_ == 0) {
    dropped_bytes_ += mulaw.size();
    return;
  }
  if (mulaw.size() >= capacity_bytes_) {
    dropped_bytes_ += bytes_.size() + (mulaw.size() - capacity_bytes_);
    bytes_.assign(mulaw.end() - static_cast<std::ptrdiff_t>(capacity_bytes_), mulaw.end());
    oldest_ = 0;
    return;
  }
  if (bytes_.size() < capacity_bytes_) {  // still filling up: append in order
    const std::size_t n_fit = std::min(capacity_bytes_ - bytes_.size(), mulaw.size());
    bytes_.insert(bytes_.end(), mulaw.begin(), mulaw.begin() + static_cast<std::ptrdiff_t>(n_fit));
    mulaw = mulaw.subspan(n_fit);
  }
  // Full: each new byte replaces the oldest.
  dropped_bytes_ += mulaw.size();
  while (!mulaw.empty()) {
    const std::size_t n = std::min(capacity_bytes_ - oldest_, mulaw.size());
    std::copy_n(mulaw.begin(), n, bytes_.begin() + static_cast<std::ptrdiff_t>(oldest_));
    oldest_ = (oldest_ + n) % capacity_bytes_;
    mulaw = mulaw.subspan(n);
  }
}

std::vector<std::uint8_t> InboundAudioBuffer::take_all() {
  std::rotate(bytes_.begin(), bytes_.begin() + static_cast<std::ptrdiff_t>(oldest_), bytes_.end());
  std::vector<std::uint8_t> all = std::move(bytes_);
  bytes_ = {};
  oldest_ = 0;
  return all;
}

void InboundAudioBuffer::clear() {
  std::vector<std::uint8_t>().swap(bytes_);
  oldest_ = 0;
}

}  // namespace voxgate::call
