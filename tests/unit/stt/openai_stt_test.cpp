// Tests for the openai STT backend (stt/openai) against the OpenAI-compatible stand-in of
// tests/fakes: the multipart upload it makes of an utterance, the transcript it makes of the
// answer, and every failure as an error rather than a hang.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>

#include <cmath>
#include <optional>
#include <vector>

#include "openai_fake.hpp"
#include "run_until.hpp"
#include "stt/openai/openai_stt.hpp"

namespace voxgate::stt {
namespace {

using namespace std::chrono_literals;
using testing::FakeRoute;
using testing::OpenAiFake;
using ::testing::HasSubstr;

class OpenAiSttTest : public ::testing::Test {
 protected:
  std::unique_ptr<SttEngine> engine(std::chrono::milliseconds timeout = 5s) {
    auto client = http::Client::create({.allowed_hosts = {"127.0.0.1"}});
    EXPECT_TRUE(client.ok());
    return std::make_unique<OpenAiSttEngine>(
        std::shared_ptr<http::Client>(std::move(*client)),
        OpenAiSttOptions{.base_url = fake_.base_url() + "/v1",
                         .api_key = "sk-1",
                         .model = "whisper-1",
                         .language = "en",
                         .timeout = timeout});
  }

  util::Result<Transcript> transcribe(SttStream& stream, std::size_t n_samples) {
    std::vector<std::int16_t> tone(n_samples);
    for (std::size_t i = 0; i < tone.size(); ++i) {
      tone[i] = static_cast<std::int16_t>(3000 * std::sin(0.3 * static_cast<double>(i)));
    }
    stream.start_utterance();
    for (std::size_t at = 0; at < tone.size(); at += 160) {
      stream.feed(std::span(tone).subspan(at, std::min<std::size_t>(160, tone.size() - at)));
    }
    std::optional<util::Result<Transcript>> result;
    stream.finish([&](util::Result<Transcript> transcript) { result.emplace(transcript); });
    EXPECT_FALSE(result.has_value());  // never inline
    EXPECT_TRUE(test_support::run_until(io_, [&] { return result.has_value(); }));
    return result.value_or(util::Error{util::ErrorCode::kInternal, "no answer"});
  }

  boost::asio::io_context io_;
  OpenAiFake fake_;
};

TEST_F(OpenAiSttTest, UploadsTheUtteranceAsWavAndNormalizesTheText) {
  fake_.require_api_key("sk-1");
  fake_.set_transcript("Hello, I'd like to BOOK a table!");
  auto stt = engine();
  auto stream = stt->open(io_.get_executor(), {.expected_phrases = {"book a table", "opening hours"}});
  const auto transcript = transcribe(*stream, 12000);
  ASSERT_TRUE(transcript.ok()) << transcript.error().message;
  EXPECT_EQ(transcript->text, "hello i'd like to book a table");
  EXPECT_DOUBLE_EQ(transcript->audio_s, 1.5);

  const auto requests = fake_.requests(FakeRoute::kTranscriptions);
  ASSERT_EQ(requests.size(), 1u);
  ASSERT_TRUE(requests[0].wav);
  EXPECT_EQ(requests[0].wav->rate_hz, 8000u);
  EXPECT_EQ(requests[0].wav->channels, 1u);
  EXPECT_EQ(requests[0].wav->bits_per_sample, 16u);
  EXPECT_EQ(requests[0].wav->n_samples, 12000u);
  EXPECT_EQ(requests[0].form_part("model")->data, "whisper-1");
  EXPECT_EQ(requests[0].form_part("language")->data, "en");
  EXPECT_EQ(requests[0].form_part("prompt")->data, "book a table, opening hours");
}

TEST_F(OpenAiSttTest, EachUtteranceIsItsOwnUpload) {
  auto stt = engine();
  auto stream = stt->open(io_.get_executor(), {});
  ASSERT_TRUE(transcribe(*stream, 8000).ok());
  ASSERT_TRUE(transcribe(*stream, 4000).ok());
  const auto requests = fake_.requests(FakeRoute::kTranscriptions);
  ASSERT_EQ(requests.size(), 2u);
  EXPECT_EQ(requests[1].wav->n_samples, 4000u);
  EXPECT_EQ(requests[1].form_part("prompt"), nullptr);
}

TEST_F(OpenAiSttTest, FailuresAreErrors) {
  auto stt = engine(400ms);
  auto stream = stt->open(io_.get_executor(), {});
  fake_.require_api_key("other");
  auto unauthorized = transcribe(*stream, 800);
  ASSERT_FALSE(unauthorized.ok());
  EXPECT_THAT(unauthorized.error().message, HasSubstr("HTTP 401"));
  fake_.require_api_key("");

  fake_.set_failure(FakeRoute::kTranscriptions, testing::Failure::server_error());
  EXPECT_THAT(transcribe(*stream, 800).error().message, HasSubstr("HTTP 500"));
  fake_.set_failure(FakeRoute::kTranscriptions, testing::Failure::malformed());
  EXPECT_EQ(transcribe(*stream, 800).error().code, util::ErrorCode::kInvalidInput);
  fake_.set_failure(FakeRoute::kTranscriptions, testing::Failure::close_without_answer());
  EXPECT_FALSE(transcribe(*stream, 800).ok());
  fake_.set_failure(FakeRoute::kTranscriptions, testing::Failure::stall());
  EXPECT_EQ(transcribe(*stream, 800).error().code, util::ErrorCode::kTimeout);
}

TEST_F(OpenAiSttTest, CancelSilencesTheStream) {
  auto stt = engine();
  auto stream = stt->open(io_.get_executor(), {});
  fake_.set_failure(FakeRoute::kTranscriptions, testing::Failure::delayed(100ms));
  bool called = false;
  stream->start_utterance();
  std::vector<std::int16_t> audio(1600, 100);
  stream->feed(audio);
  stream->finish([&](util::Result<Transcript>) { called = true; });
  ASSERT_TRUE(fake_.wait_for_requests(FakeRoute::kTranscriptions, 1, 2s));
  stream->cancel();
  test_support::run_until(io_, [] { return false; }, 300ms);
  EXPECT_FALSE(called);
}

TEST(NormalizeTranscript, LowercaseWordsWithoutPunctuation) {
  EXPECT_EQ(normalize_transcript("  Hello,   World!  "), "hello world");
  EXPECT_EQ(normalize_transcript("It's 5 o'clock."), "it's 5 o'clock");
  EXPECT_EQ(normalize_transcript("..."), "");
}

}  // namespace
}  // namespace voxgate::stt
