// The endpointer: turns a VadDetector's per-frame speech flags into turn events — the caller
// started talking, talked long enough to interrupt the agent, finished.
//
//   frame_8k ──► VadDetector::is_speech ──► Endpointer::push(is_speech, frame_time)
//                                                │
//            kSpeechStart ──► open the recognizer utterance (speech_start = first speech frame)
//            kBargeIn     ──► stop the agent's audio, if it is talking (the caller decides)
//            kEndOfUtterance ► end the recognizer utterance; turn latency runs from last_speech
//
// Contract:
// - Pure logic, no clock and no I/O: the caller passes each 20 ms frame's flag and the frame's
//   time stamp. Durations are counted in frames (frame_ms each), i.e. in audio time, so network
//   jitter in when frames arrive does not bend them; the time stamps are only reported back.
// - One event at most per frame. States: idle → (speech for min_speech_ms) → in utterance →
//   (silence for endpoint_silence_ms, or max_utterance_s) → idle.
// - Not thread-safe; one per call, used on the call's strand like its VadDetector.
#pragma once

#include <chrono>
#include <cstdint>

#include "audio/frames.hpp"

namespace voxgate::vad {

struct EndpointerOptions {
  // Silence after speech that ends the turn. It must exceed the gaps the VAD leaves inside an
  // utterance: 140-160 ms max on the TTS set, 200-260 ms on real read speech, longer in
  // spontaneous speech (engines.md §4 and Conclusions: 300-500 ms).
  int endpoint_silence_ms = 500;
  // Contiguous speech needed before a turn starts: clicks, coughs and the detector's start-up
  // false alarms (first ~150 ms, engines.md §4) that are shorter never start one.
  int min_speech_ms = 100;
  // Shorter speech runs that come before the run which starts the turn, each separated from the
  // next by at most this much silence, belong to the turn: speech_start is the first frame of
  // the earliest. Why: a short first syllable is often split from the rest by a stop or a pause
  // ("what | time"), and the turn should start where the caller did (measured on the test set:
  // starts 220 ms late without it). They still cannot start a turn on their own. 0: off.
  int start_gap_ms = 200;
  // An utterance that lasts this long is ended by force (kEndOfUtterance, kMaxLength), so a
  // noisy line or a monologue cannot hold the recognizer open forever.
  int max_utterance_s = 30;
  // Speech in the utterance (speech frames only, gaps not counted) before kBargeIn.
  int barge_in_min_speech_ms = 200;
  // Duration of one pushed frame (audio/frames.hpp: Twilio's 20 ms).
  int frame_ms = audio::kFrameMs;
};

enum class EndpointEvent {
  kNone,
  // Speech has lasted min_speech_ms without a break; the turn began at speech_start.
  kSpeechStart,
  // Speech frames in this utterance have reached barge_in_min_speech_ms. At most once per
  // utterance, always after kSpeechStart (at least one frame later).
  kBargeIn,
  // The turn is over: endpoint_silence_ms of silence after last_speech, or max_utterance_s.
  // After a forced end, speech that goes on starts a new turn once it has lasted min_speech_ms.
  kEndOfUtterance,
};

enum class EndReason { kSilence, kMaxLength };

struct EndpointerUpdate {
  using TimePoint = std::chrono::steady_clock::time_point;

  EndpointEvent event = EndpointEvent::kNone;
  // For every event but kNone: the time stamp of the utterance's first speech frame.
  TimePoint speech_start{};
  // For kEndOfUtterance: the time stamp of the utterance's last speech frame (its audio ends
  // frame_ms later). Turn latency is measured from here.
  TimePoint last_speech{};
  // For kEndOfUtterance: why it ended.
  EndReason end_reason = EndReason::kSilence;
};

class Endpointer {
 public:
  using TimePoint = std::chrono::steady_clock::time_point;

  // Option values below one frame count as one frame.
  explicit Endpointer(EndpointerOptions options = {});

  // Feeds one frame: its speech flag and its time stamp (frames in order, one per frame_ms).
  EndpointerUpdate push(bool is_speech, TimePoint frame_time);

  // True between kSpeechStart and kEndOfUtterance.
  bool in_utterance() const { return state_ == State::kInUtterance; }

  // Back to idle, forgetting any utterance in progress (no event), as at the start of a call.
  void reset();

  const EndpointerOptions& options() const { return options_; }

 private:
  enum class State { kIdle, kInUtterance };

  void drop_chain();

  EndpointerOptions options_;
  // The options in frames.
  std::int64_t endpoint_silence_frames_;
  std::int64_t min_speech_frames_;
  std::int64_t max_utterance_frames_;
  std::int64_t barge_in_frames_;
  std::int64_t start_gap_frames_;

  State state_ = State::kIdle;
  // Idle: the current run of speech frames (length), and the chain of earlier short runs that
  // would belong to a turn starting now: when it began, its frames and its speech frames before
  // the current run, and the silence since its last speech frame.
  std::int64_t run_frames_ = 0;
  TimePoint chain_start_{};
  std::int64_t chain_frames_ = 0;
  std::int64_t chain_speech_frames_ = 0;
  std::int64_t gap_frames_ = 0;
  // In utterance.
  TimePoint speech_start_{};
  TimePoint last_speech_{};
  std::int64_t utterance_frames_ = 0;  // frames since speech_start_, inclusive
  std::int64_t speech_frames_ = 0;     // speech frames among them
  std::int64_t silence_frames_ = 0;    // frames since last_speech_
  bool barge_in_sent_ = false;
};

}  // namespace voxgate::vad
