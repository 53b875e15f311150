// The openai TTS backend: an OpenAI-compatible `/audio/speech` endpoint (OpenAI's tts-1,
// Kokoro-FastAPI, openedai-speech, LocalAI). One request per sentence:
//
//   -> {"model", "input": sentence, "voice", "response_format": "pcm"}
//   <- raw 16-bit little-endian mono PCM at 24 kHz (OpenAI's documented "pcm" format), or a
//      WAV file (any rate; servers that only do WAV, recognized by its RIFF header)
//
// The answer is resampled to 8 kHz and mu-law encoded. Sentences are requested up to
// `max_parallel` at a time and delivered strictly in order, so the first plays as soon as
// it is back while the next are being made. A failed sentence (HTTP error, timeout, audio
// that does not decode) ends the job with an error; the sentences before it were delivered.
#pragma once

#include <chrono>
#include <memory>
#include <string>

#include "http/client.hpp"
#include "tts/engine.hpp"

namespace voxgate::tts {

struct OpenAiTtsOptions {
  std::string base_url = "https://api.openai.com/v1";  // "/audio/speech" is appended
  std::string api_key;
  std::string model = "tts-1";
  std::string voice = "alloy";
  int pcm_rate_hz = 24000;  // of a "pcm" answer
  std::chrono::milliseconds timeout{10'000};
  std::size_t max_parallel = 3;
};

class OpenAiTtsEngine final : public TtsEngine {
 public:
  OpenAiTtsEngine(std::shared_ptr<http::Client> client, OpenAiTtsOptions options);
  std::string_view name() const override { return "openai"; }
  std::unique_ptr<TtsJob> synthesize(std::string text, boost::asio::any_io_executor executor,
                                     std::function<void(SentenceAudio)> on_audio,
                                     std::function<void(util::Result<Done>)> on_done) override;

 private:
  std::shared_ptr<http::Client> client_;
  OpenAiTtsOptions options_;
};

}  // namespace voxgate::tts
