// The flite 2.2 TTS backend: the CMU voices linked into the binary (cmu_us_slt, rms, awb, kal).
//
// engines.md §3 and Conclusions: flite with a clustergen voice is the default local TTS, RTF
// about 0.012 (a 10-word sentence in 40-50 ms); slt (female) is the default voice, rms (male)
// was recognized best after the phone chain; kal is a natively 8 kHz diphone voice, lower in
// quality. Each sentence is made with flite_text_to_wave, resampled from the voice's rate
// (16 kHz; kal 8 kHz) to 8 kHz and mu-law encoded.
//
// Contract (see TtsEngine in tts/engine.hpp for the callback rules):
// - Build with make_flite_engine(); an unknown voice gives kUnavailable, never a crash.
// - Thread-safe. All synthesis runs on the engine's one worker thread; flite keeps global and
//   voice-level state, so synthesis is also serialized across every FliteEngine in the process
//   (engines.md §3: one synthesis worker per process). Keep one engine per process.
// - Empty text (nothing to speak): on_done with kInvalidInput. A full queue: kUnavailable.
// - Destroy the engine only after its jobs are finished or cancelled: queued jobs are dropped
//   without callbacks.
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

struct cst_voice_struct;  // flite's cst_voice

namespace voxgate::tts {

struct FliteOptions {
  // "slt", "rms", "awb" or "kal" (the "cmu_us_" prefix is accepted too).
  std::string voice = "slt";
  std::size_t max_pending_jobs = SynthWorker::kDefaultMaxPendingJobs;
};

class FliteEngine final : public TtsEngine {
 public:
  std::string_view name() const override { return name_; }
  std::unique_ptr<TtsJob> synthesize(std::string text, boost::asio::any_io_executor executor,
                                     std::function<void(SentenceAudio)> on_audio,
                                     std::function<void(util::Result<Done>)> on_done) override;

  // The voice's own output rate before resampling to 8 kHz (16000, or 8000 for kal).
  int voice_rate_hz() const { return voice_rate_hz_; }
  std::size_t refused_jobs() const { return worker_->refused_jobs(); }

 private:
  friend util::Result<std::unique_ptr<FliteEngine>> make_flite_engine(FliteOptions options);
  FliteEngine(std::string name, cst_voice_struct* voice, int voice_rate_hz,
              std::size_t max_pending_jobs);

  std::string name_;         // "flite/<voice>"
  cst_voice_struct* voice_;  // process-wide, registered once, never freed
  int voice_rate_hz_;
  std::unique_ptr<SynthWorker> worker_;  // last: its thread stops before the rest goes
};

// Registers the voice (once per process) and starts the engine's worker thread.
util::Result<std::unique_ptr<FliteEngine>> make_flite_engine(FliteOptions options = {});

}  // namespace voxgate::tts
