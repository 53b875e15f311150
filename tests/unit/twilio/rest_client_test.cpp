// Tests for the Twilio REST client (twilio/rest_client.hpp) against the REST stand-in
// (tests/fakes/twilio_rest_fake.hpp) over loopback, through the real http::Client: the exact
// form fields each call update sends, ended calls, refused arguments, deletions, recording
// downloads with 404 retries, authentication failures that must not leak the token, and
// cancellation during a retry wait. Callbacks run on an io_context the test thread runs.
#include "twilio/rest_client.hpp"

#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>
#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "run_until.hpp"
#include "twilio_rest_fake.hpp"

namespace voxgate::twilio {
namespace {

using namespace std::chrono_literals;
using test_support::run_until;
using util::ErrorCode;
using voxgate::testing::TwilioRestFake;

constexpr std::string_view kCallSid = "CA0123456789abcdef0123456789abcdef";
constexpr std::string_view kRecordingSid = "RE0123456789abcdef0123456789abcdef";

class RestClientTest : public ::testing::Test {
 protected:
  RestClientTest() {
    auto created = http::Client::create({.allowed_hosts = {"127.0.0.1"}});
    EXPECT_TRUE(created.ok());
    http_ = std::shared_ptr<http::Client>(std::move(created.value()));
  }

  RestClientOptions options(std::string token = std::string(TwilioRestFake::kDefaultAuthToken)) {
    RestClientOptions options;
    options.api_base_url = fake_.base_url();
    options.account_sid = fake_.account_sid();
    options.auth_token = std::move(token);
    options.timeout = 5s;
    options.first_retry_delay = 5ms;
    return options;
  }

  RestClient client() { return RestClient(http_, options()); }

  // Runs the io_context until the callback filled `slot`; false after 5 s.
  template <class T>
  bool wait(const std::optional<util::Result<T>>& slot) {
    return run_until(io_, [&] { return slot.has_value(); });
  }

  // Runs the io_context for this long, whatever happens.
  void run_for(std::chrono::milliseconds duration) {
    run_until(
        io_, [] { return false; }, duration);
  }

