#include "call/chunk_store.hpp"

namespace voxgate::call {

ChunkStore::ChunkStore(std::size_t max_bytes_per_call, std::size_t max_calls)
    : max_bytes_per_call_(max_bytes_per_call), max_calls_(max_calls) {}

ChunkStore::AppendResult ChunkStore::append(std::string_view call_sid,
                                            std::span<const std::uint8_t> mulaw) {
  std::lock_guard lock(mutex_);
  auto it = pending_.find(call_sid);
  if (it == pending_.end()) {
    if (pending_.size() >= max_calls_) return {Refusal::kTooManyCalls, {}};
    if (mulaw.size() > max_bytes_per_call_) return {Refusal::kCallFull, {}};
    it = pending_.emplace(std::string(call_sid), Pending{}).first;
  }
  Pending& pending = it->second;
  if (pending.audio.size() + mulaw.size() > max_bytes_per_call_) {
    return {Refusal::kCallFull, {pending.chunks, pending.audio.size()}};
  }
  pending.audio.insert(pending.audio.end(), mulaw.begin(), mulaw.end());
  ++pending.chunks;
  return {Refusal::kNone, {pending.chunks, pending.audio.size()}};
}

std::vector<std::uint8_t> ChunkStore::take(std::string_view call_sid, Totals* totals) {
  std::lock_guard lock(mutex_);
  const auto it = pending_.find(call_sid);
  if (it == pending_.end()) {
    if (totals != nullptr) *totals = {};
    return {};
  }
  if (totals != nullptr) *totals = {it->second.chunks, it->second.audio.size()};
  std::vector<std::uint8_t> audio = std::move(it->second.audio);
  pending_.erase(it);
  return audio;
}

ChunkStore::Totals ChunkStore::totals(std::string_view call_sid) const {
  std::lock_guard lock(mutex_);
  const auto it = pending_.find(call_sid);
  if (it == pending_.end()) return {};
  return {it->second.chunks, it->second.audio.size()};
}

std::size_t ChunkStore::calls() const {
  std::lock_guard lock(mutex_);
  return pending_.size();
}

}  // namespace voxgate::call
