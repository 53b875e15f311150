// The chunk API's state in the SessionStore (call/chunk_state.hpp), for several workers
// behind a load balancer: a chunk uploaded to one worker is completed by whichever worker
// the complete reaches, and each complete sees the turns every worker stored before it.
//
//   "chunks:{sid}"       list: one item per chunk, 8 kHz mu-law, in upload order
//   "chunk_bytes:{sid}"  hash: field "bytes", the pending audio's size (the bound is checked
//                        against it: a list's total size cannot be read without its items)
//   "chunk_turns:{sid}"  list: the conversation, one JSON turn per item
//
// Every key carries `ttl` (refreshed by each write) and all three are removed when Twilio
// reports the call finished (call/shared_calls.cpp).
//
// An append first reserves its bytes (increment), and gives them back when the chunk is
// refused or cannot be stored; a take gives back exactly what it took, so a chunk racing a
// take is counted once whichever side it lands on. What can drift: a worker killed between
// reserving and appending (or a reservation whose answer timed out) leaves it counted until
// the key expires, and two uploads near the bound at once may both be refused where one
// alone would fit. Both err on the side of refusing, never of passing the bound.
#pragma once

#include <chrono>
#include <string>
#include <string_view>
#include <vector>

#include "call/chunk_state.hpp"
#include "observe/metrics.hpp"
#include "store/session_store.hpp"

namespace voxgate::call {

struct SharedChunksOptions {
  std::size_t max_bytes_per_call = 120 * 8000;  // 120 s of 8 kHz mu-law
  std::size_t max_turns_per_call = 500;
  std::chrono::milliseconds ttl = std::chrono::hours(2);
  // Where completions no caller waits for (giving reservations back) run.
  boost::asio::any_io_executor executor;
};

class SharedChunks final : public ChunkState {
 public:
  // A failed store operation is logged with the call's sid and counted in
  // voxgate_shared_state_errors_total{operation: append_chunk, take_chunks, load_turns,
  // save_turn}.
  SharedChunks(store::SessionStore& store, observe::Registry& metrics, SharedChunksOptions options);

  std::size_t max_bytes_per_call() const override { return options_.max_bytes_per_call; }
  void append(std::string call_sid, std::vector<std::uint8_t> mulaw,
              boost::asio::any_io_executor executor, std::function<void(Appended)> done) override;
  void take(std::string call_sid, boost::asio::any_io_executor executor,
            std::function<void(Taken)> done) override;
  void history(std::string call_sid, boost::asio::any_io_executor executor,
               std::function<void(History)> done) override;
  void add_turn(std::string call_sid, agent::Turn turn, boost::asio::any_io_executor executor,
                std::function<void()> done) override;

  // Every key a call's chunk-API state may use, for removing them when the call ends.
  static std::vector<std::string> keys_of(std::string_view call_sid);

 private:
  void give_back(const std::string& call_sid, std::size_t bytes);
  void count_error(std::string_view operation, const std::string& call_sid,
                   const util::Error& error);

  store::SessionStore& store_;
  SharedChunksOptions options_;
  observe::Family<observe::Counter>& errors_total_;
};

// A turn as the store keeps it (JSON) and back; nullopt for anything else.
std::string encode_turn(const agent::Turn& turn);
std::optional<agent::Turn> decode_turn(std::string_view json);

}  // namespace voxgate::call
