// Outbound playback pacing and mark bookkeeping for one bidirectional media stream.
//
// Twilio buffers the audio we send and plays it at 1x, in order (twilio-protocol.md §1.3). If we
// send faster than real time, what we sent is not what the caller heard, and a barge-in leaves
// seconds of stale audio in Twilio's buffer (§6 pitfalls 2, 3); if we sleep 20 ms per frame we
// fall behind and the audio crackles (§6 pitfall 5). The pacer sends fixed 160-byte frames
// (§6 pitfall 6) on a schedule computed from the start of each playout run, keeping at most
// `lead` of audio ahead of real time: enough to ride out timer jitter, little enough that a
// `clear` loses almost nothing and "played" can be estimated from the clock. Marks (§1.3) follow
// each utterance, and their echoes are sorted into played and discarded by remembering which
// marks were outstanding when we cleared.
//
//   enqueue(utterance) ──> [ frames… mark | frames… mark | … ] ──poll(now)──> due items ──> ws
//                                                                       mark echo ──> on_mark_echo
//   barge-in: interrupt(now) empties the queue; the caller then sends `clear`.
//
// Schedule: frame k (0-based) of a run is due at run_start + k*frame - lead. A run starts at the
// first enqueue while no run is active, at max(now, end of the audio already sent), so a new
// utterance arriving while earlier audio still plays continues it seamlessly, and one arriving
// later starts at once. The run ends when the queue empties. Times are never accumulated from
// previous send times, so there is no drift. A mark is due right after the last frame of its
// utterance.
//
// Contract:
// - Pure logic: no timers, no I/O; every time is passed in (steady clock). The session drives it
//   with a timer set to next_due().
// - Not thread-safe: one pacer per stream, used on the stream's strand.
// - Bounded: at most max_queued_frames frames queued (enqueue refuses more) and at most
//   kMaxOutstandingMarks marks awaiting their echo (the oldest is forgotten beyond that).
// - The constructor throws std::invalid_argument on options that make no sense (frame <= 0,
//   lead < 0, max_queued_frames == 0): a configuration error. Nothing else throws except
//   std::bad_alloc.
#pragma once

#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <span>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "audio/frames.hpp"

namespace voxgate::audio {

using Clock = std::chrono::steady_clock;

struct PacerOptions {
  // Playing time of one 160-byte frame at 8 kHz. Only tests should change it.
  std::chrono::milliseconds frame{kFrameMs};
  // How far ahead of real time audio is sent at most (plus one frame).
  std::chrono::milliseconds lead{100};
  // Bound of the local queue: 3000 frames = 60 s.
  std::size_t max_queued_frames = 3000;
};

// One frame of raw mu-law, ready for media_message().
struct OutFrame {
  std::array<std::uint8_t, kFrameSamples> mulaw;
};

// A mark to send after the frames before it (mark_message()).
struct OutMark {
  std::string name;
};

using PacerItem = std::variant<OutFrame, OutMark>;

enum class MarkFate {
  kPlayed,     // sent, echoed without a clear in between: its audio was played
  kDiscarded,  // a clear came between its sending and its echo: its audio was dropped
  kUnknown,    // not a mark we sent (or one forgotten beyond kMaxOutstandingMarks)
};

struct InterruptResult {
  // Audio the caller heard of the current playout, estimated from the clock: from the moment
  // the playout began (the first enqueue after the pacer was idle or interrupted) up to `now`,
  // capped at the audio sent. 0 when the pacer was idle.
  std::chrono::milliseconds played{0};
  // Marks sent but not yet echoed, in sending order: Twilio will echo them because of the
  // clear, and on_mark_echo() will then report them kDiscarded.
  std::vector<std::string> discarded_marks;
  // Frames queued locally and never sent.
  std::size_t dropped_frames = 0;
  // Marks queued locally and never sent, in queue order: their utterances were cut before
  // (or while) playing and Twilio will never echo them.
  std::vector<std::string> dropped_marks;
};

struct PacerStats {
  std::uint64_t frames_sent = 0;
  std::uint64_t marks_sent = 0;
  std::uint64_t marks_played = 0;     // echoes reported kPlayed
  std::uint64_t marks_discarded = 0;  // echoes reported kDiscarded
  std::uint64_t marks_unknown = 0;    // echoes reported kUnknown
  std::uint64_t marks_forgotten = 0;  // outstanding marks dropped at kMaxOutstandingMarks
  std::uint64_t clears = 0;           // interrupt() calls
  std::uint64_t frames_dropped = 0;   // queued frames emptied by interrupt()
  std::uint64_t enqueue_refused = 0;  // enqueue() calls refused by max_queued_frames
  // Polls that sent an item more than kLatePoll after it was due (or after it was enqueued, if
  // that was later), and the worst such lateness.
  std::uint64_t late_polls = 0;
  std::chrono::microseconds max_poll_lateness{0};
};

class Pacer {
 public:
  static constexpr std::size_t kMaxOutstandingMarks = 1024;
  static constexpr std::chrono::milliseconds kLatePoll{5};

