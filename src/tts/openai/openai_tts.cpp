#include "tts/openai/openai_tts.hpp"

#include <boost/asio/post.hpp>
#include <boost/json.hpp>

#include <cstdint>
#include <optional>
#include <utility>
#include <vector>

#include "http/api_error.hpp"
#include "audio/g711.hpp"
#include "audio/resampler.hpp"
#include "audio/wav.hpp"

namespace voxgate::tts {

namespace json = boost::json;

namespace {

constexpr int kCallRateHz = 8000;

util::Result<std::vector<std::uint8_t>> to_mulaw(const http::Response& response, int pcm_rate_hz) {
  const std::string& body = response.body;
  if (body.starts_with("RIFF")) {
    const audio::DecodeResult decoded = audio::decode_audio(
        {reinterpret_cast<const std::uint8_t*>(body.data()), body.size()});
    if (!decoded.audio) {
      return util::Error{util::ErrorCode::kInvalidInput,
                         "speech API sent a WAV that does not decode: " + decoded.message};
    }
    return audio::to_call_format(*decoded.audio);
  }
  const std::string_view type = response.header("content-type");
  if (type.starts_with("application/json") || type.starts_with("text/")) {
    return util::Error{util::ErrorCode::kInvalidInput,
                       "speech API sent " + std::string(type) + " instead of audio"};
  }
  if (body.size() % 2 != 0) {
    return util::Error{util::ErrorCode::kInvalidInput,
                       "speech API sent PCM with an odd number of bytes"};
  }
  std::vector<std::int16_t> pcm(body.size() / 2);
  for (std::size_t i = 0; i < pcm.size(); ++i) {  // little-endian, whatever this machine is
    const auto lo = static_cast<std::uint8_t>(body[2 * i]);
    const auto hi = static_cast<std::uint8_t>(body[2 * i + 1]);
    pcm[i] = static_cast<std::int16_t>(static_cast<std::uint16_t>(lo | (hi << 8)));
  }
  const std::vector<std::int16_t> pcm_8k = audio::resample(pcm, pcm_rate_hz, kCallRateHz);
  std::vector<std::uint8_t> mulaw;
  audio::encode_ulaw(pcm_8k, mulaw);
  return mulaw;
}

// One reply's sentences. Lives on the caller's executor: every callback of its requests runs
// there, and `cancel` is called there (tts/engine.hpp), so it needs no lock.
class OpenAiTtsJob final : public TtsJob, public std::enable_shared_from_this<OpenAiTtsJob> {
 public:
  OpenAiTtsJob(std::shared_ptr<http::Client> client, const OpenAiTtsOptions& options,
               boost::asio::any_io_executor executor, std::vector<std::string> sentences,
               std::function<void(SentenceAudio)> on_audio,
               std::function<void(util::Result<Done>)> on_done)
      : client_(std::move(client)),
        options_(options),
        executor_(std::move(executor)),
        sentences_(std::move(sentences)),
        results_(sentences_.size()),
        transfers_(sentences_.size()),
        on_audio_(std::move(on_audio)),
        on_done_(std::move(on_done)) {}

  void start() {
    if (sentences_.empty()) {
      // Nothing to say: done, but never inline (tts/engine.hpp).
      boost::asio::post(executor_, [self = shared_from_this()] {
        if (!self->cancelled_) self->on_done_(Done{0});
      });
      return;
    }
    while (next_request_ < sentences_.size() && in_flight_ < options_.max_parallel) request_next();
  }

  void cancel() override {
    cancelled_ = true;
    cancel_requests();
  }

 private:
  struct Made {
    std::vector<std::uint8_t> mulaw;
    double synth_ms = 0;
  };

