// The record of every call this worker has answered: who called, in which mode, and
// where Twilio says the call stands. It backs /healthz (active calls), /calls, and the
// status callback. With a shared store (call/shared_calls.hpp) it is this worker's copy of
// the calls, kept in step through the observer and restore().
#pragma once

#include <chrono>
#include <cstddef>
#include <deque>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace voxgate::call {

enum class CallMode { kRecording, kStreaming, kHybrid };
std::string_view to_string(CallMode mode);

using TimePoint = std::chrono::system_clock::time_point;

struct DtmfEvent {
  std::string digit;
  TimePoint at;
};

// One exchange, as the call history keeps it.
struct TurnRecord {
  std::string caller;  // what the recognizer heard ("[pressed 1]" for keys)
  std::string agent;   // the reply
  std::string heard;   // what the caller heard of it before interrupting
};

struct CallRecord {
  std::string call_sid;
  std::string account_sid;
  std::string from;
  std::string to;
  CallMode mode = CallMode::kStreaming;
  // Twilio's CallStatus: queued, ringing, in-progress, completed, busy, failed, no-answer,
  // canceled (twilio-protocol.md §3). Kept as received; unknown values are kept too.
  std::string status;
  TimePoint started_at;
  TimePoint updated_at;
  std::string stream_sid;        // the Media Stream's MZ… sid, once its `start` arrived
  std::vector<DtmfEvent> dtmf;   // keys the caller pressed, oldest first (at most kMaxDtmf)
  std::vector<TurnRecord> turns;
  // How the agent ended the call, for /phone/stream-ended: "" (it did not), "hangup", or
  // "transfer:<number>".
  std::string end_action;
  // Why the Media Stream failed, when Twilio's stream status callback said so.
  std::string stream_error;
  // Recording mode: turns in a row in which the caller said nothing we could use.
  int unheard_turns = 0;
  // Hybrid mode: a turn was handed over to TwiML; the id (/audio/{id}.wav) of the reply
  // stream-ended is to play ("" when the reply was silent).
  std::optional<std::string> pending_reply_audio;

  static constexpr std::size_t kMaxDtmf = 256;
  bool ended() const;
};

// True for the statuses after which Twilio sends nothing more about a call.
bool is_terminal_status(std::string_view status);

// Thread-safe: every method may be called from any thread. Ended calls are kept for
// /calls until `max_ended_kept` of them accumulate; the oldest ended ones go first.
// Live calls are evicted only once they are older than any Twilio call can be (25 h).
class CallHistory {
 public:
  explicit CallHistory(std::size_t max_ended_kept = 10000);

  // Records a call a webhook answered. Twilio retries a webhook that timed out, so a
  // second record for the same sid updates mode and parties but keeps started_at.
  void record_incoming(CallRecord record);

  // Applies a status callback. Returns false when the sid was unknown here; the call is
  // then recorded anyway (another worker may have answered it).
  bool update_status(std::string_view call_sid, std::string_view status, TimePoint now);

  // Facts a live stream learns. Unknown sids are ignored (the call was never answered
  // here, or has been evicted); a call over kMaxDtmf digits keeps the first ones.
  void record_stream_start(std::string_view call_sid, std::string_view stream_sid);
  void record_dtmf(std::string_view call_sid, std::string_view digit, TimePoint at);
  void record_turns(std::string_view call_sid, std::vector<TurnRecord> turns);
  void record_end_action(std::string_view call_sid, std::string_view action);
  // Recording mode and the fallback to it.
  void record_mode(std::string_view call_sid, CallMode mode);
  void append_turn(std::string_view call_sid, TurnRecord turn);
  void record_stream_error(std::string_view call_sid, std::string_view error);
  void record_pending_reply(std::string_view call_sid, std::string_view audio_id);
  // The handed-over turn's audio id, now no longer pending; nullopt if none was handed over.
  std::optional<std::string> take_pending_reply(std::string_view call_sid);
  // Counts a recording-mode turn without usable speech and returns how many came in a
  // row; `heard` resets the count. 0 for an unknown sid.
  int count_unheard_turn(std::string_view call_sid, bool heard);

  // Shared state (scale-out): `observer` is called with a copy of a record after each change
  // above, outside the lock, on the thread that made it (the SessionStore mirror writes it
  // out). Set it once, before the history is shared between threads.
  void set_observer(std::function<void(const CallRecord&)> observer);
  // Puts a record read back from the shared store in place of this worker's copy (another
  // worker may have moved the call on); the observer is not called.
  void restore(CallRecord record);

  std::optional<CallRecord> find(std::string_view call_sid) const;
  std::vector<CallRecord> list() const;  // newest first
  std::size_t active_count() const;

 private:
  void note_if_ended(const CallRecord& record);
  void insert_or_update(CallRecord record, std::optional<CallRecord>& changed);
  bool apply_status(std::string_view call_sid, std::string_view status, TimePoint now,
                    std::optional<CallRecord>& changed);
  // Applies `change` (returning whether it changed anything) to a known call, then tells the
  // observer; unknown sids are ignored.
  template <class Change>
  void change(std::string_view call_sid, Change&& change) {
    std::optional<CallRecord> changed;
    {
      std::lock_guard lock(mutex_);
      const auto it = calls_.find(call_sid);
      if (it == calls_.end() || !change(it->second)) return;
      if (observer_) changed = it->second;
    }
    if (changed) observer_(*changed);
  }
  void sweep_abandoned(TimePoint now);

  static constexpr std::chrono::hours kAbandonedAfter{25};
  static constexpr std::size_t kSweepEvery = 1000;  // new calls between sweeps

  const std::size_t max_ended_kept_;
  mutable std::mutex mutex_;
  std::map<std::string, CallRecord, std::less<>> calls_;
  std::deque<std::string> ended_order_;  // sids of ended calls, oldest first
  std::size_t active_ = 0;
  std::size_t inserts_since_sweep_ = 0;
  std::function<void(const CallRecord&)> observer_;
};

}  // namespace voxgate::call
