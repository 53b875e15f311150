// WebRTC VAD through the APM C++ API of webrtc-audio-processing 0.3 (engines.md §4).
//
// Why APM and not the raw WebRtcVad_* C functions: the .so exports them, but installs no header
// for them, so calling them means declaring an undocumented ABI ourselves (engines.md §4). APM's
// voice_detection() is the public route to the same GMM VAD (kVeryLow gave results identical to
// raw mode 3), at about twice the CPU (130-220 µs per audio second), which is still nothing
// next to the recognizer.
//
// Why an energy gate on top (WebRtcVadOptions::gate_db): the GMM VAD keeps saying "speech" for a
// hangover of several blocks after anything it took for speech, so a 20 ms click reads as 100 ms
// of speech (measured at every likelihood). The gate asks one more thing of each 10 ms block:
// energy clearly above the line's noise floor. The floor is a minimum tracker: it drops at once to
// a quieter block and rises slowly, so speech, which is loud for seconds at most between pauses,
// hardly lifts it.
#include "vad/webrtc/webrtc_vad.hpp"

#include <webrtc/common.h>
#include <webrtc/modules/audio_processing/include/audio_processing.h>
#include <webrtc/modules/interface/module_common_types.h>

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <utility>

#include "audio/frames.hpp"
#include "util/log.hpp"

namespace voxgate::vad {
namespace {

// APM's int16 interface takes exactly 10 ms per ProcessStream() (engines.md §4).
constexpr std::size_t kHalfFrameSamples = audio::kFrameSamples / 2;
static_assert(kHalfFrameSamples == static_cast<std::size_t>(audio::kTelephonyRateHz / 100));

// The floor starts at the first block's energy after open()/reset(), so it is right from the
// first 10 ms on any line (a floor that had to climb from a fixed start let a 60 ms click on a
// -50 dBFS line through for the first seconds). It starts no higher than -40 dBFS, though: a
// call may open in the middle of speech, and the floor then drops at the first pause.
constexpr double kFloorStartMaxDbfs = -40.0;
// Digital silence would take the floor to minus infinity. Clamped at -60 dBFS, the gate needs at
// least -54 dBFS: all speech passes (engines.md §4 counts speech from -45 dBFS), while breaths
// and lip noise before and after TTS speech, at -70 to -55 dBFS on the test set, do not (without
// the clamp at -60 they moved turn starts up to 160 ms early).
constexpr double kFloorMinDbfs = -60.0;
// 3 dB per second: an utterance lifts the floor by a few dB at most before its next pause, while
// a line that gets noisier is followed within seconds.
constexpr double kFloorRiseDbPerBlock = 3.0 / 100.0;

double energy_dbfs(std::span<const std::int16_t> block) {
  double sum = 0;
  for (std::int16_t x : block) sum += static_cast<double>(x) * x;
  const double mean = sum / static_cast<double>(block.size()) / (32768.0 * 32768.0);
  return mean > 0 ? 10.0 * std::log10(mean) : -200.0;
}

webrtc::VoiceDetection::Likelihood to_webrtc(Likelihood likelihood) {
  switch (likelihood) {
    case Likelihood::kVeryLow:
      return webrtc::VoiceDetection::kVeryLowLikelihood;
    case Likelihood::kLow:
      return webrtc::VoiceDetection::kLowLikelihood;
    case Likelihood::kModerate:
      return webrtc::VoiceDetection::kModerateLikelihood;
    case Likelihood::kHigh:
      return webrtc::VoiceDetection::kHighLikelihood;
  }
  return webrtc::VoiceDetection::kLowLikelihood;
}

// One APM instance with only voice detection on. Returns the instance or a sentence naming
// the step that failed.
util::Result<std::unique_ptr<webrtc::AudioProcessing>> make_apm(const WebRtcVadOptions& options) {
  // The experimental AGC is on by default in 0.3's Config; it only acts together with
  // gain_control(), which stays off, but switching it off keeps APM from building it at all.
  webrtc::Config config;
  config.Set<webrtc::ExperimentalAgc>(new webrtc::ExperimentalAgc(false));
  std::unique_ptr<webrtc::AudioProcessing> apm(webrtc::AudioProcessing::Create(config));
  if (!apm) {
    return util::Error{util::ErrorCode::kUnavailable, "webrtc APM: Create() returned null"};
  }
  webrtc::VoiceDetection* vd = apm->voice_detection();
  if (int rc = vd->set_likelihood(to_webrtc(options.likelihood)); rc != 0) {
    return util::Error{util::ErrorCode::kUnavailable,
                       "webrtc APM: set_likelihood failed with " + std::to_string(rc)};
  }
  // 10 ms VAD blocks, as APM is fed 10 ms frames; the setting engines.md §4 measured.
  if (int rc = vd->set_frame_size_ms(10); rc != 0) {
    return util::Error{util::ErrorCode::kUnavailable,
                       "webrtc APM: set_frame_size_ms(10) failed with " + std::to_string(rc)};
  }
  if (int rc = vd->Enable(true); rc != 0) {
    return util::Error{util::ErrorCode::kUnavailable,
                       "webrtc APM: voice_detection Enable failed with " + std::to_string(rc)};
  }
  if (int rc = apm->Initialize(audio::kTelephonyRateHz, audio::kTelephonyRateHz,
                               audio::kTelephonyRateHz, webrtc::AudioProcessing::kMono,
                               webrtc::AudioProcessing::kMono, webrtc::AudioProcessing::kMono);
      rc != 0) {
    return util::Error{util::ErrorCode::kUnavailable,
                       "webrtc APM: Initialize(8000 Hz mono) failed with " + std::to_string(rc)};
  }
  return apm;
}

class WebRtcVadDetector final : public VadDetector {
 public:
  WebRtcVadDetector(std::unique_ptr<webrtc::AudioProcessing> apm, double gate_db)
      : apm_(std::move(apm)), gate_db_(gate_db) {}

