// flite backend: voice registration, one sentence to 8 kHz mu-law, and the engine factory.
//
// flite's lexicon, feature functions and voices are process-wide C state with no locking, so
// every flite call in the process goes through one mutex (engines.md §3: use one synthesis
// worker per process). The lock costs nothing with the recommended single engine; it only
// makes a second engine (tests, a second voice) safe instead of racy.
#include "tts/flite/flite_engine.hpp"

#include <flite/flite.h>

#include <algorithm>
#include <cstdint>
#include <map>
#include <mutex>
#include <span>
#include <utility>
#include <vector>

#include "audio/g711.hpp"
#include "audio/resampler.hpp"

// The voice libraries ship no headers (flite1-dev): their registration functions by hand.
extern "C" {
cst_voice* register_cmu_us_slt(const char* voxdir);
cst_voice* register_cmu_us_rms(const char* voxdir);
cst_voice* register_cmu_us_awb(const char* voxdir);
cst_voice* register_cmu_us_kal(const char* voxdir);
}

namespace voxgate::tts {
namespace {

constexpr int kCallRateHz = 8000;

std::mutex& flite_mutex() {
  static std::mutex mutex;
  return mutex;
}

using RegisterFn = cst_voice* (*)(const char*);

struct VoiceEntry {
  std::string_view name;
  RegisterFn register_fn;
};

constexpr VoiceEntry kVoices[] = {
    {"slt", register_cmu_us_slt},
    {"rms", register_cmu_us_rms},
    {"awb", register_cmu_us_awb},
    {"kal", register_cmu_us_kal},
};

// Registers each voice once per process and keeps it: a voice is a few MB of tables
// (engines.md §3: 1.3-5.9 MB RSS) and unregistering while another engine uses it would be
// a use-after-free. Call with flite_mutex() held.
cst_voice* voice_locked(std::string_view name) {
  static std::map<std::string_view, cst_voice*> registered;
  if (const auto it = registered.find(name); it != registered.end()) return it->second;
  for (const VoiceEntry& entry : kVoices) {
    if (entry.name != name) continue;
    cst_voice* voice = entry.register_fn(nullptr);
    if (voice != nullptr) registered.emplace(entry.name, voice);
    return voice;
  }
  return nullptr;
}

struct Wave {
  std::vector<std::int16_t> pcm;
  int rate_hz = 0;
};

Wave synthesize_locked(cst_voice* voice, const std::string& text) {
  Wave wave;
  cst_wave* w = flite_text_to_wave(text.c_str(), voice);
  if (w == nullptr) return wave;
  const int n_samples = cst_wave_num_samples(w);
  if (n_samples > 0) {
    wave.pcm.assign(cst_wave_samples(w), cst_wave_samples(w) + n_samples);
  }
  wave.rate_hz = cst_wave_sample_rate(w);
  delete_wave(w);
  return wave;
}

}  // namespace

FliteEngine::FliteEngine(std::string name, cst_voice_struct* voice, int voice_rate_hz,
                         std::size_t max_pending_jobs)
    : name_(std::move(name)), voice_(voice), voice_rate_hz_(voice_rate_hz) {
  worker_ = std::make_unique<SynthWorker>(
      [voice = voice_](const std::string& sentence, const std::atomic<bool>& /*cancelled*/)
          -> util::Result<std::vector<std::uint8_t>> {
        // flite_text_to_wave cannot be interrupted; a 10-word sentence takes 4-50 ms
        // (engines.md §3). So cancellation is checked between sentences, and what this one
        // makes after a cancel is dropped by the worker.
        Wave wave;
        {
          const std::lock_guard lock(flite_mutex());
          wave = synthesize_locked(voice, sentence);
        }
        if (wave.rate_hz <= 0) {
          return util::Error{util::ErrorCode::kInternal, "flite: synthesis produced no wave"};
        }
        const std::vector<std::int16_t> pcm_8k =
            audio::resample(wave.pcm, wave.rate_hz, kCallRateHz);
        std::vector<std::uint8_t> mulaw;
        mulaw.reserve(pcm_8k.size());
        audio::encode_ulaw(pcm_8k, mulaw);
        return mulaw;
      },
      max_pending_jobs);
}

std::unique_ptr<TtsJob> FliteEngine::synthesize(std::string text,
                                                boost::asio::any_io_executor executor,
                                                std::function<void(SentenceAudio)> on_audio,
                                                std::function<void(util::Result<Done>)> on_done) {
  return worker_->start_job(std::move(text), std::move(executor), std::move(on_audio),
                            std::move(on_done));
}

util::Result<std::unique_ptr<FliteEngine>> make_flite_engine(FliteOptions options) {
  std::string_view voice_name = options.voice;
  if (voice_name.starts_with("cmu_us_")) voice_name.remove_prefix(7);
  const bool known = std::any_of(std::begin(kVoices), std::end(kVoices),
                                 [&](const VoiceEntry& e) { return e.name == voice_name; });
  if (!known) {
    return util::Error{util::ErrorCode::kUnavailable,
                       "flite: unknown voice '" + options.voice + "' (slt, rms, awb, kal)"};
  }

  cst_voice* voice = nullptr;
  Wave probe;
  {
    const std::lock_guard lock(flite_mutex());
    static const int init = flite_init();
    (void)init;
    voice = voice_locked(voice_name);
    // One word at start-up: learns the voice's output rate and warms the lexicon, so a
    // call's first sentence does not pay for it.
    if (voice != nullptr) probe = synthesize_locked(voice, "hello");
  }
  if (voice == nullptr || probe.rate_hz <= 0) {
    return util::Error{util::ErrorCode::kUnavailable,
                       "flite: voice '" + options.voice + "' failed to load"};
  }
  try {
    return std::unique_ptr<FliteEngine>(new FliteEngine("flite/" + std::string(voice_name), voice,
                                                        probe.rate_hz, options.max_pending_jobs));
  } catch (const std::exception& e) {
    // Starting the worker thread can fail (std::system_error): no exception leaves the factory.
    return util::Error{util::ErrorCode::kUnavailable, std::string("flite: ") + e.what()};
  }
}

}  // namespace voxgate::tts
