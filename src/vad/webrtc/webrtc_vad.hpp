// The WebRTC voice activity detector, through the public AudioProcessing (APM) API of
// libwebrtc-audio-processing 0.3 (Debian 12), as engines.md §4 and its Conclusions recommend:
// `voice_detection()` on 10 ms AudioFrames at 8 kHz, the classic WebRTC GMM VAD.
//
// Contract:
// - WebRtcVadEngine holds only options and is thread-safe; open() gives each call its own
//   detector, which owns one APM instance and is used on one strand only (no locks).
// - A VadDetector::is_speech() frame is 20 ms = 160 samples at 8 kHz (audio/frames.hpp). It is
//   fed to APM as two 10 ms halves (APM takes only 10 ms frames), and the 20 ms frame is speech
//   when EITHER half is. Why "either": the endpointer downstream wants the earliest onset and
//   fewest gaps inside an utterance, and the detector's false alarms do not come from single
//   halves (engines.md §4: 0 % false alarms after 150 ms of start-up, even at ~20 dB SNR); the
//   measured figures are in the report of this module (bench/vad_bench.cpp).
// - Frames of any other length return false and are not fed to APM.
// - An energy gate on top of WebRTC's decision (WebRtcVadOptions::gate_db) drops the VAD's
//   hangover after short bursts; see there for why.
// - The first ~150 ms after open()/reset() may flag noise as speech while the detector learns
//   the noise floor (engines.md §4); the endpointer's min_speech_ms absorbs most of that.
// - The APM API is specific to webrtc-audio-processing 0.3; newer packages (1.x) changed it.
//   Only webrtc_vad.cpp includes its headers.
#pragma once

#include <memory>
#include <string_view>

#include "util/result.hpp"
#include "vad/engine.hpp"

namespace voxgate::vad {

// How readily a frame is called speech; maps 1:1 onto webrtc::VoiceDetection::Likelihood,
// which maps onto the WebRTC VAD aggressiveness modes: kVeryLow = mode 3 (most aggressive),
// kLow = mode 2, kModerate = mode 1, kHigh = mode 0 (engines.md §4).
enum class Likelihood { kVeryLow, kLow, kModerate, kHigh };

// Measured on the 128-utterance test set with the default Endpointer (bench/vad_bench.cpp; clean,
// and white noise at -50 and -44 dBFS): every setting below gives one turn per utterance and no
// false alarm after 150 ms, except plain kLow at -44 dBFS (one utterance held open 620 ms).
struct WebRtcVadOptions {
  // engines.md Conclusions: kLow or kVeryLow (mode 2/3). kLow: speech recall 99.9 / 98.9 /
  // 93.2 % (clean / -50 / -44 dBFS, gated) against 99.3 / 97.0 / 91.6 % for kVeryLow, and
  // kVeryLow started 3 kal utterances 220 ms late (a first syllable it missed).
  Likelihood likelihood = Likelihood::kLow;
  // The energy gate: a 10 ms half counts as speech only if WebRTC says so AND its energy is at
  // least gate_db above an adaptive noise floor. Why: WebRTC's VAD holds its decision for a
  // hangover of several blocks after any burst it takes for speech, so a 20 ms click flags
  // 100 ms and a 60 ms click 180-220 ms (measured, every likelihood): long enough to start a
  // turn and to fire barge-in. The hangover blocks carry only noise energy, and the gate drops
  // them. On speech it also trims the hangover after the last syllable: end lag median/max
  // 20/190 ms instead of 110/310 ms (clean) and 0/10 instead of 100/620 ms (-44 dBFS noise).
  // Its price is weak speech near the noise: recall at -44 dBFS is 93.2 % at 6 dB, 97.8 % at
  // 3 dB, 98.8 % without; turns, starts and gaps (max 220 ms) were the same for 3 and 6 dB.
  // 6 dB leaves more margin for real, less stationary line noise than the white test noise.
  // 0 turns the gate off (plain WebRTC decisions).
  double gate_db = 6.0;
};

class WebRtcVadEngine final : public VadEngine {
 public:
  // Creates the engine after checking that APM can be created and configured with `options`
  // on this machine; the error (kUnavailable) names what failed. For start-up.
  static util::Result<std::unique_ptr<WebRtcVadEngine>> create(WebRtcVadOptions options = {});

  explicit WebRtcVadEngine(WebRtcVadOptions options = {}) : options_(options) {}

  std::string_view name() const override { return "webrtc"; }

  // A new detector with its own APM instance. If APM cannot be created (which create() has
  // ruled out at start-up, so only on memory exhaustion) the detector logs one error and
  // answers false for every frame: that call loses barge-in and endpointing, the process
  // goes on (HOUSE-STYLE.md, Errors).
  std::unique_ptr<VadDetector> open() const override;

  const WebRtcVadOptions& options() const { return options_; }

 private:
  WebRtcVadOptions options_;
};

}  // namespace voxgate::vad
