// The chunk API's state in this process's memory (call/chunk_state.hpp): the default, for a
// single worker. Bounded per call and in the number of calls, so uploads cannot exhaust
// memory; a refused chunk leaves what was stored intact. Work happens under one mutex in the
// call that starts it; only the callback is posted.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <mutex>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "call/chunk_state.hpp"

namespace voxgate::call {

class ChunkStore final : public ChunkState {
 public:
  // `max_calls` bounds both the calls with pending audio and the conversations kept (past
  // it, another call's conversation is forgotten).
  ChunkStore(std::size_t max_bytes_per_call, std::size_t max_calls);

  std::size_t max_bytes_per_call() const override { return max_bytes_per_call_; }
  void append(std::string call_sid, std::vector<std::uint8_t> mulaw,
              boost::asio::any_io_executor executor, std::function<void(Appended)> done) override;
  void take(std::string call_sid, boost::asio::any_io_executor executor,
            std::function<void(Taken)> done) override;
  void history(std::string call_sid, boost::asio::any_io_executor executor,
               std::function<void(History)> done) override;
  void add_turn(std::string call_sid, agent::Turn turn, boost::asio::any_io_executor executor,
                std::function<void()> done) override;

  // The same, answered at once (tests, and the asynchronous members above).
  Appended append(std::string_view call_sid, std::span<const std::uint8_t> mulaw);
  std::vector<std::uint8_t> take(std::string_view call_sid, Totals* totals = nullptr);
  Totals totals(std::string_view call_sid) const;
  std::size_t calls() const;

 private:
  struct Pending {
    std::vector<std::uint8_t> audio;
    std::size_t chunks = 0;
  };
  const std::size_t max_bytes_per_call_;
  const std::size_t max_calls_;
  mutable std::mutex mutex_;
  std::map<std::string, Pending, std::less<>> pending_;
  std::map<std::string, std::vector<agent::Turn>, std::less<>> conversations_;
};

}  // namespace voxgate::call