  explicit Pacer(PacerOptions options = {});

  // Queues one utterance: `mulaw` split into 160-byte frames (the last one padded with
  // kUlawSilence), then a mark named `mark_name`; an empty `mark_name` queues no mark (for
  // audio streamed in pieces, with a mark after the last). Returns false and queues nothing if
  // the queue would then hold more than max_queued_frames frames. May start a run (see above).
  bool enqueue(std::span<const std::uint8_t> mulaw, std::string mark_name, Clock::time_point now);

  // Replaces the contents of `out` with the items due at `now`, in order; reuses its capacity.
  void poll(Clock::time_point now, std::vector<PacerItem>& out);
  // As above, returning a new vector.
  std::vector<PacerItem> poll(Clock::time_point now);

  // When the next item is due (possibly in the past); Clock::time_point::max() when nothing is
  // queued.
  Clock::time_point next_due() const;

  // Sorts a `mark` echoed by Twilio; see MarkFate. Marks with the same name are matched in
  // sending order (Twilio echoes in order).
  MarkFate on_mark_echo(std::string_view name);

  // Barge-in: empties the local queue and ends the run; the caller then sends `clear`. The
  // next enqueue starts a new run at once (Twilio's buffer is empty after the clear).
  InterruptResult interrupt(Clock::time_point now);

  // Nothing queued and no audio sent still playing at `now` (per the clock).
  bool idle(Clock::time_point now) const;

  // Frames queued and not yet sent.
  std::size_t queued_frames() const { return queued_frames_; }

  const PacerStats& stats() const { return stats_; }

 private:
  struct Utterance {
    std::vector<std::uint8_t> mulaw;  // a whole number of frames
    std::size_t next_frame = 0;       // frames of it already sent
    std::string mark_name;            // "" when no mark follows
    Clock::time_point enqueued_at;
    std::size_t n_frames() const { return mulaw.size() / kFrameSamples; }
  };
  struct SentMark {
    std::string name;
    bool cleared = false;  // a clear came after it was sent
  };

  // Due time of frame k of the current run.
  Clock::time_point frame_due(std::uint64_t k) const;
  // End of the audio sent so far (the playing time it covers, from the run schedule).
  Clock::time_point sent_audio_end() const;

  PacerOptions options_;
  std::deque<Utterance> queue_;
  std::size_t queued_frames_ = 0;
  bool in_run_ = false;
  Clock::time_point run_start_{};
  std::uint64_t run_frames_sent_ = 0;
  // When the audio of finished runs stops playing; min() before any audio.
  Clock::time_point audio_end_ = Clock::time_point::min();
  Clock::time_point playout_start_{};
  std::deque<SentMark> outstanding_marks_;
  PacerStats stats_;
};

}  // namespace voxgate::audio
