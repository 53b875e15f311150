#include "call/audio_store.hpp"

#include "twilio/stream_token.hpp"

namespace voxgate::call {

AudioStore::AudioStore(std::chrono::seconds ttl, std::size_t max_bytes)
    : ttl_(ttl), max_bytes_(max_bytes) {}

bool AudioStore::is_valid_id(std::string_view id) {
  if (id.size() != 32) return false;
  for (const char c : id) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

std::string AudioStore::put(std::vector<std::uint8_t> mulaw, Clock::time_point now) {
  // 128 bits from OpenSSL's generator (random_secret gives 256 in hex).
  std::string id = twilio::StreamTokenIssuer::random_secret().substr(0, 32);
  if (observer_) observer_(id, mulaw);
  std::lock_guard lock(mutex_);
  bytes_ += mulaw.size();
  entries_[id] = {std::move(mulaw), now + ttl_};
  order_.push_back(id);
  evict(now);
  return id;
}

void AudioStore::set_observer(
    std::function<void(const std::string& id, const std::vector<std::uint8_t>& mulaw)> observer) {
  observer_ = std::move(observer);
}

void AudioStore::evict(Clock::time_point now) {
  while (!order_.empty()) {
    const auto it = entries_.find(order_.front());
    const bool gone = it == entries_.end();
    const bool expired = !gone && it->second.expires_at <= now;
    // The newest entry always stays, even alone over the bound: it was just promised.
    if (!gone && !expired && (bytes_ <= max_bytes_ || order_.size() == 1)) break;
    if (!gone) {
      bytes_ -= it->second.mulaw.size();
      entries_.erase(it);
    }
    order_.pop_front();
  }
}

std::optional<std::vector<std::uint8_t>> AudioStore::get(std::string_view id,
                                                         Clock::time_point now) const {
  std::lock_guard lock(mutex_);
  const auto it = entries_.find(id);
  if (it == entries_.end() || it->second.expires_at <= now) return std::nullopt;
  return it->second.mulaw;
}

std::size_t AudioStore::size_bytes() const {
  std::lock_guard lock(mutex_);
  return bytes_;
}

}  // namespace voxgate::call
