#include "call/live_calls.hpp"

namespace voxgate::call {

LiveCalls::LiveCalls(std::size_t max_calls) : max_calls_(max_calls) {}

LiveCalls::Admission LiveCalls::admit(const std::string& call_sid,
                                      std::weak_ptr<LiveCallHandle> handle) {
  std::lock_guard lock(mutex_);
  const auto it = calls_.find(call_sid);
  if (it != calls_.end()) {
    if (!it->second.expired()) return Admission::kDuplicate;
    calls_.erase(it);  // its session is gone without releasing: take the slot over
  }
  if (calls_.size() >= max_calls_) return Admission::kOverCapacity;
  calls_.emplace(call_sid, std::move(handle));
  return Admission::kAdmitted;
}

void LiveCalls::release(const std::string& call_sid) {
  std::lock_guard lock(mutex_);
  calls_.erase(call_sid);
}

std::shared_ptr<LiveCallHandle> LiveCalls::find(std::string_view call_sid) const {
  std::lock_guard lock(mutex_);
  const auto it = calls_.find(call_sid);
  return it == calls_.end() ? nullptr : it->second.lock();
}

std::size_t LiveCalls::size() const {
  std::lock_guard lock(mutex_);
  return calls_.size();
}

std::vector<std::string> LiveCalls::call_sids() const {
  std::lock_guard lock(mutex_);
  std::vector<std::string> sids;
  for (const auto& [sid, handle] : calls_) sids.push_back(sid);
  return sids;
}

}  // namespace voxgate::call
