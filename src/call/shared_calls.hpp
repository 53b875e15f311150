// Call state shared between workers through the SessionStore (DESIGN.md §6, scale-out): the
// bridge between this worker's CallHistory and AudioStore and a store every worker sees.
//
//   CallHistory change ──observer──▶ put "call:{sid}" (the whole record, JSON, call_ttl);
//                                    removed once Twilio reports the call finished, with
//                                    the call's chunk-API keys (call/shared_chunks.hpp)
//   AudioStore::put    ──observer──▶ put "audio:{id}" (mu-law bytes, audio_ttl)
//   a webhook for a call another worker may have moved on
//        ──load(sid)──▶ get "call:{sid}" ──▶ CallHistory::restore ──▶ the route goes on
//   GET /audio/{id}.wav not made here ──load_audio(id)──▶ get "audio:{id}"
//
// Twilio spreads one call's webhooks over whichever workers the load balancer picks, and a
// worker can die mid-call: a route that acts on a call's history (process-voice, its poll,
// stream-ended) loads the record first, so it continues from the last turn any worker
// stored. Writes are asynchronous and never wait: the store applies them in the order they
// were made, and a recording-mode call makes its changes one webhook at a time, so the last
// write is the call's state. (Concurrent writers of one call, e.g. a status callback racing
// a turn on another worker, resolve as last writer wins on the whole record.)
//
// Contract:
// - Thread-safe. The constructor installs observers on `history` and `audio`: build it
//   before they are shared between threads; it must outlive their use.
// - `load` and `load_audio` call `done` exactly once through `executor`, never inline.
// - A store failure is logged (with the call's sid), counted in
//   voxgate_shared_state_errors_total{operation: save, remove, load, save_audio,
//   load_audio}, and reported to `load`'s caller as
//   kUnavailable; it never throws and never blocks.
#pragma once

#include <boost/asio/any_io_executor.hpp>

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "call/audio_store.hpp"
#include "call/call_history.hpp"
#include "observe/metrics.hpp"
#include "store/session_store.hpp"

namespace voxgate::call {

struct SharedCallsOptions {
  // How long a call's record outlives its last change: longer than any call (call.max_call_s)
  // plus the status callbacks after it.
  std::chrono::milliseconds call_ttl = std::chrono::hours(2);
  // Reply audio for <Play>: as long as this worker's AudioStore keeps it.
  std::chrono::milliseconds audio_ttl = std::chrono::minutes(15);
  // Where store completions (logging failures) run.
  boost::asio::any_io_executor executor;
};

enum class LoadResult {
  kLoaded,       // the store's record is now this worker's copy
  kNotFound,     // the store has no record of the call (this worker's copy, if any, stays)
  kUnavailable,  // the store could not answer; this worker's copy, if any, stays
};

class SharedCalls {
 public:
  SharedCalls(store::SessionStore& store, CallHistory& history, AudioStore& audio,
              observe::Registry& metrics, SharedCallsOptions options);

  void load(std::string call_sid, boost::asio::any_io_executor executor,
            std::function<void(LoadResult)> done);
  void load_audio(std::string id, boost::asio::any_io_executor executor,
                  std::function<void(std::optional<std::vector<std::uint8_t>>)> done);

  // Whether the store is reachable now (/healthz readiness; new calls are refused without).
  bool available() const { return store_.available(); }
  std::string_view store_name() const { return store_.name(); }

 private:
  void save(const CallRecord& record);
  void save_audio(const std::string& id, const std::vector<std::uint8_t>& mulaw);

  store::SessionStore& store_;
  CallHistory& history_;
  SharedCallsOptions options_;
  observe::Family<observe::Counter>& errors_total_;
};

// voxgate_shared_state_errors_total{operation}: shared-state operations that failed, counted
// by SharedCalls and SharedChunks alike.
observe::Family<observe::Counter>& shared_state_errors(observe::Registry& metrics);

// The record as the store keeps it (JSON) and back; nullopt for anything that is not a
// record this code wrote.
std::string encode_call_record(const CallRecord& record);
std::optional<CallRecord> decode_call_record(std::string_view json);

}  // namespace voxgate::call
