// Twilio's side of a bidirectional stream's playout, for `voxgate sim` (twilio-protocol.md
// §1.3): outbound `media` goes into a buffer played at 1x, in order; a `mark` is echoed once
// everything queued before it has played, or at once when nothing is queued; `clear` empties
// the buffer and echoes every pending mark at once. It also measures how the server paced its
// frames (FrameTiming).
//
//   media ──> [ audio … | mark | audio … | mark ] ──1x playout──> echoes (played)
//   clear ──> buffer emptied ──> pending marks echoed (cleared)
//
// The buffer is a time line: `playout_end` is when the audio queued so far finishes. A frame
// arriving while the buffer is empty starts playing at its arrival.
//
// Frame timing: an "utterance" runs from a media frame to the next mark (servers send a mark
// after each utterance) or clear. A frame of an utterance that arrives after the audio before
// it has finished is an underrun, and the silence it left is a gap; a frame arriving more than
// 200 ms ahead of its playout is a burst.
//
// Contract: pure logic, no timers or I/O, every time passed in (steady clock, non-decreasing).
// Not thread-safe: one per simulated stream, used on the call's strand. Echoes come back in
// the order their marks arrived.
#pragma once

#include <chrono>
#include <cstddef>
#include <deque>
#include <optional>
#include <string>
#include <vector>

#include "sim/results.hpp"

namespace voxgate::sim {

class FarEnd {
 public:
  using Clock = std::chrono::steady_clock;
  using TimePoint = Clock::time_point;

  struct MarkEcho {
    std::string name;
    bool played = true;  // false: discarded by a clear
  };

  static constexpr std::chrono::milliseconds kBurstLead{200};

  // `n_samples` of 8 kHz audio arrived at `now`.
  void on_media(std::size_t n_samples, TimePoint now);
  // A mark arrived: returns the echoes now due (this mark's at once when nothing is queued,
  // after any earlier marks that are due by `now`).
  std::vector<MarkEcho> on_mark(std::string name, TimePoint now);
  // Empties the buffer: returns the marks due by `now` as played, then every other pending
  // mark as cleared.
  std::vector<MarkEcho> on_clear(TimePoint now);
  // The echoes due by `now` (their audio has played), in order.
  std::vector<MarkEcho> advance(TimePoint now);

  // A new stream on the same call: forgets buffer and pending marks, keeps the timing totals.
  void reset(TimePoint now);

  // Nothing left to play and no mark waiting.
  bool idle(TimePoint now) const { return playout_end_ <= now && pending_.empty(); }
  // When the queued audio ends (in the past when the buffer is empty).
  TimePoint playout_end() const { return playout_end_; }
  // When the next pending mark falls due, if any.
  std::optional<TimePoint> next_mark_due() const;
  std::size_t pending_marks() const { return pending_.size(); }

  const FrameTiming& timing() const { return timing_; }

 private:
  struct PendingMark {
    std::string name;
    TimePoint due;
  };

  TimePoint playout_end_{};
  std::deque<PendingMark> pending_;
  bool in_utterance_ = false;
  FrameTiming timing_;
};

}  // namespace voxgate::sim
