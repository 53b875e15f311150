// The openai STT backend: an OpenAI-compatible `/audio/transcriptions` endpoint (OpenAI's
// whisper-1 and gpt-4o-transcribe, faster-whisper-server, whisper.cpp's server, LocalAI).
//
// Such an API transcribes whole files, so a stream buffers the utterance's 8 kHz audio while
// the caller speaks (bounded: `max_utterance_s`, the rest is dropped and the transcript
// marked as cut) and `finish` POSTs it as a 16-bit WAV in multipart/form-data with `model`,
// `response_format=json`, the `language` hint and, when the dialogue expects phrases, a
// `prompt` listing them (whisper's documented way to steer vocabulary). The answer's "text"
// is normalized like the local recognizer's output: lowercase words, single spaces, no
// punctuation but apostrophes.
//
// Errors (kUnavailable for HTTP and connection failures with the API's message, kTimeout,
// kInvalidInput for an answer without "text") go to `done`; the call logs them and listens on.
#pragma once

#include <chrono>
#include <memory>
#include <string>

#include "http/client.hpp"
#include "stt/engine.hpp"

namespace voxgate::stt {

struct OpenAiSttOptions {
  std::string base_url = "https://api.openai.com/v1";  // "/audio/transcriptions" is appended
  std::string api_key;
  std::string model = "whisper-1";
  std::string language;  // "" = detect
  std::chrono::milliseconds timeout{10'000};
  double max_utterance_s = 60;
};

class OpenAiSttEngine final : public SttEngine {
 public:
  OpenAiSttEngine(std::shared_ptr<http::Client> client, OpenAiSttOptions options);
  std::string_view name() const override { return "openai"; }
  std::unique_ptr<SttStream> open(boost::asio::any_io_executor executor,
                                  const SttContext& context) override;

 private:
  std::shared_ptr<http::Client> client_;
  OpenAiSttOptions options_;
};

// "Hello, World! It's 5 o'clock." -> "hello world it's 5 o'clock".
std::string normalize_transcript(std::string_view text);

}  // namespace voxgate::stt
