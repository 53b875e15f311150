// espeak-ng backend: process-wide initialization, one sentence to 8 kHz mu-law, the factory.
//
// espeak-ng is a single global synthesizer: espeak_Initialize, the synth callback, the current
// voice and its parameters belong to the process. So initialization runs once (std::call_once)
// and every later espeak call holds one mutex; the callback finds the sentence's buffer
// through espeak's per-call user_data, not a global.
#include "tts/espeak/espeak_engine.hpp"

#include <espeak-ng/speak_lib.h>

#include <cstdint>
#include <mutex>
#include <utility>
#include <vector>

#include "audio/g711.hpp"
#include "audio/resampler.hpp"

namespace voxgate::tts {
namespace {

constexpr int kCallRateHz = 8000;
// Callback chunk length; engines.md §3 measured streaming with 20 ms buffers. In synchronous
// mode it only sets how often the callback (and so the cancel check) runs.
constexpr int kBufferMs = 20;

struct Collector {
  std::vector<std::int16_t> pcm;
  const std::atomic<bool>* cancelled = nullptr;
};

int on_samples(short* wav, int n_samples, espeak_EVENT* events) {
  if (events == nullptr) return 0;
  auto* collector = static_cast<Collector*>(events->user_data);
  if (collector == nullptr) return 0;
  if (wav != nullptr && n_samples > 0)
    collector->pcm.insert(collector->pcm.end(), wav, wav + n_samples);
  // Non-zero aborts the synthesis: a barge-in stops the sentence in progress too.
  return collector->cancelled != nullptr && collector->cancelled->load() ? 1 : 0;
}

struct Global {
  std::mutex mutex;
  int rate_hz = 0;            // > 0 once espeak_Initialize succeeded
  std::string current_voice;  // the voice espeak now has set, under mutex
};

Global& global() {
  static Global g;
  return g;
}

std::once_flag g_init_once;

void initialize_once() {
  // DONT_EXIT: without it espeak-ng calls exit() when its data is missing.
  const int rate_hz =
      espeak_Initialize(AUDIO_OUTPUT_SYNCHRONOUS, kBufferMs, nullptr, espeakINITIALIZE_DONT_EXIT);
  if (rate_hz <= 0) return;
  espeak_SetSynthCallback(on_samples);
  global().rate_hz = rate_hz;
}

// Call with global().mutex held.
bool select_voice_locked(const std::string& voice) {
  Global& g = global();
  if (g.current_voice == voice) return true;
  if (espeak_SetVoiceByName(voice.c_str()) != EE_OK) return false;
  g.current_voice = voice;
  return true;
}

}  // namespace

EspeakEngine::EspeakEngine(std::string voice, int voice_rate_hz, std::size_t max_pending_jobs)
    : name_("espeak/" + voice), voice_(std::move(voice)), voice_rate_hz_(voice_rate_hz) {
  worker_ = std::make_unique<SynthWorker>(
      [voice = voice_, rate_hz = voice_rate_hz_](
          const std::string& sentence,
          const std::atomic<bool>& cancelled) -> util::Result<std::vector<std::uint8_t>> {
        Collector collector;
        collector.cancelled = &cancelled;
        espeak_ERROR status = EE_OK;
        {
          Global& g = global();
          const std::lock_guard lock(g.mutex);
          if (!select_voice_locked(voice)) {
            return util::Error{util::ErrorCode::kUnavailable,
                               "espeak-ng: cannot select voice '" + voice + "'"};
          }
          status = espeak_Synth(sentence.c_str(), sentence.size() + 1, 0, POS_CHARACTER, 0,
                                espeakCHARS_UTF8, nullptr, &collector);
        }
        if (status != EE_OK && !cancelled.load()) {
          return util::Error{util::ErrorCode::kInternal, "espeak-ng: espeak_Synth failed"};
        }
        const std::vector<std::int16_t> pcm_8k =
            audio::resample(collector.pcm, rate_hz, kCallRateHz);
        std::vector<std::uint8_t> mulaw;
        mulaw.reserve(pcm_8k.size());
        audio::encode_ulaw(pcm_8k, mulaw);
        return mulaw;
      },
      max_pending_jobs);
}

std::unique_ptr<TtsJob> EspeakEngine::synthesize(std::string text,
                                                 boost::asio::any_io_executor executor,
                                                 std::function<void(SentenceAudio)> on_audio,
                                                 std::function<void(util::Result<Done>)> on_done) {
  return worker_->start_job(std::move(text), std::move(executor), std::move(on_audio),
                            std::move(on_done));
}

util::Result<std::unique_ptr<EspeakEngine>> make_espeak_engine(EspeakOptions options) {
  std::call_once(g_init_once, initialize_once);
  Global& g = global();
  int rate_hz = 0;
  {
    const std::lock_guard lock(g.mutex);
    rate_hz = g.rate_hz;
    if (rate_hz <= 0) {
      return util::Error{util::ErrorCode::kUnavailable,
                         "espeak-ng: initialization failed (is espeak-ng-data installed?)"};
    }
    if (!select_voice_locked(options.voice)) {
      return util::Error{util::ErrorCode::kUnavailable,
                         "espeak-ng: unknown voice '" + options.voice + "'"};
    }
  }
  try {
    return std::unique_ptr<EspeakEngine>(
        new EspeakEngine(std::move(options.voice), rate_hz, options.max_pending_jobs));
  } catch (const std::exception& e) {
    return util::Error{util::ErrorCode::kUnavailable, std::string("espeak-ng: ") + e.what()};
  }
}

}  // namespace voxgate::tts
