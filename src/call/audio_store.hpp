// Synthesized replies waiting to be fetched by Twilio's <Play> (GET /audio/{id}.wav): each
// under an unguessable id, for a limited time, within a memory bound. Ids carry 128 random
// bits, so knowing one reveals nothing about another.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace voxgate::call {

// Thread-safe.
class AudioStore {
 public:
  using Clock = std::chrono::steady_clock;

  AudioStore(std::chrono::seconds ttl = std::chrono::minutes(15),
             std::size_t max_bytes = 64 << 20);

  // Keeps 8 kHz mu-law audio; returns its id (32 hex digits).
  std::string put(std::vector<std::uint8_t> mulaw, Clock::time_point now = Clock::now());
  // The audio, or nullopt when the id is unknown or expired.
  std::optional<std::vector<std::uint8_t>> get(std::string_view id,
                                               Clock::time_point now = Clock::now()) const;
  static bool is_valid_id(std::string_view id);
  // Called with each new id and its audio after put() (outside the lock): the shared store
  // mirror (call/shared_calls.hpp). Set it once, before the store is shared between threads.
  void set_observer(
      std::function<void(const std::string& id, const std::vector<std::uint8_t>& mulaw)> observer);
  std::size_t size_bytes() const;

 private:
  struct Entry {
    std::vector<std::uint8_t> mulaw;
    Clock::time_point expires_at;
  };
  void evict(Clock::time_point now);

  const std::chrono::seconds ttl_;
  const std::size_t max_bytes_;
  mutable std::mutex mutex_;
  std::map<std::string, Entry, std::less<>> entries_;
  std::deque<std::string> order_;  // oldest first
  std::size_t bytes_ = 0;
  std::function<void(const std::string&, const std::vector<std::uint8_t>&)> observer_;
};

}  // namespace voxgate::call
