// Tests for the openai TTS backend (tts/openai) against the OpenAI-compatible stand-in of
// tests/fakes: one request per sentence, audio delivered in order as 8 kHz mu-law, PCM and
// WAV answers, and failures as errors.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>

#include <optional>
#include <vector>

#include "openai_fake.hpp"
#include "run_until.hpp"
#include "tts/openai/openai_tts.hpp"

namespace voxgate::tts {
namespace {

using namespace std::chrono_literals;
using testing::FakeRoute;
using testing::OpenAiFake;
using ::testing::HasSubstr;

struct Spoken {
  std::vector<SentenceAudio> sentences;
  std::optional<util::Result<Done>> done;
};

class OpenAiTtsTest : public ::testing::Test {
 protected:
  std::unique_ptr<TtsEngine> engine(std::chrono::milliseconds timeout = 5s) {
    auto client = http::Client::create({.allowed_hosts = {"127.0.0.1"}});
    EXPECT_TRUE(client.ok());
    return std::make_unique<OpenAiTtsEngine>(
        std::shared_ptr<http::Client>(std::move(*client)),
        OpenAiTtsOptions{.base_url = fake_.base_url() + "/v1",
                         .api_key = "sk-2",
                         .model = "tts-1",
                         .voice = "nova",
                         .timeout = timeout});
  }

  Spoken speak(TtsEngine& tts, std::string text) {
    Spoken spoken;
    auto job = tts.synthesize(
        std::move(text), io_.get_executor(),
        [&](SentenceAudio audio) { spoken.sentences.push_back(std::move(audio)); },
        [&](util::Result<Done> done) { spoken.done.emplace(done); });
    EXPECT_FALSE(spoken.done.has_value());
    EXPECT_TRUE(test_support::run_until(io_, [&] { return spoken.done.has_value(); }));
    return spoken;
  }

  boost::asio::io_context io_;
  OpenAiFake fake_;
};

TEST_F(OpenAiTtsTest, EachSentenceIsRequestedAndDeliveredInOrderAt8kHz) {
  fake_.require_api_key("sk-2");
  fake_.set_failure(FakeRoute::kSpeech, testing::Failure::none());
  auto tts = engine();
  const Spoken spoken = speak(*tts, "Hi. We are open from nine to five every day. Bye!");
  ASSERT_TRUE(spoken.done->ok()) << spoken.done->error().message;
  EXPECT_EQ((*spoken.done)->sentences, 3u);
  ASSERT_EQ(spoken.sentences.size(), 3u);
  const std::vector<std::string> texts{"Hi.", "We are open from nine to five every day.", "Bye!"};
  for (std::size_t i = 0; i < 3; ++i) {
    EXPECT_EQ(spoken.sentences[i].index, i);
    EXPECT_EQ(spoken.sentences[i].text, texts[i]);
    // The fake speaks 60 ms per character at 24 kHz: 480 mu-law bytes per character at 8 kHz.
    EXPECT_NEAR(static_cast<double>(spoken.sentences[i].mulaw.size()),
                480.0 * static_cast<double>(texts[i].size()), 480.0)
        << i;
  }
  const auto requests = fake_.requests(FakeRoute::kSpeech);
  ASSERT_EQ(requests.size(), 3u);
  for (const auto& request : requests) {
    EXPECT_EQ(request.json->at("model"), "tts-1");
    EXPECT_EQ(request.json->at("voice"), "nova");
    EXPECT_EQ(request.json->at("response_format"), "pcm");
  }
}

TEST_F(OpenAiTtsTest, EmptyTextIsDoneWithNothing) {
  auto tts = engine();
  const Spoken spoken = speak(*tts, "  ");
  ASSERT_TRUE(spoken.done->ok());
  EXPECT_EQ((*spoken.done)->sentences, 0u);
  EXPECT_EQ(fake_.request_count(FakeRoute::kSpeech), 0u);
}

TEST_F(OpenAiTtsTest, FailuresEndTheJobWithAnError) {
  auto tts = engine(400ms);
  fake_.set_failure(FakeRoute::kSpeech, testing::Failure::server_error());
  const Spoken failed = speak(*tts, "One. Two.");
  ASSERT_FALSE(failed.done->ok());
  EXPECT_THAT(failed.done->error().message, HasSubstr("HTTP 500"));
  EXPECT_TRUE(failed.sentences.empty());

  fake_.set_failure(FakeRoute::kSpeech, testing::Failure::malformed());
  EXPECT_EQ(speak(*tts, "One.").done->error().code, util::ErrorCode::kInvalidInput);
  fake_.set_failure(FakeRoute::kSpeech, testing::Failure::stall());
  EXPECT_EQ(speak(*tts, "One.").done->error().code, util::ErrorCode::kTimeout);
}

TEST_F(OpenAiTtsTest, CancelSilencesTheJob) {
  auto tts = engine();
  fake_.set_failure(FakeRoute::kSpeech, testing::Failure::delayed(100ms));
  bool called = false;
  auto job = tts->synthesize(
      "One. Two.", io_.get_executor(), [&](SentenceAudio) { called = true; },
      [&](util::Result<Done>) { called = true; });
  ASSERT_TRUE(fake_.wait_for_requests(FakeRoute::kSpeech, 1, 2s));
  job->cancel();
  test_support::run_until(io_, [] { return false; }, 300ms);
  EXPECT_FALSE(called);
}

}  // namespace
}  // namespace voxgate::tts