  bool is_speech(std::span<const std::int16_t> frame_8k) override {
    if (!apm_ || frame_8k.size() != audio::kFrameSamples) return false;
    const bool first = half_is_speech(frame_8k.first(kHalfFrameSamples));
    const bool second = half_is_speech(frame_8k.last(kHalfFrameSamples));
    return first || second;
  }

  void reset() override {
    // Initialize() re-initialises every enabled component, which for voice detection means
    // WebRtcVad_Init (noise statistics back to their start values) with the settings kept.
    if (apm_) apm_->Initialize();
    floor_known_ = false;
  }

 private:
  bool half_is_speech(std::span<const std::int16_t> half) {
    frame_.UpdateFrame(/*id=*/0, /*timestamp=*/0, half.data(), half.size(), audio::kTelephonyRateHz,
                       webrtc::AudioFrame::kNormalSpeech, webrtc::AudioFrame::kVadUnknown,
                       /*num_channels=*/1);
    if (apm_->ProcessStream(&frame_) != webrtc::AudioProcessing::kNoError) return false;
    const bool voiced = apm_->voice_detection()->stream_has_voice();
    if (gate_db_ <= 0) return voiced;
    const double e_dbfs = energy_dbfs(half);
    const double rise_limit_dbfs =
        floor_known_ ? floor_dbfs_ + kFloorRiseDbPerBlock : kFloorStartMaxDbfs;
    floor_dbfs_ = std::max(kFloorMinDbfs, std::min(e_dbfs, rise_limit_dbfs));
    floor_known_ = true;
    return voiced && e_dbfs >= floor_dbfs_ + gate_db_;
  }

  std::unique_ptr<webrtc::AudioProcessing> apm_;
  // Reused for every half frame; APM processes it in place (it is large: 7.7 KB).
  webrtc::AudioFrame frame_;
  double gate_db_;
  double floor_dbfs_ = kFloorMinDbfs;
  bool floor_known_ = false;  // false until the first block after open()/reset()
};

}  // namespace

util::Result<std::unique_ptr<WebRtcVadEngine>> WebRtcVadEngine::create(WebRtcVadOptions options) {
  auto probe = make_apm(options);
  if (!probe) return probe.error();
  return std::make_unique<WebRtcVadEngine>(options);
}

std::unique_ptr<VadDetector> WebRtcVadEngine::open() const {
  auto apm = make_apm(options_);
  if (!apm) {
    spdlog::error("vad: {}; this call runs without voice detection", apm.error().message);
    return std::make_unique<WebRtcVadDetector>(nullptr, options_.gate_db);
  }
  return std::make_unique<WebRtcVadDetector>(std::move(*apm), options_.gate_db);
}

}  // namespace voxgate::vad
