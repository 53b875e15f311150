// Recording mode and the fallback to it, through the real binary: the test plays Twilio's
// part (signed webhooks, <Record> actions, polls), the Twilio REST stand-in of tests/fakes
// serves the recordings and takes deletions, and the embedded engines do the speech.
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <regex>
#include <set>
#include <thread>

#include "audio/wav.hpp"
#include "http_client.hpp"
#include "openai_fake.hpp"
#include "server_process.hpp"
#include "twilio/signature.hpp"
#include "twilio_media_client.hpp"
#include "twilio_rest_fake.hpp"

namespace voxgate::testing {
namespace {

constexpr const char* kPublicBase = "https://voice.example.com";

std::string speech_wav(const std::string& name) {
  std::ifstream in(std::string(VOXGATE_SPEECH_SET_DIR) + "/" + name + ".ul", std::ios::binary);
  const std::vector<std::uint8_t> mulaw{std::istreambuf_iterator<char>(in),
                                        std::istreambuf_iterator<char>()};
  const auto wav = audio::encode_wav_ulaw(mulaw);
  return {wav.begin(), wav.end()};
}

// Twilio's side of a call: signed webhooks to the server under test.
class FakeTwilio {
 public:
  FakeTwilio(const ServerProcess& server, std::string auth_token, std::string call_sid)
      : server_(server), token_(std::move(auth_token)), call_sid_(std::move(call_sid)) {}

  HttpResult post(const std::string& path,
                  std::vector<std::pair<std::string, std::string>> params = {}) {
    params.insert(params.begin(), {{"CallSid", call_sid_},
                                   {"AccountSid", std::string(TwilioRestFake::kDefaultAccountSid)},
                                   {"From", "+14155550100"},
                                   {"To", "+14155550199"}});
    const std::string signature =
        twilio::compute_signature(token_, std::string(kPublicBase) + path, params);
    return client_.post(server_.base_url() + path, form_encode(params),
                        {"Content-Type: application/x-www-form-urlencoded",
                         "X-Twilio-Signature: " + signature});
  }

  // The <Record> action after the caller said something.
  HttpResult recorded(const std::string& recording_url, const std::string& duration = "3") {
    return post("/phone/process-voice/" + call_sid_,
                {{"RecordingUrl", recording_url}, {"RecordingDuration", duration}, {"Digits", ""}});
  }

  boost::json::value call_record() {
    return boost::json::parse(client_.get(server_.base_url() + "/calls/" + call_sid_,
                                          {"Authorization: Bearer admin-secret"})
                                  .body);
  }

  HttpClient& client() { return client_; }

 private:
  const ServerProcess& server_;
  const std::string token_;
  const std::string call_sid_;
  HttpClient client_;
};

class RecordingModeTest : public ::testing::Test {
 protected:
  void start(std::string extra_config = {}, std::string auth_token = {}) {
    // One file per test: ctest runs the tests of this file in parallel processes.
    config_ = std::filesystem::temp_directory_path() /
              ("voxgate-recording-" +
               std::string(::testing::UnitTest::GetInstance()->current_test_info()->name()) +
               ".toml");
    std::ofstream(config_) << "[twilio]\napi_base_url = \"" << rest_.base_url()
                           << "\"\nrecording_hosts = [\"127.0.0.1:" << rest_.port() << "\"]\n"
                           << "[agent]\nscript = \"" << VOXGATE_SOURCE_DIR
                           << "/config/front-desk.toml\"\n"
                           << extra_config;
    server_ = std::make_unique<ServerProcess>(
        std::vector<std::string>{"--config", config_},
        std::map<std::string, std::string>{
            {"TWILIO_ACCOUNT_SID", rest_.account_sid()},
            {"TWILIO_AUTH_TOKEN", auth_token.empty() ? rest_.auth_token() : auth_token},
            {"PUBLIC_BASE_URL", kPublicBase},
            {"VOXGATE_ADMIN_TOKEN", "admin-secret"}});
    twilio_ = std::make_unique<FakeTwilio>(
        *server_, auth_token.empty() ? rest_.auth_token() : auth_token, "CArecording");
  }
  void TearDown() override { std::filesystem::remove(config_); }