  TwilioRestFake fake_;
  boost::asio::io_context io_;
  std::shared_ptr<http::Client> http_;
};

template <class T>
auto into(std::optional<util::Result<T>>& slot) {
  return [&slot](util::Result<T> result) { slot.emplace(std::move(result)); };
}

using FormFields = std::vector<std::pair<std::string, std::string>>;

TEST_F(RestClientTest, UpdateWithTwimlSendsExactlyTheTwimlField) {
  const std::string twiml =
      "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Response><Say>Caf\xc3\xa9 & \"friends\" "
      "+ 100% = a=b&c</Say><Pause length=\"2\"/></Response>";
  std::optional<util::Result<CallUpdate>> result;
  client().update_call_twiml(std::string(kCallSid), twiml, io_.get_executor(), into(result));
  ASSERT_TRUE(wait(result));
  ASSERT_TRUE(result->ok()) << result->error().message;
  EXPECT_EQ((*result)->status, 200);
  EXPECT_EQ((*result)->call_status, "in-progress");

  const auto updates = fake_.call_updates();
  ASSERT_EQ(updates.size(), 1u);
  EXPECT_EQ(updates[0].call_sid, kCallSid);
  EXPECT_EQ(updates[0].form, (FormFields{{"Twiml", twiml}}));
  const auto requests = fake_.requests();
  ASSERT_EQ(requests.size(), 1u);
  EXPECT_EQ(requests[0].method, "POST");
  EXPECT_EQ(requests[0].path, "/2010-04-01/Accounts/" + fake_.account_sid() + "/Calls/" +
                                  std::string(kCallSid) + ".json");
  EXPECT_TRUE(requests[0].header("content-type").starts_with("application/x-www-form-urlencoded"));
  // Nothing but unreserved characters goes out unescaped.
  EXPECT_EQ(requests[0].body.find_first_of(" <>\"&+=", 6), std::string::npos);
}

TEST_F(RestClientTest, RedirectSendsUrlAndMethodPost) {
  const std::string url = "https://voxgate.example.com/twilio/next?call=1&step=two words";
  std::optional<util::Result<CallUpdate>> result;
  client().redirect_call(std::string(kCallSid), url, io_.get_executor(), into(result));
  ASSERT_TRUE(wait(result));
  ASSERT_TRUE(result->ok()) << result->error().message;
  const auto updates = fake_.call_updates();
  ASSERT_EQ(updates.size(), 1u);
  EXPECT_EQ(updates[0].form, (FormFields{{"Url", url}, {"Method", "POST"}}));
}

TEST_F(RestClientTest, HangUpCompletesTheCallAndAnEndedCallCountsAsSuccess) {
  std::optional<util::Result<CallUpdate>> first;
  client().hang_up(std::string(kCallSid), io_.get_executor(), into(first));
  ASSERT_TRUE(wait(first));
  ASSERT_TRUE(first->ok()) << first->error().message;
  EXPECT_EQ((*first)->status, 200);
  EXPECT_EQ((*first)->call_status, "completed");
  ASSERT_EQ(fake_.call_updates().size(), 1u);
  EXPECT_EQ(fake_.call_updates()[0].form, (FormFields{{"Status", "completed"}}));

  // The fake now answers 404 / 20404 for this call, as Twilio does for an ended one.
  std::optional<util::Result<CallUpdate>> second;
  client().hang_up(std::string(kCallSid), io_.get_executor(), into(second));
  ASSERT_TRUE(wait(second));
  ASSERT_TRUE(second->ok()) << second->error().message;
  EXPECT_EQ((*second)->status, 404);
  EXPECT_EQ((*second)->call_status, "completed");
  EXPECT_EQ(fake_.call_updates()[1].status, 404u);
}

TEST_F(RestClientTest, TwimlUpdateOfAnEndedCallFails) {
  fake_.end_call(std::string(kCallSid));
  std::optional<util::Result<CallUpdate>> result;
  client().update_call_twiml(std::string(kCallSid), "<Response/>", io_.get_executor(),
                             into(result));
  ASSERT_TRUE(wait(result));
  ASSERT_FALSE(result->ok());
  EXPECT_EQ(result->error().code, ErrorCode::kInvalidInput);
  EXPECT_NE(result->error().message.find("already ended"), std::string::npos)
      << result->error().message;
  EXPECT_NE(result->error().message.find("20404"), std::string::npos) << result->error().message;
}

TEST_F(RestClientTest, TwimlOverTheLimitIsRefusedWithoutARequestAndNotInline) {
  std::optional<util::Result<CallUpdate>> result;
  client().update_call_twiml(std::string(kCallSid), std::string(4001, 'x'), io_.get_executor(),
                             into(result));
  EXPECT_FALSE(result.has_value());  // posted, never inline
  ASSERT_TRUE(wait(result));
  ASSERT_FALSE(result->ok());
  EXPECT_EQ(result->error().code, ErrorCode::kInvalidInput);
  EXPECT_NE(result->error().message.find("4001"), std::string::npos);
  EXPECT_EQ(fake_.request_count(), 0u);

  // Exactly at the limit goes through.
  std::optional<util::Result<CallUpdate>> at_limit;
  client().update_call_twiml(std::string(kCallSid), std::string(4000, 'x'), io_.get_executor(),
                             into(at_limit));
  ASSERT_TRUE(wait(at_limit));
  EXPECT_TRUE(at_limit->ok()) << at_limit->error().message;
  EXPECT_EQ(fake_.request_count(), 1u);
}

TEST_F(RestClientTest, SidsThatAreNotSidsAreRefusedWithoutARequest) {
  std::optional<util::Result<CallUpdate>> update;
  client().hang_up("CA../../Recordings/RE1", io_.get_executor(), into(update));
  std::optional<util::Result<bool>> deletion;
  client().delete_recording("", io_.get_executor(), into(deletion));
  ASSERT_TRUE(wait(update));
  ASSERT_TRUE(wait(deletion));
  EXPECT_EQ(update->error().code, ErrorCode::kInvalidInput);
  EXPECT_EQ(deletion->error().code, ErrorCode::kInvalidInput);
  EXPECT_EQ(fake_.request_count(), 0u);
}

TEST_F(RestClientTest, DeleteRecordingAnd404CountsAsAlreadyGone) {
  fake_.add_recording(std::string(kRecordingSid), "RIFF");
  std::optional<util::Result<bool>> first;
  client().delete_recording(std::string(kRecordingSid), io_.get_executor(), into(first));
  ASSERT_TRUE(wait(first));
  ASSERT_TRUE(first->ok()) << first->error().message;
  EXPECT_TRUE(first->value());
  EXPECT_EQ(fake_.deleted_recordings(), std::vector<std::string>{std::string(kRecordingSid)});
  EXPECT_EQ(fake_.requests().back().method, "DELETE");

  std::optional<util::Result<bool>> second;
  client().delete_recording(std::string(kRecordingSid), io_.get_executor(), into(second));
  ASSERT_TRUE(wait(second));
  ASSERT_TRUE(second->ok()) << second->error().message;
  EXPECT_FALSE(second->value());
}

std::string wav_bytes() {
  std::string wav("RIFF\x24\x00\x00\x00WAVEfmt \x10\x00\x00\x00\x01\x00\x01\x00", 24);
  wav += std::string(
      "\x40\x1f\x00\x00\x80\x3e\x00\x00\x02\x00\x10\x00"
      "data\x04\x00\x00\x00",
      20);
  wav += std::string("\x00\x00\xff\x7f", 4);  // NULs and high bytes: binary-safe end to end
  return wav;
}

TEST_F(RestClientTest, DownloadReturnsTheWavBytes) {
  fake_.add_recording(std::string(kRecordingSid), wav_bytes());
  std::optional<util::Result<Recording>> result;
  client().download_recording(fake_.recording_url(kRecordingSid), io_.get_executor(), into(result));
  ASSERT_TRUE(wait(result));
  ASSERT_TRUE(result->ok()) << result->error().message;
  EXPECT_EQ((*result)->bytes, wav_bytes());
  EXPECT_EQ((*result)->content_type, "audio/x-wav");
  EXPECT_EQ((*result)->attempts, 1);
  EXPECT_TRUE(fake_.requests()[0].header("authorization").starts_with("Basic "));
}

TEST_F(RestClientTest, DownloadMp3) {
  fake_.add_recording_mp3(std::string(kRecordingSid), "ID3\x04mp3");
  std::optional<util::Result<Recording>> result;
  client().download_recording(fake_.recording_url(kRecordingSid) + ".mp3", io_.get_executor(),
                              into(result));
  ASSERT_TRUE(wait(result));
  ASSERT_TRUE(result->ok()) << result->error().message;
  EXPECT_EQ((*result)->bytes, "ID3\x04mp3");
  EXPECT_EQ((*result)->content_type, "audio/mpeg");
}

TEST_F(RestClientTest, DownloadRetries404UntilTheRecordingIsReady) {
  fake_.add_recording(std::string(kRecordingSid), wav_bytes());
  fake_.set_not_ready(kRecordingSid, 2);
  std::optional<util::Result<Recording>> result;
  client().download_recording(fake_.recording_url(kRecordingSid), io_.get_executor(), into(result));
  ASSERT_TRUE(wait(result));
  ASSERT_TRUE(result->ok()) << result->error().message;
  EXPECT_EQ((*result)->attempts, 3);
  EXPECT_EQ((*result)->bytes, wav_bytes());
  EXPECT_EQ(fake_.recording_gets(), 3u);
}

TEST_F(RestClientTest, DownloadGivesUpAfterTheConfiguredAttempts) {
  auto opts = options();
  opts.download_attempts = 4;
  opts.first_retry_delay = 2ms;
  const RestClient rest(http_, opts);
  std::optional<util::Result<Recording>> result;
  const auto start = std::chrono::steady_clock::now();
  rest.download_recording(fake_.recording_url(kRecordingSid), io_.get_executor(), into(result));
  ASSERT_TRUE(wait(result));
  const auto elapsed = std::chrono::steady_clock::now() - start;
  ASSERT_FALSE(result->ok());
  EXPECT_EQ(result->error().code, ErrorCode::kUnavailable);
  EXPECT_NE(result->error().message.find("not available after 4 attempts"), std::string::npos)
      << result->error().message;
  EXPECT_EQ(fake_.recording_gets(), 4u);
  EXPECT_LT(elapsed, 2s);  // 2 + 4 + 8 ms of waiting, not seconds
}

TEST_F(RestClientTest, WrongTokenFailsWithTwiliosMessageButNeverTheToken) {
  const std::string token = "wrong-secret-token-6f1c9e";
  fake_.add_recording(std::string(kRecordingSid), wav_bytes());
  const RestClient rest(http_, options(token));

  std::optional<util::Result<Recording>> download;
  rest.download_recording(fake_.recording_url(kRecordingSid), io_.get_executor(), into(download));
  std::optional<util::Result<CallUpdate>> update;
  rest.update_call_twiml(std::string(kCallSid), "<Response/>", io_.get_executor(), into(update));
  ASSERT_TRUE(wait(download));
  ASSERT_TRUE(wait(update));
  for (const util::Error& error : {download->error(), update->error()}) {
    EXPECT_EQ(error.code, ErrorCode::kUnavailable);
    EXPECT_NE(error.message.find("401"), std::string::npos) << error.message;
    EXPECT_NE(error.message.find("Authenticate"), std::string::npos) << error.message;
    EXPECT_EQ(error.message.find(token), std::string::npos) << error.message;
  }
  EXPECT_EQ(fake_.unauthorized_count(), 2u);  // one each: 401 is not retried
  EXPECT_EQ(fake_.request_count(), 2u);
}

TEST_F(RestClientTest, MissingCredentialsAreUnavailableWithoutARequest) {
  auto opts = options();
  opts.auth_token.clear();
  const RestClient rest(http_, opts);
  std::optional<util::Result<CallUpdate>> result;
  rest.hang_up(std::string(kCallSid), io_.get_executor(), into(result));
  ASSERT_TRUE(wait(result));
  EXPECT_EQ(result->error().code, ErrorCode::kUnavailable);
  EXPECT_EQ(fake_.request_count(), 0u);
}

TEST_F(RestClientTest, CancelDuringARetryWaitSilencesTheDownload) {
  fake_.add_recording(std::string(kRecordingSid), wav_bytes());
  fake_.set_not_ready(kRecordingSid, 100);
  auto opts = options();
  opts.first_retry_delay = 300ms;
  const RestClient rest(http_, opts);
  bool called = false;
  auto call = rest.download_recording(fake_.recording_url(kRecordingSid), io_.get_executor(),
                                      [&](util::Result<Recording>) { called = true; });
  ASSERT_TRUE(run_until(io_, [&] { return fake_.recording_gets() == 1; }));
  // Let the 404 arrive and the retry timer start, then cancel on the executor.
  run_for(100ms);
  call->cancel();
  run_for(700ms);
  EXPECT_FALSE(called);
  EXPECT_EQ(fake_.recording_gets(), 1u);
}

TEST_F(RestClientTest, CancelBeforeTheAnswerSilencesTheCall) {
  bool called = false;
  auto call = client().hang_up(std::string(kCallSid), io_.get_executor(),
                               [&](util::Result<CallUpdate>) { called = true; });
  call->cancel();
  run_for(300ms);
  EXPECT_FALSE(called);
}

TEST(RecordingSidOfTest, TakesTheLastSegmentAfterRecordings) {
  const std::string base =
      "https://api.twilio.com/2010-04-01/Accounts/AC0123456789abcdef0123456789abcdef/Recordings/";
  EXPECT_EQ(recording_sid_of(base + std::string(kRecordingSid)), kRecordingSid);
  EXPECT_EQ(recording_sid_of(base + std::string(kRecordingSid) + ".wav"), kRecordingSid);
  EXPECT_EQ(recording_sid_of(base + std::string(kRecordingSid) + ".mp3"), kRecordingSid);
  EXPECT_EQ(recording_sid_of(base + std::string(kRecordingSid) + ".json"), kRecordingSid);
  EXPECT_EQ(recording_sid_of(base + std::string(kRecordingSid) + "?RequestedChannels=1"),
            kRecordingSid);
  EXPECT_EQ(recording_sid_of(base), "");
  EXPECT_EQ(recording_sid_of(base + "CA0123"), "");
  EXPECT_EQ(recording_sid_of(base + std::string(kRecordingSid) + "/Transcriptions"), "");
  EXPECT_EQ(recording_sid_of(base + "RE12.ogg"), "");
  EXPECT_EQ(recording_sid_of("https://example.com/audio/RE0123.wav"), "");
  EXPECT_EQ(recording_sid_of(""), "");
}

}  // namespace
}  // namespace voxgate::twilio
