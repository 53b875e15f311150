// Tests of the Twilio REST stand-in with plain libcurl easy handles as the client, over
// loopback: Basic auth on every route, recordings (WAV, MP3, not-ready, deletion), call
// updates with form bodies encoded by libcurl (curl_easy_escape), ended calls, and keep-alive.
#include "twilio_rest_fake.hpp"

#include <curl/curl.h>
#include <gtest/gtest.h>

#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>
#include <string>
#include <vector>

namespace voxgate::testing {
namespace {

namespace json = boost::json;

struct Reply {
  CURLcode code = CURLE_OK;
  long status = 0;
  std::string body;
  std::string content_type;
  long connects = 0;
};

std::size_t on_body(char* data, std::size_t size, std::size_t n, void* user) {
  static_cast<std::string*>(user)->append(data, size * n);
  return size * n;
}

// One connection's worth of requests: the easy handle keeps its connection between them.
class Client {
 public:
  explicit Client(std::string user = std::string(TwilioRestFake::kDefaultAccountSid),
                  std::string password = std::string(TwilioRestFake::kDefaultAuthToken))
      : easy_(curl_easy_init()), user_(std::move(user)), password_(std::move(password)) {}
  ~Client() { curl_easy_cleanup(easy_); }
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  Reply get(const std::string& url) { return perform("GET", url, nullptr); }
  Reply del(const std::string& url) { return perform("DELETE", url, nullptr); }
  Reply post_form(const std::string& url,
                  const std::vector<std::pair<std::string, std::string>>& fields) {
    std::string body;
    for (const auto& [name, value] : fields) {
      if (!body.empty()) body += '&';
      body += escape(name) + "=" + escape(value);
    }
    return perform("POST", url, &body);
  }

 private:
  std::string escape(const std::string& text) {
    char* escaped = curl_easy_escape(easy_, text.data(), static_cast<int>(text.size()));
    std::string out(escaped);
    curl_free(escaped);
    return out;
  }

