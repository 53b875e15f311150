#include "stt/openai/openai_stt.hpp"

#include <boost/json.hpp>

#include <cctype>
#include <cstdint>
#include <random>
#include <utility>
#include <vector>

#include "http/api_error.hpp"
#include "audio/wav.hpp"

namespace voxgate::stt {

namespace json = boost::json;

namespace {

constexpr int kRateHz = 8000;
// Whisper reads at most 224 tokens of prompt; a few hundred characters of phrases is plenty.
constexpr std::size_t kMaxPromptChars = 600;

std::string random_boundary() {
  static thread_local std::mt19937_64 random{std::random_device{}()};
  return "voxgate-" + std::to_string(random()) + std::to_string(random());
}

void add_field(std::string& body, const std::string& boundary, std::string_view name,
               std::string_view value) {
  body += "--" + boundary + "\r\nContent-Disposition: form-data; name=\"";
  body.append(name);
  body += "\"\r\n\r\n";
  body.append(value);
  body += "\r\n";
}

std::string prompt_of(const SttContext& context) {
  std::string prompt;
  for (const std::string& phrase : context.expected_phrases) {
    if (prompt.size() + phrase.size() + 2 > kMaxPromptChars) break;
    if (!prompt.empty()) prompt += ", ";
    prompt += phrase;
  }
  return prompt;
}

class OpenAiSttStream final : public SttStream {
 public:
  OpenAiSttStream(std::shared_ptr<http::Client> client, const OpenAiSttOptions& options,
                  boost::asio::any_io_executor executor, std::string prompt)
      : client_(std::move(client)),
        options_(options),
        executor_(std::move(executor)),
        prompt_(std::move(prompt)) {}
  ~OpenAiSttStream() override { cancel(); }

  void start_utterance() override {
    cancel();
    pcm_.clear();
  }

  void feed(std::span<const std::int16_t> pcm_8k) override {
    const auto limit = static_cast<std::size_t>(options_.max_utterance_s * kRateHz);
    const std::size_t room = limit > pcm_.size() ? limit - pcm_.size() : 0;
    pcm_.insert(pcm_.end(), pcm_8k.begin(), pcm_8k.begin() + static_cast<std::ptrdiff_t>(
                                                              std::min(room, pcm_8k.size())));
  }

  void finish(std::function<void(util::Result<Transcript>)> done) override {
    const double audio_s = static_cast<double>(pcm_.size()) / kRateHz;
    const std::vector<std::uint8_t> wav = audio::encode_wav_pcm16(pcm_, kRateHz);
    pcm_.clear();
    const std::string boundary = random_boundary();
    http::Request request;
    request.method = "POST";
    request.url = options_.base_url + "/audio/transcriptions";
    request.headers = {{"Content-Type", "multipart/form-data; boundary=" + boundary},
                       {"Accept", "application/json"}};
    if (!options_.api_key.empty()) {
      request.headers.emplace_back("Authorization", "Bearer " + options_.api_key);
    }
    request.timeout = options_.timeout;
    request.max_response_bytes = 1u << 20;
    std::string& body = request.body;
    body.reserve(wav.size() + 1024);
    add_field(body, boundary, "model", options_.model);
    add_field(body, boundary, "response_format", "json");
    if (!options_.language.empty()) add_field(body, boundary, "language", options_.language);
    if (!prompt_.empty()) add_field(body, boundary, "prompt", prompt_);
    body += "--" + boundary +
            "\r\nContent-Disposition: form-data; name=\"file\"; filename=\"utterance.wav\"\r\n"
            "Content-Type: audio/wav\r\n\r\n";
    body.append(reinterpret_cast<const char*>(wav.data()), wav.size());
    body += "\r\n--" + boundary + "--\r\n";

    const auto started = std::chrono::steady_clock::now();
    // Cancelled on this strand before the stream goes (http/client.hpp): `this` is alive.
    transfer_ = client_->start(
        std::move(request), executor_,
        [this, audio_s, started, done = std::move(done)](util::Result<http::Response> response) {
          const auto finished = std::move(transfer_);  // keeps this callback alive to its end
          done(transcript_of(response, audio_s, started));
        });
  }

  void cancel() override {
    if (transfer_) transfer_->cancel();
    transfer_.reset();
  }

 private:
  static util::Result<Transcript> transcript_of(const util::Result<http::Response>& response,
                                                double audio_s,
                                                std::chrono::steady_clock::time_point started) {
    if (!response.ok()) return response.error();
    if (response->status < 200 || response->status > 299) {
      return util::Error{util::ErrorCode::kUnavailable,
                         "transcription API answered HTTP " + std::to_string(response->status) +
                             ": " + http::api_error_message(response->body)};
    }
    boost::system::error_code ec;
    const json::value value = json::parse(response->body, ec);
    const json::value* text = nullptr;
    if (!ec && value.is_object()) text = value.get_object().if_contains("text");
    if (text == nullptr || !text->is_string()) {
      return util::Error{util::ErrorCode::kInvalidInput,
                         "transcription API answer has no \"text\" string"};
    }
    Transcript transcript;
    transcript.text = normalize_transcript(text->get_string());
    transcript.audio_s = audio_s;
    transcript.decode_ms = response->total_ms;
    transcript.finish_wait_ms =
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - started)
            .count();
    return transcript;
  }

  std::shared_ptr<http::Client> client_;
  const OpenAiSttOptions options_;
  boost::asio::any_io_executor executor_;
  std::string prompt_;
  std::vector<std::int16_t> pcm_;
  std::shared_ptr<http::Transfer> transfer_;
};

}  // namespace

std::string normalize_transcript(std::string_view text) {
  std::string out;
  bool space = false;
  for (const char c : text) {
    const auto u = static_cast<unsigned char>(c);
    if (std::isalnum(u) || c == '\'' || u >= 0x80) {
      if (space && !out.empty()) out += ' ';
      space = false;
      out += static_cast<char>(std::tolower(u));
    } else {
      space = true;  // whitespace and punctuation separate words
    }
  }
  return out;
}

OpenAiSttEngine::OpenAiSttEngine(std::shared_ptr<http::Client> client, OpenAiSttOptions options)
    : client_(std::move(client)), options_(std::move(options)) {}

std::unique_ptr<SttStream> OpenAiSttEngine::open(boost::asio::any_io_executor executor,
                                                 const SttContext& context) {
  return std::make_unique<OpenAiSttStream>(client_, options_, std::move(executor),
                                           prompt_of(context));
}

}  // namespace voxgate::stt