  void request_next() {
    const std::size_t index = next_request_++;
    ++in_flight_;
    http::Request request;
    request.method = "POST";
    request.url = options_.base_url + "/audio/speech";
    request.headers = {{"Content-Type", "application/json"}};
    if (!options_.api_key.empty()) {
      request.headers.emplace_back("Authorization", "Bearer " + options_.api_key);
    }
    request.body = json::serialize(json::object{{"model", options_.model},
                                                {"input", sentences_[index]},
                                                {"voice", options_.voice},
                                                {"response_format", "pcm"}});
    request.timeout = options_.timeout;
    transfers_[index] = client_->start(
        std::move(request), executor_,
        [self = shared_from_this(), index](util::Result<http::Response> response) {
          self->on_response(index, response);
        });
  }

  void on_response(std::size_t index, const util::Result<http::Response>& response) {
    if (cancelled_ || failed_) return;
    --in_flight_;
    transfers_[index].reset();
    if (!response.ok()) return fail(response.error());
    if (response->status < 200 || response->status > 299) {
      return fail(util::Error{util::ErrorCode::kUnavailable,
                              "speech API answered HTTP " + std::to_string(response->status) +
                                  ": " + http::api_error_message(response->body)});
    }
    auto mulaw = to_mulaw(*response, options_.pcm_rate_hz);
    if (!mulaw.ok()) return fail(mulaw.error());
    results_[index] = Made{std::move(*mulaw), response->total_ms};
    // Deliver in order whatever is ready at the front.
    while (next_delivery_ < results_.size() && results_[next_delivery_]) {
      Made& made = *results_[next_delivery_];
      on_audio_(SentenceAudio{.index = next_delivery_,
                              .text = sentences_[next_delivery_],
                              .mulaw = std::move(made.mulaw),
                              .synth_ms = made.synth_ms});
      if (cancelled_) return;  // the listener may cancel from inside on_audio
      results_[next_delivery_].reset();
      ++next_delivery_;
    }
    if (next_delivery_ == sentences_.size()) return on_done_(Done{sentences_.size()});
    while (next_request_ < sentences_.size() && in_flight_ < options_.max_parallel) request_next();
  }

  void cancel_requests() {
    for (auto& transfer : transfers_) {
      if (transfer) transfer->cancel();
      transfer.reset();
    }
  }

  void fail(util::Error error) {
    failed_ = true;
    cancel_requests();
    on_done_(std::move(error));
  }

  std::shared_ptr<http::Client> client_;
  const OpenAiTtsOptions options_;  // a copy: a job may outlive the engine at shutdown
  boost::asio::any_io_executor executor_;
  std::vector<std::string> sentences_;
  std::vector<std::optional<Made>> results_;
  std::vector<std::shared_ptr<http::Transfer>> transfers_;
  std::function<void(SentenceAudio)> on_audio_;
  std::function<void(util::Result<Done>)> on_done_;
  std::size_t next_request_ = 0;
  std::size_t next_delivery_ = 0;
  std::size_t in_flight_ = 0;
  bool cancelled_ = false;
  bool failed_ = false;
};

// The engine hands out a handle; the job itself stays alive while requests are in flight.
class JobHandle final : public TtsJob {
 public:
  explicit JobHandle(std::shared_ptr<OpenAiTtsJob> job) : job_(std::move(job)) {}
  ~JobHandle() override { job_->cancel(); }
  void cancel() override { job_->cancel(); }

 private:
  std::shared_ptr<OpenAiTtsJob> job_;
};

}  // namespace

OpenAiTtsEngine::OpenAiTtsEngine(std::shared_ptr<http::Client> client, OpenAiTtsOptions options)
    : client_(std::move(client)), options_(std::move(options)) {}

std::unique_ptr<TtsJob> OpenAiTtsEngine::synthesize(
    std::string text, boost::asio::any_io_executor executor,
    std::function<void(SentenceAudio)> on_audio, std::function<void(util::Result<Done>)> on_done) {
  auto job = std::make_shared<OpenAiTtsJob>(client_, options_, std::move(executor),
                                            split_sentences(text), std::move(on_audio),
                                            std::move(on_done));
  job->start();
  return std::make_unique<JobHandle>(std::move(job));
}

}  // namespace voxgate::tts