  Reply perform(const char* method, const std::string& url, const std::string* body) {
    Reply reply;
    curl_slist* headers = nullptr;
    curl_easy_setopt(easy_, CURLOPT_URL, url.c_str());
    curl_easy_setopt(easy_, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(easy_, CURLOPT_TIMEOUT_MS, 5000L);
    curl_easy_setopt(easy_, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(easy_, CURLOPT_WRITEDATA, &reply.body);
    if (!user_.empty()) {
      curl_easy_setopt(easy_, CURLOPT_HTTPAUTH, CURLAUTH_BASIC);
      curl_easy_setopt(easy_, CURLOPT_USERNAME, user_.c_str());
      curl_easy_setopt(easy_, CURLOPT_PASSWORD, password_.c_str());
    }
    if (body != nullptr) {
      headers = curl_slist_append(headers, "Content-Type: application/x-www-form-urlencoded");
      curl_easy_setopt(easy_, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(body->size()));
      curl_easy_setopt(easy_, CURLOPT_POSTFIELDS, body->data());
      curl_easy_setopt(easy_, CURLOPT_CUSTOMREQUEST, nullptr);
    } else {
      curl_easy_setopt(easy_, CURLOPT_HTTPGET, 1L);
      curl_easy_setopt(easy_, CURLOPT_CUSTOMREQUEST, method);
    }
    curl_easy_setopt(easy_, CURLOPT_HTTPHEADER, headers);
    reply.code = curl_easy_perform(easy_);
    curl_easy_getinfo(easy_, CURLINFO_RESPONSE_CODE, &reply.status);
    curl_easy_getinfo(easy_, CURLINFO_NUM_CONNECTS, &reply.connects);
    char* content_type = nullptr;
    curl_easy_getinfo(easy_, CURLINFO_CONTENT_TYPE, &content_type);
    if (content_type != nullptr) reply.content_type = content_type;
    curl_easy_setopt(easy_, CURLOPT_HTTPHEADER, nullptr);
    curl_slist_free_all(headers);
    return reply;
  }

  CURL* easy_;
  std::string user_;
  std::string password_;
};

json::object parse_object(const std::string& body) { return json::parse(body).as_object(); }

constexpr std::string_view kRecordingSid = "RE0123456789abcdef0123456789abcdef";
constexpr std::string_view kCallSid = "CA0123456789abcdef0123456789abcdef";

std::string calls_url(const TwilioRestFake& fake, std::string_view call_sid) {
  return fake.base_url() + "/2010-04-01/Accounts/" + fake.account_sid() + "/Calls/" +
         std::string(call_sid) + ".json";
}

TEST(TwilioRestFakeTest, ServesARecordingWithAndWithoutExtension) {
  TwilioRestFake fake;
  const std::string wav("RIFF\0\0\0\0WAVEdata\x01\x02", 18);
  fake.add_recording(std::string(kRecordingSid), wav);
  Client client;
  for (const std::string suffix : {"", ".wav"}) {
    const Reply reply = client.get(fake.recording_url(kRecordingSid) + suffix);
    ASSERT_EQ(reply.code, CURLE_OK);
    EXPECT_EQ(reply.status, 200);
    EXPECT_EQ(reply.body, wav);
    EXPECT_EQ(reply.content_type, "audio/x-wav");
  }
  // .mp3 exists only when MP3 bytes were added.
  EXPECT_EQ(client.get(fake.recording_url(kRecordingSid) + ".mp3").status, 404);
  fake.add_recording_mp3(std::string(kRecordingSid), "ID3mp3bytes");
  const Reply mp3 = client.get(fake.recording_url(kRecordingSid) + ".mp3");
  EXPECT_EQ(mp3.status, 200);
  EXPECT_EQ(mp3.body, "ID3mp3bytes");
  EXPECT_EQ(mp3.content_type, "audio/mpeg");
  EXPECT_EQ(fake.recording_gets(), 4u);
  // Keep-alive: one connection for all of them.
  EXPECT_EQ(fake.connections_accepted(), 1u);
}

TEST(TwilioRestFakeTest, UnknownRecordingIs404WithTwilioError) {
  TwilioRestFake fake;
  Client client;
  const Reply reply = client.get(fake.recording_url("RE404"));
  EXPECT_EQ(reply.status, 404);
  const auto error = parse_object(reply.body);
  EXPECT_EQ(error.at("code").as_int64(), 20404);
  EXPECT_EQ(error.at("status").to_number<int>(), 404);
  EXPECT_TRUE(error.contains("message"));
  EXPECT_TRUE(error.contains("more_info"));
}

TEST(TwilioRestFakeTest, NotReadyRecordingAnswers404ThenTheBytes) {
  TwilioRestFake fake;
  fake.add_recording(std::string(kRecordingSid), "RIFFdata");
  fake.set_not_ready(kRecordingSid, 2);
  Client client;
  EXPECT_EQ(client.get(fake.recording_url(kRecordingSid)).status, 404);
  EXPECT_EQ(client.get(fake.recording_url(kRecordingSid)).status, 404);
  const Reply reply = client.get(fake.recording_url(kRecordingSid));
  EXPECT_EQ(reply.status, 200);
  EXPECT_EQ(reply.body, "RIFFdata");
}

TEST(TwilioRestFakeTest, EveryRouteChecksBasicAuth) {
  TwilioRestFake fake;
  fake.add_recording(std::string(kRecordingSid), "RIFF");
  Client wrong_token(fake.account_sid(), "not-the-token");
  Client no_auth("", "");
  const std::string json_url = fake.base_url() + "/2010-04-01/Accounts/" + fake.account_sid() +
                               "/Recordings/" + std::string(kRecordingSid) + ".json";
  for (Client* client : {&wrong_token, &no_auth}) {
    const Reply get = client->get(fake.recording_url(kRecordingSid));
    EXPECT_EQ(get.status, 401);
    const auto error = parse_object(get.body);
    EXPECT_EQ(error.at("code").as_int64(), 20003);
    EXPECT_EQ(error.at("message").as_string(), "Authenticate");
    EXPECT_EQ(error.at("more_info").as_string(), "https://www.twilio.com/docs/errors/20003");
    EXPECT_EQ(error.at("status").to_number<int>(), 401);
    EXPECT_EQ(client->post_form(calls_url(fake, kCallSid), {{"Status", "completed"}}).status, 401);
    EXPECT_EQ(client->del(json_url).status, 401);
  }
  EXPECT_EQ(fake.unauthorized_count(), 6u);
  EXPECT_TRUE(fake.call_updates().empty());
  EXPECT_TRUE(fake.has_recording(kRecordingSid));
}

TEST(TwilioRestFakeTest, CallUpdateRecordsTheDecodedForm) {
  TwilioRestFake fake;
  Client client;
  const std::string twiml =
      R"(<?xml version="1.0"?><Response><Say>Caf&#233; & "more" + 100% é</Say></Response>)";
  const Reply reply = client.post_form(calls_url(fake, kCallSid), {{"Twiml", twiml}});
  ASSERT_EQ(reply.status, 200);
  const auto call = parse_object(reply.body);
  EXPECT_EQ(call.at("sid").as_string(), kCallSid);
  EXPECT_EQ(call.at("status").as_string(), "in-progress");
  EXPECT_EQ(call.at("account_sid").as_string(), fake.account_sid());
  const auto updates = fake.call_updates();
  ASSERT_EQ(updates.size(), 1u);
  EXPECT_EQ(updates[0].call_sid, kCallSid);
  EXPECT_EQ(updates[0].field("Twiml"), twiml);
  EXPECT_EQ(updates[0].form.size(), 1u);
}

TEST(TwilioRestFakeTest, FormDecodingAcceptsPlusAsSpace) {
  TwilioRestFake fake;
  CURL* easy = curl_easy_init();
  std::string body = "Url=https%3A%2F%2Fexample.com%2Fnext%3Fa%3Db+c&Method=POST";
  const std::string url = calls_url(fake, kCallSid);
  const std::string user_pwd = fake.account_sid() + ":" + fake.auth_token();
  curl_slist* headers =
      curl_slist_append(nullptr, "Content-Type: application/x-www-form-urlencoded");
  curl_easy_setopt(easy, CURLOPT_URL, url.c_str());
  curl_easy_setopt(easy, CURLOPT_USERPWD, user_pwd.c_str());
  curl_easy_setopt(easy, CURLOPT_HTTPHEADER, headers);
  curl_easy_setopt(easy, CURLOPT_POSTFIELDS, body.c_str());
  std::string answer;
  curl_easy_setopt(easy, CURLOPT_WRITEFUNCTION, on_body);
  curl_easy_setopt(easy, CURLOPT_WRITEDATA, &answer);
  ASSERT_EQ(curl_easy_perform(easy), CURLE_OK);
  long status = 0;
  curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &status);
  curl_slist_free_all(headers);
  curl_easy_cleanup(easy);
  EXPECT_EQ(status, 200);
  const auto updates = fake.call_updates();
  ASSERT_EQ(updates.size(), 1u);
  EXPECT_EQ(updates[0].field("Url"), "https://example.com/next?a=b c");
  EXPECT_EQ(updates[0].field("Method"), "POST");
}

TEST(TwilioRestFakeTest, CompletingACallEndsIt) {
  TwilioRestFake fake;
  Client client;
  const Reply done = client.post_form(calls_url(fake, kCallSid), {{"Status", "completed"}});
  ASSERT_EQ(done.status, 200);
  EXPECT_EQ(parse_object(done.body).at("status").as_string(), "completed");
  const Reply again = client.post_form(calls_url(fake, kCallSid), {{"Twiml", "<Response/>"}});
  EXPECT_EQ(again.status, 404);
  EXPECT_EQ(parse_object(again.body).at("code").as_int64(), 20404);
}

TEST(TwilioRestFakeTest, EndedCallAnswers404) {
  TwilioRestFake fake;
  fake.end_call(std::string(kCallSid));
  Client client;
  const Reply reply = client.post_form(calls_url(fake, kCallSid), {{"Status", "completed"}});
  EXPECT_EQ(reply.status, 404);
  EXPECT_EQ(parse_object(reply.body).at("code").as_int64(), 20404);
  ASSERT_EQ(fake.call_updates().size(), 1u);
  EXPECT_EQ(fake.call_updates()[0].status, 404u);
}

TEST(TwilioRestFakeTest, BadCallUpdatesAre400) {
  TwilioRestFake fake;
  Client client;
  EXPECT_EQ(client.post_form(calls_url(fake, kCallSid), {{"Foo", "bar"}}).status, 400);
  EXPECT_EQ(client.post_form(calls_url(fake, kCallSid), {{"Twiml", std::string(4001, 'x')}}).status,
            400);
  EXPECT_EQ(client.post_form(calls_url(fake, kCallSid), {{"Twiml", std::string(4000, 'x')}}).status,
            200);
  EXPECT_EQ(client.get(calls_url(fake, kCallSid)).status, 405);
}

TEST(TwilioRestFakeTest, DeleteRecordingThenItIsGone) {
  TwilioRestFake fake;
  fake.add_recording(std::string(kRecordingSid), "RIFF");
  Client client;
  const std::string url = fake.recording_url(kRecordingSid) + ".json";
  const Reply deleted = client.del(url);
  EXPECT_EQ(deleted.status, 204);
  EXPECT_TRUE(deleted.body.empty());
  EXPECT_EQ(fake.deleted_recordings(), std::vector<std::string>{std::string(kRecordingSid)});
  EXPECT_FALSE(fake.has_recording(kRecordingSid));
  EXPECT_EQ(client.del(url).status, 404);
  EXPECT_EQ(client.get(fake.recording_url(kRecordingSid)).status, 404);
}

TEST(TwilioRestFakeTest, OtherAccountsAndPathsAre404AndEverythingIsLogged) {
  TwilioRestFake fake;
  Client client;
  EXPECT_EQ(client.get(fake.base_url() + "/2010-04-01/Accounts/ACother/Recordings/RE1").status,
            404);
  EXPECT_EQ(client.get(fake.base_url() + "/nothing").status, 404);
  const auto requests = fake.requests();
  ASSERT_EQ(requests.size(), 2u);
  EXPECT_EQ(requests[0].method, "GET");
  EXPECT_EQ(requests[1].path, "/nothing");
  EXPECT_EQ(requests[1].status, 404u);
  EXPECT_TRUE(requests[0].header("Authorization").starts_with("Basic "));
}

}  // namespace
}  // namespace voxgate::testing
