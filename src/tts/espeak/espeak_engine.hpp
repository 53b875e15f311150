// The espeak-ng 1.51 TTS backend (libespeak-ng, Debian's data path), voice "en-us" by default.
//
// engines.md §3: espeak-ng is the fastest local engine (RTF 0.0008, a 10-word sentence in about
// 2 ms, 22.05 kHz output) but robotic, and was recognized worst of all voices after the phone
// chain; flite is the default, espeak-ng the light fallback. Each sentence is synthesized in
// AUDIO_OUTPUT_SYNCHRONOUS mode through the synth callback, resampled 22050 -> 8000 Hz and
// mu-law encoded.
//
// Contract (see TtsEngine in tts/engine.hpp for the callback rules):
// - Build with make_espeak_engine(); a missing data path or unknown voice gives kUnavailable
//   (espeak-ng is told not to exit the process), never a crash.
// - Thread-safe. espeak-ng has one global synthesizer (voice, callback, parameters), so it is
//   initialized once per process and every espeak call in the process is serialized; each
//   engine runs its jobs on its own one worker thread (engines.md §3). Keep one engine per
//   process.
// - Cancellation also stops the sentence in progress (the synth callback aborts).
// - Empty text: on_done with kInvalidInput. A full queue: kUnavailable.
// - Destroy the engine only after its jobs are finished or cancelled.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <cstddef>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "tts/engine.hpp"
#include "tts/synth_worker.hpp"
#include "util/result.hpp"

namespace voxgate::tts {

struct EspeakOptions {
  std::string voice = "en-us";  // an espeak-ng voice name, as for `espeak-ng -v`
  std::size_t max_pending_jobs = SynthWorker::kDefaultMaxPendingJobs;
};

class EspeakEngine final : public TtsEngine {
 public:
  std::string_view name() const override { return name_; }
  std::unique_ptr<TtsJob> synthesize(std::string text, boost::asio::any_io_executor executor,
                                     std::function<void(SentenceAudio)> on_audio,
                                     std::function<void(util::Result<Done>)> on_done) override;

  // espeak-ng's output rate before resampling to 8 kHz (22050 with Debian's data).
  int voice_rate_hz() const { return voice_rate_hz_; }
  std::size_t refused_jobs() const { return worker_->refused_jobs(); }

 private:
  friend util::Result<std::unique_ptr<EspeakEngine>> make_espeak_engine(EspeakOptions options);
  EspeakEngine(std::string voice, int voice_rate_hz, std::size_t max_pending_jobs);

  std::string name_;  // "espeak/<voice>"
  std::string voice_;
  int voice_rate_hz_;
  std::unique_ptr<SynthWorker> worker_;  // last: its thread stops before the rest goes
};

// Initializes espeak-ng (once per process), checks the voice and starts the worker thread.
util::Result<std::unique_ptr<EspeakEngine>> make_espeak_engine(EspeakOptions options = {});

}  // namespace voxgate::tts
