// The endpointer's state machine (see endpointer.hpp for the contract).
//
// Why counting frames instead of subtracting time stamps: Twilio delivers media in bursts, and
// a caller may stamp frames with their arrival time; the audio itself is exactly frame_ms per
// frame, so durations counted in frames stay right either way.
// Why the start needs *contiguous* speech: a click or cough is a short run of speech flags, and
// the WebRTC VAD's start-up false alarms come as short runs too (engines.md §4). Short runs just
// before the confirming run only move the reported start back (start_gap_ms). Once a turn has
// started, gaps shorter than endpoint_silence_ms are bridged (engines.md §4 measured gaps inside
// TTS utterances of 140-160 ms, and up to 260 ms in real speech).
#include "vad/endpointer.hpp"

#include <algorithm>

namespace voxgate::vad {
namespace {

// Milliseconds to whole frames, rounding up, at least one.
std::int64_t to_frames(std::int64_t ms, int frame_ms) {
  const std::int64_t f = std::max(frame_ms, 1);
  return std::max<std::int64_t>(1, (ms + f - 1) / f);
}

}  // namespace

Endpointer::Endpointer(EndpointerOptions options)
    : options_(options),
      endpoint_silence_frames_(to_frames(options.endpoint_silence_ms, options.frame_ms)),
      min_speech_frames_(to_frames(options.min_speech_ms, options.frame_ms)),
      // A forced end must come after the start, never on the same frame.
      max_utterance_frames_(
          std::max(to_frames(std::int64_t{options.max_utterance_s} * 1000, options.frame_ms),
                   min_speech_frames_ + 1)),
      barge_in_frames_(to_frames(options.barge_in_min_speech_ms, options.frame_ms)),
      start_gap_frames_(options.start_gap_ms > 0 ? to_frames(options.start_gap_ms, options.frame_ms)
                                                 : 0) {}

void Endpointer::reset() {
  state_ = State::kIdle;
  run_frames_ = 0;
  drop_chain();
  speech_start_ = {};
  last_speech_ = {};
  utterance_frames_ = 0;
  speech_frames_ = 0;
  silence_frames_ = 0;
  barge_in_sent_ = false;
}

void Endpointer::drop_chain() {
  chain_start_ = {};
  chain_frames_ = 0;
  chain_speech_frames_ = 0;
  gap_frames_ = 0;
}

EndpointerUpdate Endpointer::push(bool is_speech, TimePoint frame_time) {
  EndpointerUpdate update;
  if (state_ == State::kIdle) {
    if (!is_speech) {
      if (run_frames_ > 0) {  // a short run ended: it may begin or extend a chain
        chain_frames_ += run_frames_;
        chain_speech_frames_ += run_frames_;
        run_frames_ = 0;
        gap_frames_ = 0;
      }
      if (chain_frames_ > 0) {
        ++chain_frames_;
        if (++gap_frames_ > start_gap_frames_) drop_chain();
      }
      return update;
    }
    if (run_frames_ == 0 && chain_frames_ == 0) chain_start_ = frame_time;
    if (++run_frames_ < min_speech_frames_) return update;

    state_ = State::kInUtterance;
    speech_start_ = chain_start_;
    last_speech_ = frame_time;
    utterance_frames_ = chain_frames_ + run_frames_;
    speech_frames_ = chain_speech_frames_ + run_frames_;
    silence_frames_ = 0;
    barge_in_sent_ = false;
    run_frames_ = 0;
    drop_chain();
    update.event = EndpointEvent::kSpeechStart;
    update.speech_start = speech_start_;
    return update;
  }

  ++utterance_frames_;
  if (is_speech) {
    ++speech_frames_;
    last_speech_ = frame_time;
    silence_frames_ = 0;
  } else {
    ++silence_frames_;
  }
  update.speech_start = speech_start_;

  const bool too_long = utterance_frames_ >= max_utterance_frames_;
  if (too_long || silence_frames_ >= endpoint_silence_frames_) {
    state_ = State::kIdle;
    run_frames_ = 0;
    drop_chain();
    update.event = EndpointEvent::kEndOfUtterance;
    update.last_speech = last_speech_;
    update.end_reason = too_long ? EndReason::kMaxLength : EndReason::kSilence;
    return update;
  }
  if (is_speech && !barge_in_sent_ && speech_frames_ >= barge_in_frames_) {
    barge_in_sent_ = true;
    update.event = EndpointEvent::kBargeIn;
  }
  return update;
}

}  // namespace voxgate::vad