  TwilioRestFake rest_;
  std::string config_;
  std::unique_ptr<ServerProcess> server_;
  std::unique_ptr<FakeTwilio> twilio_;
};

bool asks_again(const std::string& twiml) {
  return twiml.find("<Record action=\"https://voice.example.com/phone/process-voice/"
                    "CArecording\"") != std::string::npos &&
         twiml.find("<Play>https://voice.example.com/audio/") != std::string::npos;
}

TEST_F(RecordingModeTest, ThreeTurnsWithHistoryThenGoodbye) {
  start();
  rest_.add_recording("RE1", speech_wav("02-rms"));  // "what are your opening hours"
  rest_.add_recording("RE2", speech_wav("01-rms"));  // "i would like to book an appointment…"
  rest_.add_recording("RE3", speech_wav("32-rms"));  // "thank you goodbye"
  rest_.set_not_ready("RE1", 2);                     // 404 twice, as right after <Record>

  const HttpResult greeting = twilio_->post("/phone/incoming-call");
  ASSERT_EQ(greeting.status, 200) << greeting.body << server_->stderr_text();
  EXPECT_NE(greeting.body.find("<Play>https://voice.example.com/audio/"), std::string::npos)
      << greeting.body;  // the greeting is our own synthesized voice, not <Say>
  EXPECT_NE(greeting.body.find("<Record action=\"https://voice.example.com/phone/process-voice/"
                               "CArecording\""),
            std::string::npos);

  const HttpResult first = twilio_->recorded(rest_.recording_url("RE1"));
  ASSERT_EQ(first.status, 200) << first.body;
  EXPECT_TRUE(asks_again(first.body)) << first.body;
  const HttpResult second = twilio_->recorded(rest_.recording_url("RE2"));
  EXPECT_TRUE(asks_again(second.body)) << second.body;
  const HttpResult third = twilio_->recorded(rest_.recording_url("RE3"));
  EXPECT_NE(third.body.find("<Play>"), std::string::npos) << third.body;
  EXPECT_NE(third.body.find("<Hangup/>"), std::string::npos) << third.body;
  EXPECT_EQ(third.body.find("<Record"), std::string::npos);

  const auto call = twilio_->call_record();
  const auto& turns = call.at("turns").as_array();
  ASSERT_EQ(turns.size(), 3u) << boost::json::serialize(call);
  EXPECT_NE(std::string(turns[0].at("agent").as_string()).find("Monday to Friday"),
            std::string::npos)
      << boost::json::serialize(call);
  EXPECT_NE(std::string(turns[2].at("agent").as_string()).find("Goodbye"), std::string::npos);
  // The callers' voices are not kept: every recording was deleted after use (the last
  // deletion may still be on its way).
  auto deleted = rest_.deleted_recordings();
  for (int i = 0; i < 200 && deleted.size() < 3; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
    deleted = rest_.deleted_recordings();
  }
  EXPECT_EQ(std::set<std::string>(deleted.begin(), deleted.end()),
            (std::set<std::string>{"RE1", "RE2", "RE3"}));
  // The reply audio is what <Play> fetches: a mu-law WAV.
  std::smatch url;
  ASSERT_TRUE(std::regex_search(first.body, url, std::regex("<Play>https://voice.example.com(/audio/[0-9a-f]+\\.wav)</Play>")));
  const HttpResult audio = twilio_->client().get(server_->base_url() + url[1].str());
  EXPECT_EQ(audio.status, 200);
  EXPECT_EQ(audio.body.substr(0, 4), "RIFF");
  // Each stage of the three turns is timed.
  const std::string metrics = twilio_->client().get(server_->base_url() + "/metrics").body;
  for (const char* stage : {"download", "stt", "agent", "tts"}) {
    EXPECT_NE(metrics.find("voxgate_recording_stage_seconds_count{stage=\"" + std::string(stage) +
                           "\"} 3"),
              std::string::npos)
        << stage;
  }
}

TEST_F(RecordingModeTest, BadRecordingsGetSpokenRetriesNeverErrors) {
  start();
  rest_.add_recording("REcorrupt", "this is not audio at all, just text");
  rest_.add_recording("REempty", "");
  // A foreign host is refused without a fetch.
  const std::size_t gets_before = rest_.recording_gets();
  HttpResult foreign = twilio_->recorded("https://evil.example/2010-04-01/Accounts/AC1/Recordings/RE9");
  EXPECT_EQ(foreign.status, 200);
  EXPECT_TRUE(asks_again(foreign.body)) << foreign.body;
  EXPECT_EQ(rest_.recording_gets(), gets_before);

  HttpResult corrupt = twilio_->recorded(rest_.recording_url("REcorrupt"));
  EXPECT_TRUE(asks_again(corrupt.body)) << corrupt.body;
  // Three unusable turns in a row: the call says goodbye and hangs up.
  HttpResult empty = twilio_->recorded(rest_.recording_url("REempty"));
  EXPECT_EQ(empty.status, 200);
  EXPECT_NE(empty.body.find("<Hangup/>"), std::string::npos) << empty.body;
  HttpResult missing = twilio_->recorded(rest_.recording_url("REnever"));
  EXPECT_EQ(missing.status, 200) << missing.body;
  EXPECT_NE(server_->stderr_text().find("not on an allowed host"), std::string::npos);
  // Each refusal is logged against the call.
  EXPECT_NE(server_->stderr_text().find("[CArecording] Nothing to answer"), std::string::npos);

  HttpResult hung_up = twilio_->post("/phone/process-voice/CArecording",
                                     {{"RecordingUrl", rest_.recording_url("REcorrupt")},
                                      {"Digits", "hangup"}});
  EXPECT_NE(hung_up.body.find("<Hangup/>"), std::string::npos);
}

TEST_F(RecordingModeTest, WrongCredentialsAreAGracefulRetry) {
  start({}, "a-token-twilio-does-not-know");
  rest_.add_recording("RE1", speech_wav("02-rms"));
  const HttpResult turn = twilio_->recorded(rest_.recording_url("RE1"));
  EXPECT_EQ(turn.status, 200);
  EXPECT_TRUE(asks_again(turn.body)) << turn.body;
  EXPECT_GE(rest_.unauthorized_count(), 1u);
  EXPECT_EQ(server_->stderr_text().find("a-token-twilio-does-not-know"), std::string::npos);
}

// An agent that takes 12 s: Twilio still gets an answer within the 10 s budget (a pause
// and a redirect to the poll route), and the poll then serves the reply.
TEST_F(RecordingModeTest, SlowAgentLeavesTwilioAnAnswerWithinTheBudget) {
  OpenAiFake agent;
  agent.set_webhook_answer(R"({"reply":"Thanks for waiting. We open at nine.","action":null})");
  agent.set_failure(FakeRoute::kWebhook, Failure::delayed(std::chrono::seconds(12)));
  start("url = \"" + agent.webhook_url() + "\"\nengine = \"webhook\"\ntimeout_s = 30\n");
  rest_.add_recording("RE1", speech_wav("02-rms"));
  const auto started = std::chrono::steady_clock::now();
  const HttpResult first = twilio_->recorded(rest_.recording_url("RE1"));
  const double first_s =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  EXPECT_LT(first_s, 11.0);  // within Twilio's 15 s, by the configured 10 s budget
  EXPECT_NE(first.body.find("<Pause length=\"2\"/>"), std::string::npos) << first.body;
  EXPECT_NE(first.body.find("<Redirect method=\"POST\">https://voice.example.com/phone/"
                            "process-voice/CArecording/poll</Redirect>"),
            std::string::npos)
      << first.body;
  const HttpResult polled = twilio_->post("/phone/process-voice/CArecording/poll");
  EXPECT_TRUE(asks_again(polled.body)) << polled.body;
  const auto turns = twilio_->call_record().at("turns").as_array();
  ASSERT_EQ(turns.size(), 1u);
  EXPECT_EQ(turns[0].at("agent"), "Thanks for waiting. We open at nine.");
}

// A streaming call whose WebSocket never opens goes on in recording mode.
TEST_F(RecordingModeTest, StreamThatNeverOpensFallsBackToRecording) {
  start();
  const HttpResult twiml = twilio_->post("/phone/incoming-call-streaming");
  ASSERT_NE(twiml.body.find("<Connect><Stream"), std::string::npos) << twiml.body;
  const HttpResult ended = twilio_->post("/phone/stream-ended/CArecording");
  EXPECT_NE(ended.body.find("<Record action=\"https://voice.example.com/phone/process-voice/"
                            "CArecording\""),
            std::string::npos)
      << ended.body;
  rest_.add_recording("RE1", speech_wav("02-rms"));
  EXPECT_TRUE(asks_again(twilio_->recorded(rest_.recording_url("RE1")).body));
  EXPECT_EQ(twilio_->call_record().at("mode"), "recording");
  EXPECT_EQ(twilio_->call_record().at("turns").as_array().size(), 1u);
}

}  // namespace
}  // namespace voxgate::testing
