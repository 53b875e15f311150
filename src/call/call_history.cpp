#include "call/call_history.hpp"

#include <utility>

#include <algorithm>

namespace voxgate::call {

std::string_view to_string(CallMode mode) {
  switch (mode) {
    case CallMode::kRecording:
      return "recording";
    case CallMode::kStreaming:
      return "streaming";
    case CallMode::kHybrid:
      return "hybrid";
  }
  return "unknown";
}

bool is_terminal_status(std::string_view status) {
  return status == "completed" || status == "busy" || status == "failed" ||
         status == "no-answer" || status == "canceled";
}

bool CallRecord::ended() const { return is_terminal_status(status); }

CallHistory::CallHistory(std::size_t max_ended_kept) : max_ended_kept_(max_ended_kept) {}

void CallHistory::record_incoming(CallRecord record) {
  std::optional<CallRecord> changed;
  {
    std::lock_guard lock(mutex_);
    insert_or_update(std::move(record), changed);
  }
  if (changed) observer_(*changed);
}

void CallHistory::insert_or_update(CallRecord record, std::optional<CallRecord>& changed) {
  auto [it, inserted] = calls_.try_emplace(record.call_sid, record);
  if (inserted) {
    if (observer_) changed = it->second;
    if (!record.ended()) ++active_;
    note_if_ended(it->second);
    if (++inserts_since_sweep_ >= kSweepEvery) sweep_abandoned(record.started_at);
    return;
  }
  CallRecord& existing = it->second;
  record.started_at = existing.started_at;
  // A retried webhook cannot revive a call Twilio already reported finished.
  if (existing.ended()) record.status = existing.status;
  const bool becomes_ended = !existing.ended() && record.ended();
  existing = std::move(record);
  if (observer_) changed = existing;
  if (becomes_ended) {
    --active_;
    note_if_ended(existing);
  }
}

bool CallHistory::update_status(std::string_view call_sid, std::string_view status,
                                TimePoint now) {
  std::optional<CallRecord> changed;
  const bool known = apply_status(call_sid, status, now, changed);
  if (changed) observer_(*changed);
  return known;
}

bool CallHistory::apply_status(std::string_view call_sid, std::string_view status, TimePoint now,
                               std::optional<CallRecord>& changed) {
  std::lock_guard lock(mutex_);
  auto it = calls_.find(call_sid);
  const bool known = it != calls_.end();
  if (!known) {
    CallRecord record;
    record.call_sid = std::string(call_sid);
    record.started_at = now;
    it = calls_.emplace(record.call_sid, std::move(record)).first;
    ++active_;  // counted as live until the status below says otherwise
  }
  CallRecord& record = it->second;
  const bool was_ended = record.ended();
  // Status callbacks may arrive out of order (twilio-protocol.md §3): once ended, stay ended.
  if (was_ended) return known;
  record.status = std::string(status);
  record.updated_at = now;
  if (observer_) changed = record;
  if (record.ended()) {
    --active_;
    note_if_ended(record);
  }
  return known;
}

// A call whose final status callback never came (no StatusCallback configured, or it was
// lost) would stay "live" for ever. Twilio ends every call within 24 hours, so one older than
// kAbandonedAfter is over whatever we were told: mark it so, and it ages out like the rest.
void CallHistory::sweep_abandoned(TimePoint now) {
  inserts_since_sweep_ = 0;
  for (auto& [sid, record] : calls_) {
    if (record.ended() || now - record.started_at < kAbandonedAfter) continue;
    record.status = "completed";
    --active_;
    note_if_ended(record);
  }
}

void CallHistory::note_if_ended(const CallRecord& record) {
  if (!record.ended()) return;
  ended_order_.push_back(record.call_sid);
  while (ended_order_.size() > max_ended_kept_) {
    calls_.erase(ended_order_.front());
    ended_order_.pop_front();
  }
}

void CallHistory::record_stream_start(std::string_view call_sid, std::string_view stream_sid) {
  change(call_sid, [&](CallRecord& record) {
    record.stream_sid = std::string(stream_sid);
    return true;
  });
}

void CallHistory::record_dtmf(std::string_view call_sid, std::string_view digit, TimePoint at) {
  change(call_sid, [&](CallRecord& record) {
    if (record.dtmf.size() >= CallRecord::kMaxDtmf) return false;
    record.dtmf.push_back({std::string(digit), at});
    return true;
  });
}

void CallHistory::record_turns(std::string_view call_sid, std::vector<TurnRecord> turns) {
  change(call_sid, [&](CallRecord& record) {
    record.turns = std::move(turns);
    return true;
  });
}

void CallHistory::record_end_action(std::string_view call_sid, std::string_view action) {
  change(call_sid, [&](CallRecord& record) {
    record.end_action = std::string(action);
    return true;
  });
}

void CallHistory::record_mode(std::string_view call_sid, CallMode mode) {
  change(call_sid, [&](CallRecord& record) {
    record.mode = mode;
    return true;
  });
}

void CallHistory::append_turn(std::string_view call_sid, TurnRecord turn) {
  change(call_sid, [&](CallRecord& record) {
    record.turns.push_back(std::move(turn));
    return true;
  });
}

void CallHistory::record_stream_error(std::string_view call_sid, std::string_view error) {
  change(call_sid, [&](CallRecord& record) {
    record.stream_error = std::string(error);
    return true;
  });
}

void CallHistory::record_pending_reply(std::string_view call_sid, std::string_view audio_id) {
  change(call_sid, [&](CallRecord& record) {
    record.pending_reply_audio = std::string(audio_id);
    return true;
  });
}

std::optional<std::string> CallHistory::take_pending_reply(std::string_view call_sid) {
  std::optional<std::string> taken;
  change(call_sid, [&](CallRecord& record) {
    taken = std::exchange(record.pending_reply_audio, std::nullopt);
    return taken.has_value();
  });
  return taken;
}

int CallHistory::count_unheard_turn(std::string_view call_sid, bool heard) {
  int count = 0;
  change(call_sid, [&](CallRecord& record) {
    record.unheard_turns = heard ? 0 : record.unheard_turns + 1;
    count = record.unheard_turns;
    return true;
  });
  return count;
}

void CallHistory::set_observer(std::function<void(const CallRecord&)> observer) {
  observer_ = std::move(observer);
}

void CallHistory::restore(CallRecord record) {
  std::lock_guard lock(mutex_);
  auto [it, inserted] = calls_.try_emplace(record.call_sid);
  const bool was_live = !inserted && !it->second.ended();
  it->second = std::move(record);
  const bool live = !it->second.ended();
  if (live && !was_live) ++active_;
  if (!live && was_live) --active_;
  if (!live && (inserted || was_live)) note_if_ended(it->second);
}

std::optional<CallRecord> CallHistory::find(std::string_view call_sid) const {
  std::lock_guard lock(mutex_);
  const auto it = calls_.find(call_sid);
  if (it == calls_.end()) return std::nullopt;
  return it->second;
}

std::vector<CallRecord> CallHistory::list() const {
  std::vector<CallRecord> records;
  {
    std::lock_guard lock(mutex_);
    records.reserve(calls_.size());
    for (const auto& [sid, record] : calls_) records.push_back(record);
  }
  std::sort(records.begin(), records.end(),
            [](const CallRecord& a, const CallRecord& b) { return a.started_at > b.started_at; });
  return records;
}

std::size_t CallHistory::active_count() const {
  std::lock_guard lock(mutex_);
  return active_;
}

}  // namespace voxgate::call
