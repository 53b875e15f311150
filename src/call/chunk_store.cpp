#include "call/chunk_store.hpp"

#include <boost/asio/post.hpp>

namespace voxgate::call {

ChunkStore::ChunkStore(std::size_t max_bytes_per_call, std::size_t max_calls)
    : max_bytes_per_call_(max_bytes_per_call), max_calls_(max_calls) {}

ChunkStore::Appended ChunkStore::append(std::string_view call_sid,
                                        std::span<const std::uint8_t> mulaw) {
  std::lock_guard lock(mutex_);
  auto it = pending_.find(call_sid);
  if (it == pending_.end()) {
    if (pending_.size() >= max_calls_) return {Refusal::kTooManyCalls, {}};
    if (mulaw.size() > max_bytes_per_call_) return {Refusal::kCallFull, {}};
    it = pending_.emplace(std::string(call_sid), Pending{}).first;
  }
  Pending& pending = it->second;
  if (pending.audio.size() + mulaw.size() > max_bytes_per_call_ ||
      pending.chunks >= max_chunks_per_call()) {
    return {Refusal::kCallFull, {}};
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

void ChunkStore::append(std::string call_sid, std::vector<std::uint8_t> mulaw,
                        boost::asio::any_io_executor executor, std::function<void(Appended)> done) {
  boost::asio::post(executor, [done = std::move(done), appended = append(call_sid, mulaw)] {
    done(appended);
  });
}

void ChunkStore::take(std::string call_sid, boost::asio::any_io_executor executor,
                      std::function<void(Taken)> done) {
  Taken taken;
  Totals totals;
  taken.mulaw = take(call_sid, &totals);
  taken.chunks = totals.chunks;
  boost::asio::post(executor, [done = std::move(done), taken = std::move(taken)]() mutable {
    done(std::move(taken));
  });
}

void ChunkStore::history(std::string call_sid, boost::asio::any_io_executor executor,
                         std::function<void(History)> done) {
  History history;
  {
    std::lock_guard lock(mutex_);
    const auto it = conversations_.find(call_sid);
    if (it != conversations_.end()) history.turns = it->second;
  }
  boost::asio::post(executor, [done = std::move(done), history = std::move(history)]() mutable {
    done(std::move(history));
  });
}

void ChunkStore::add_turn(std::string call_sid, agent::Turn turn,
                          boost::asio::any_io_executor executor, std::function<void()> done) {
  {
    std::lock_guard lock(mutex_);
    if (conversations_.size() >= max_calls_ && !conversations_.contains(call_sid)) {
      conversations_.erase(conversations_.begin());  // bounded: forget some other call's
    }
    conversations_[call_sid].push_back(std::move(turn));
  }
  boost::asio::post(executor, std::move(done));
}

}  // namespace voxgate::call
