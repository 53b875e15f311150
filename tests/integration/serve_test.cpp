// `voxgate serve` as a real process over loopback: the seed's curl call, signed and
// forged webhooks, keep-alive, bad input, /metrics as Prometheus text, JSON logs,
// start-up refusals, and a clean drain on SIGTERM.
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <gtest/gtest.h>
#include <signal.h>

#include <cctype>
#include <cmath>
#include <cstdio>
#include <future>
#include <filesystem>
#include <fstream>
#include <optional>
#include <regex>
#include <set>
#include <sstream>
#include <thread>

#include "audio/g711.hpp"
#include "audio/wav.hpp"
#include "http_client.hpp"
#include "openai_fake.hpp"
#include "server_process.hpp"
#include "twilio/signature.hpp"
#include "twilio_media_client.hpp"

namespace voxgate::testing {
namespace {

constexpr const char* kToken = "integration-auth-token";
constexpr const char* kPublicBase = "https://voice.example.com";

const std::vector<std::pair<std::string, std::string>> kCallParams = {
    {"AccountSid", "AC00000000000000000000000000000001"},
    {"CallSid", "CA11111111111111111111111111111111"},
    {"CallStatus", "ringing"},
    {"From", "+14155550100"},
    {"To", "+14155550199"}};

std::map<std::string, std::string> production_env() {
  return {{"TWILIO_AUTH_TOKEN", kToken}, {"PUBLIC_BASE_URL", kPublicBase}};
}

TEST(ServeTest, SeedCurlCommandGetsStreamingTwimlInDevelopmentMode) {
  ServerProcess server({});
  // The seed's own command, with only the port changed.
  const std::string output = run_shell(
      "curl -s -X POST http://localhost:" + std::to_string(server.port()) +
      "/phone/incoming-call-streaming -d CallSid=test123 -d From=+1234567890 -d To=+0987654321");
  EXPECT_NE(output.find("<?xml version=\"1.0\" encoding=\"UTF-8\"?>"), std::string::npos)
      << output;
  EXPECT_NE(output.find("<Connect><Stream url=\"ws://localhost:" + std::to_string(server.port()) +
                        "/phone/stream-audio/test123\" statusCallback=\"http://localhost:" +
                        std::to_string(server.port()) +
                        "/phone/stream-status/test123\"><Parameter name=\"token\" value=\""),
            std::string::npos)
      << output;
  EXPECT_NE(output.find("/phone/stream-ended/test123</Redirect>"), std::string::npos);
  EXPECT_NE(server.stderr_text().find("DEVELOPMENT MODE"), std::string::npos);
  EXPECT_NE(server.stderr_text().find("[test123] Received streaming call from"),
            std::string::npos)
      << server.stderr_text();
}

TEST(ServeTest, SignedWebhooksPassAndForgedOnesAre403) {
  ServerProcess server({}, production_env());
  HttpClient client;
  const std::string body = form_encode(kCallParams);
  const std::string signature = twilio::compute_signature(
      kToken, std::string(kPublicBase) + "/phone/incoming-call", kCallParams);

  HttpResult signed_result = client.post(
      server.base_url() + "/phone/incoming-call", body,
      {"Content-Type: application/x-www-form-urlencoded", "X-Twilio-Signature: " + signature});
  EXPECT_EQ(signed_result.status, 200) << signed_result.body;
  EXPECT_EQ(signed_result.headers["content-type"], "text/xml; charset=utf-8");
  EXPECT_NE(signed_result.body.find("<Record action=\"https://voice.example.com/phone/"
                                    "process-voice/CA11111111111111111111111111111111\""),
            std::string::npos)
      << signed_result.body;

  HttpResult unsigned_result = client.post(server.base_url() + "/phone/incoming-call", body);
  EXPECT_EQ(unsigned_result.status, 403);
  EXPECT_EQ(boost::json::parse(unsigned_result.body).at("error").as_string(),
            "missing_signature");

  HttpResult forged = client.post(
      server.base_url() + "/phone/incoming-call-streaming", body,
      {"Content-Type: application/x-www-form-urlencoded", "X-Twilio-Signature: " + signature});
  EXPECT_EQ(forged.status, 403);
  EXPECT_EQ(boost::json::parse(forged.body).at("error").as_string(), "bad_signature");

  // The secret never reaches the logs.
  EXPECT_EQ(server.stderr_text().find(kToken), std::string::npos);
  EXPECT_NE(server.stderr_text().find("bad_signature"), std::string::npos);
}

TEST(ServeTest, KeepAliveReusesTheConnection) {
  ServerProcess server({});
  HttpClient client;
  const HttpResult first = client.get(server.base_url() + "/healthz");
  const HttpResult second = client.get(server.base_url() + "/healthz");
  EXPECT_EQ(first.status, 200);
  EXPECT_EQ(second.status, 200);
  EXPECT_EQ(first.new_connections, 1);
  EXPECT_EQ(second.new_connections, 0);
  const auto health = boost::json::parse(second.body).as_object();
  EXPECT_EQ(health.at("status").as_string(), "ok");
  EXPECT_EQ(health.at("active_calls").as_int64(), 0);
}

TEST(ServeTest, BadRequestsGetJsonErrorsAndTheServerCarriesOn) {
  ServerProcess server({});
  HttpClient client;
  EXPECT_EQ(client.get(server.base_url() + "/nowhere").status, 404);
  const HttpResult wrong_method = client.get(server.base_url() + "/phone/incoming-call");
  EXPECT_EQ(wrong_method.status, 405);
  EXPECT_EQ(wrong_method.headers.at("allow"), "POST");
  EXPECT_EQ(client.post(server.base_url() + "/phone/incoming-call", "From=%2B1").status, 400);
  EXPECT_EQ(client.post(server.base_url() + "/phone/incoming-call", "CallSid=%ZZ").status, 400);

  const HttpResult too_big = client.post(server.base_url() + "/phone/incoming-call",
                                         "CallSid=CA1&x=" + std::string(2 << 20, 'a'));
  EXPECT_EQ(too_big.status, 413) << too_big.error;
  EXPECT_EQ(boost::json::parse(too_big.body).at("error").as_string(), "payload_too_large");

  {
    RawConnection garbage(server.port());
    garbage.send("THIS IS NOT HTTP\r\n\r\n");
    const std::string answer = garbage.read_all();
    EXPECT_NE(answer.find("HTTP/1.1 400"), std::string::npos) << answer;
    EXPECT_NE(answer.find("malformed_request"), std::string::npos) << answer;
  }
  {
    RawConnection huge_header(server.port());
    huge_header.send("GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: " + std::string(64 * 1024, 'b') +
                     "\r\n\r\n");
    EXPECT_NE(huge_header.read_all().find("HTTP/1.1 431"), std::string::npos);
  }
  {
    RawConnection half_open(server.port());
    half_open.send("POST /phone/incoming-call HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n");
    // ...and never sends the body; other clients are served meanwhile.
    EXPECT_EQ(client.get(server.base_url() + "/healthz").status, 200);
  }
  EXPECT_EQ(client.get(server.base_url() + "/healthz").status, 200);
  EXPECT_FALSE(server.wait_for_exit(std::chrono::milliseconds(0)).has_value());
}

TEST(ServeTest, MetricsParseAsPrometheusText) {
  ServerProcess server({});
  HttpClient client;
  client.post(server.base_url() + "/phone/incoming-call", form_encode(kCallParams));
  client.get(server.base_url() + "/nowhere");
  const HttpResult result = client.get(server.base_url() + "/metrics");
  ASSERT_EQ(result.status, 200);
  EXPECT_EQ(result.headers.at("content-type"), "text/plain; version=0.0.4; charset=utf-8");

  const std::regex help(R"(^# HELP ([a-zA-Z_:][a-zA-Z0-9_:]*) .*$)");
  const std::regex type(R"(^# TYPE ([a-zA-Z_:][a-zA-Z0-9_:]*) (counter|gauge|histogram)$)");
  const std::regex sample(
      R"re(^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{([a-zA-Z_][a-zA-Z0-9_]*="([^"\\]|\\.)*",?)*\})? )re"
      R"re((-?[0-9]+(\.[0-9]+)?([eE][-+]?[0-9]+)?|\+Inf|-Inf|NaN)$)re");
  std::set<std::string> typed;
  std::istringstream lines(result.body);
  std::string line;
  int samples = 0;
  while (std::getline(lines, line)) {
    std::smatch match;
    if (std::regex_match(line, match, type)) {
      typed.insert(match[1]);
    } else if (std::regex_match(line, match, help)) {
      continue;
    } else {
      ASSERT_TRUE(std::regex_match(line, match, sample)) << "not Prometheus text: " << line;
      std::string family = match[1];
      for (const char* suffix : {"_bucket", "_sum", "_count"}) {
        if (!typed.count(family) && family.ends_with(suffix)) {
          family.resize(family.size() - std::string_view(suffix).size());
        }
      }
      EXPECT_TRUE(typed.count(family)) << "sample before its # TYPE: " << line;
      ++samples;
    }
  }
  EXPECT_GT(samples, 10);
  for (const char* family :
       {"voxgate_http_requests_total", "voxgate_http_request_duration_seconds",
        "voxgate_http_connections", "voxgate_build_info", "voxgate_active_calls"}) {
    EXPECT_TRUE(typed.count(family)) << family;
  }
  EXPECT_NE(result.body.find("route=\"/phone/incoming-call\",method=\"POST\",status=\"200\"} 1"),
            std::string::npos)
      << result.body;
}

TEST(ServeTest, JsonLogLinesCarryTheCallSid) {
  ServerProcess server({"--log-format", "json"});
  HttpClient client;
  client.post(server.base_url() + "/phone/incoming-call-streaming", form_encode(kCallParams));
  server.signal(SIGTERM);
  ASSERT_EQ(server.wait_for_exit(std::chrono::seconds(10)), 0);
  std::istringstream lines(server.stderr_text());
  std::string line;
  bool found = false;
  while (std::getline(lines, line)) {
    const auto entry = boost::json::parse(line).as_object();  // every line is JSON
    if (entry.at("msg").as_string().starts_with("Received streaming call from +14155550100")) {
      EXPECT_EQ(entry.at("call_sid").as_string(), "CA11111111111111111111111111111111");
      found = true;
    }
  }
  EXPECT_TRUE(found) << server.stderr_text();
}

TEST(ServeTest, SigtermFinishesTheRequestInFlightThenExitsZero) {
  ServerProcess server({});
  RawConnection idle(server.port());
  RawConnection in_flight(server.port());
  // A request of a call in progress (a new incoming call would be refused with 503 while
  // draining: tests/integration/balancer_test.cpp).
  const std::string body = "CallSid=CAdrain&CallStatus=completed";
  in_flight.send("POST /phone/call-status HTTP/1.1\r\nHost: localhost\r\n"
                 "Content-Type: application/x-www-form-urlencoded\r\nContent-Length: " +
                 std::to_string(body.size()) + "\r\n\r\n" + body.substr(0, 5));
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  server.signal(SIGTERM);
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  // The process waits for the half-sent request rather than exiting under it.
  EXPECT_FALSE(server.wait_for_exit(std::chrono::milliseconds(0)).has_value());
  in_flight.send(body.substr(5));
  const std::string answer = in_flight.read_all();
  EXPECT_NE(answer.find("HTTP/1.1 204 No Content"), std::string::npos) << answer;
  EXPECT_NE(answer.find("Connection: close"), std::string::npos) << answer;
  EXPECT_EQ(idle.read_all(), "");  // closed without a word
  EXPECT_EQ(server.wait_for_exit(std::chrono::seconds(10)), 0) << server.stderr_text();
  EXPECT_NE(server.stderr_text().find("voxgate stopped"), std::string::npos);
}

TEST(ServeTest, DevelopmentModeRefusesAPublicAddressUnlessAllowed) {
  const CommandResult refused = run_voxgate({"serve", "--host", "0.0.0.0", "--port", "0"});
  EXPECT_EQ(refused.exit_code, 2);
  EXPECT_NE(refused.output.find("--allow-unsigned"), std::string::npos) << refused.output;

  ServerProcess allowed({"--host", "0.0.0.0", "--allow-unsigned"});
  HttpClient client;
  EXPECT_EQ(client.get(allowed.base_url() + "/healthz").status, 200);
}

TEST(ServeTest, ProductionModeNeedsAPublicBaseUrl) {
  const CommandResult result =
      run_voxgate({"serve", "--port", "0"}, {{"TWILIO_AUTH_TOKEN", kToken}});
  EXPECT_EQ(result.exit_code, 2);
  EXPECT_NE(result.output.find("public_base_url"), std::string::npos) << result.output;
  EXPECT_EQ(result.output.find(kToken), std::string::npos);
}

TEST(ServeTest, BadSettingsFailAtStartNamingTheKey) {
  const CommandResult bad_flag = run_voxgate({"serve", "--port", "70000"});
  EXPECT_EQ(bad_flag.exit_code, 2);
  EXPECT_NE(bad_flag.output.find("port"), std::string::npos) << bad_flag.output;

  const std::string path = std::filesystem::temp_directory_path() / "voxgate-bad-config.toml";
  {
    std::ofstream out(path);
    out << "[server]\nhots = \"0.0.0.0\"\n";
  }
  const CommandResult bad_key = run_voxgate({"serve", "--config", path});
  EXPECT_EQ(bad_key.exit_code, 2);
  EXPECT_NE(bad_key.output.find("server.hots"), std::string::npos) << bad_key.output;
  std::filesystem::remove(path);
}

TEST(ServeTest, PrintConfigMasksSecretsAndShowsPrecedence) {
  const CommandResult result = run_voxgate(
      {"serve", "--print-config", "--port", "6001"},
      {{"TWILIO_AUTH_TOKEN", kToken}, {"FLASK_BASE_URL", "https://flask.example.com"}});
  EXPECT_EQ(result.exit_code, 0) << result.output;
  EXPECT_EQ(result.output.find(kToken), std::string::npos) << result.output;
  EXPECT_NE(result.output.find("port = 6001"), std::string::npos) << result.output;
  EXPECT_NE(result.output.find("https://flask.example.com"), std::string::npos);
}

// A minimal 16-bit PCM WAV file, written by hand so the test depends on nothing it tests.
std::string pcm16_wav(int rate_hz, int n_samples, std::int16_t value) {
  auto le32 = [](std::uint32_t v) {
    return std::string{static_cast<char>(v), static_cast<char>(v >> 8), static_cast<char>(v >> 16),
                       static_cast<char>(v >> 24)};
  };
  auto le16 = [](std::uint16_t v) {
    return std::string{static_cast<char>(v), static_cast<char>(v >> 8)};
  };
  const std::uint32_t data_bytes = static_cast<std::uint32_t>(n_samples) * 2;
  std::string wav = "RIFF" + le32(36 + data_bytes) + "WAVEfmt " + le32(16) + le16(1) + le16(1) +
                    le32(static_cast<std::uint32_t>(rate_hz)) +
                    le32(static_cast<std::uint32_t>(rate_hz) * 2) + le16(2) + le16(16) + "data" +
                    le32(data_bytes);
  for (int i = 0; i < n_samples; ++i) wav += le16(static_cast<std::uint16_t>(value));
  return wav;
}

// Answers a call as Twilio would start it on the streaming webhook: the script of the
// stream the TwiML asks for (port, path, CallSid, token), or nullopt without a token.
std::optional<StreamScript> answer_streaming_call(const ServerProcess& server, HttpClient& client,
                                                  const std::string& call_sid) {
  const HttpResult twiml = client.post(server.base_url() + "/phone/incoming-call-streaming",
                                       "CallSid=" + call_sid + "&From=%2B14155550100");
  std::smatch token;
  if (!std::regex_search(twiml.body, token,
                         std::regex(R"re(<Parameter name="token" value="([^"]+)"/>)re"))) {
    ADD_FAILURE() << "no stream token in " << twiml.body;
    return std::nullopt;
  }
  StreamScript script;
  script.port = server.port();
  script.path = "/phone/stream-audio/" + call_sid;
  script.call_sid = call_sid;
  script.custom_parameters = {{"token", token[1]}};
  return script;
}

TEST(ServeTest, MediaStreamThroughTheRealBinary) {
  ServerProcess server({});
  HttpClient client;
  std::optional<StreamScript> answered = answer_streaming_call(server, client, "CAbinary");
  ASSERT_TRUE(answered);

  StreamScript script = *answered;
  script.caller_audio.assign(8000, 0x2A);  // 1 s
  script.dtmf = {{std::chrono::milliseconds(300), "4"}};
  const StreamReport report = run_stream_blocking(script);
  EXPECT_TRUE(report.connected) << report.upgrade_error;
  EXPECT_EQ(report.close_code, 1000) << report.close_reason;
  EXPECT_EQ(report.media_frames_sent, 50u);

  const auto call = boost::json::parse(client.get(server.base_url() + "/calls/CAbinary").body);
  EXPECT_EQ(call.at("dtmf").as_string(), "4");
  EXPECT_EQ(call.at("stream_sid").as_string().subview(0, 2), "MZ");
  const std::string metrics = client.get(server.base_url() + "/metrics").body;
  EXPECT_NE(metrics.find("voxgate_stream_frames_in_total 50"), std::string::npos) << metrics;
  EXPECT_NE(server.stderr_text().find("[CAbinary] Media stream MZ"), std::string::npos);
}

TEST(ServeTest, SigtermLetsStreamsRunThenClosesThemAtTheDrainDeadline) {
  const std::string config = std::filesystem::temp_directory_path() / "voxgate-drain.toml";
  std::ofstream(config) << "[server]\ndrain_timeout_s = 1\n";
  ServerProcess server({"--config", config});
  HttpClient client;
  std::optional<StreamScript> answered = answer_streaming_call(server, client, "CAdrain");
  ASSERT_TRUE(answered);
  StreamScript script = *answered;
  script.caller_audio.assign(8000 * 6, 0x2A);  // 6 s: longer than the drain
  auto report = std::async(std::launch::async, [script] { return run_stream_blocking(script); });
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  const auto signalled = std::chrono::steady_clock::now();
  server.signal(SIGTERM);
  const StreamReport stream = report.get();
  const auto closed_after = std::chrono::steady_clock::now() - signalled;
  EXPECT_EQ(stream.close_code, 1001) << stream.close_reason << " " << stream.error;
  EXPECT_EQ(stream.close_reason, "server shutting down");
  EXPECT_GE(closed_after, std::chrono::milliseconds(900));   // it ran until the deadline
  EXPECT_LT(closed_after, std::chrono::milliseconds(2500));  // and not much longer
  EXPECT_EQ(server.wait_for_exit(std::chrono::seconds(5)), 0) << server.stderr_text();
  std::filesystem::remove(config);
}

// Where speech starts in mu-law audio: the first 20 ms frame louder than -30 dBFS.
double first_speech_ms(const std::vector<std::uint8_t>& mulaw) {
  for (std::size_t frame = 0; frame * 160 < mulaw.size(); ++frame) {
    double energy = 0;
    const std::size_t end = std::min(mulaw.size(), (frame + 1) * 160);
    for (std::size_t i = frame * 160; i < end; ++i) {
      const double sample = audio::ulaw_to_linear(mulaw[i]);
      energy += sample * sample;
    }
    if (std::sqrt(energy / 160) > 32768 * 0.0316) return 20.0 * static_cast<double>(frame);
  }
  return 0;
}

// The share of the words of `expected` (lowercased, without punctuation) found in `text`.
double share_of_words_found(const std::string& expected, const std::string& text) {
  const auto words = [](const std::string& s) {
    std::vector<std::string> out;
    std::string word;
    for (const char c : s + " ") {
      if (std::isalnum(static_cast<unsigned char>(c)) || c == '\'') {
        word += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      } else if (!word.empty()) {
        out.push_back(word);
        word.clear();
      }
    }
    return out;
  };
  const auto wanted = words(expected);
  const auto got = words(text);
  const std::set<std::string> have(got.begin(), got.end());
  std::size_t found = 0;
  for (const auto& word : wanted) found += have.count(word);
  return wanted.empty() ? 0 : static_cast<double>(found) / static_cast<double>(wanted.size());
}

// A caller talks over the greeting (barge-in), asks for the opening hours, hears the
// answer, and says goodbye; the agent hangs up and stream-ended says so. Real engines:
// WebRTC VAD, pocketsphinx, flite, the shipped front-desk dialog.
TEST(ServeTest, ConversationOverTheStreamWithTheEmbeddedEngines) {
  const std::string config = std::filesystem::temp_directory_path() / "voxgate-conversation.toml";
  std::ofstream(config) << "[agent]\nscript = \"" << VOXGATE_SOURCE_DIR
                        << "/config/front-desk.toml\"\n";
  ServerProcess server({"--config", config});
  HttpClient client;
  std::optional<StreamScript> answered = answer_streaming_call(server, client, "CAtalk");
  ASSERT_TRUE(answered);

  const std::string set = VOXGATE_SPEECH_SET_DIR;
  const auto silence = [](int ms) { return std::vector<std::uint8_t>(ms * 8, 0xFF); };
  std::vector<std::uint8_t> caller = silence(1500);  // the greeting starts
  const auto hours = read_bytes(set + "/02-rms.ul");      // "what are your opening hours"
  caller.insert(caller.end(), hours.begin(), hours.end());
  const auto quiet = silence(9000);                         // the answer plays
  caller.insert(caller.end(), quiet.begin(), quiet.end());
  const auto goodbye = read_bytes(set + "/32-rms.ul");    // "thank you goodbye"
  caller.insert(caller.end(), goodbye.begin(), goodbye.end());
  const auto tail = silence(6000);
  caller.insert(caller.end(), tail.begin(), tail.end());

  StreamScript script = *answered;
  script.caller_audio = caller;
  const StreamReport report = run_stream_blocking(script);
  EXPECT_TRUE(report.connected) << report.upgrade_error;
  // The agent closed the stream after its goodbye had played, before the caller hung up.
  EXPECT_EQ(report.close_code, 1000) << report.close_reason << " " << report.error;
  EXPECT_EQ(report.close_reason, "call ended by the agent");
  EXPECT_GE(report.clears_received, 1u);  // the greeting was interrupted
  EXPECT_GT(report.media_frames_received, 100u);
  // Barge-in at the wire: from the first frame of the caller's speech to the clear.
  const double speech_onset_ms = 1500 + first_speech_ms(hours);
  ASSERT_FALSE(report.clear_times_ms.empty());
  const double clear_after_ms = report.clear_times_ms.front() - speech_onset_ms;
  std::printf("barge-in: clear %.0f ms after the caller started speaking\n", clear_after_ms);
  EXPECT_GT(clear_after_ms, 0);
  EXPECT_LE(clear_after_ms, 300);

  const auto call = boost::json::parse(client.get(server.base_url() + "/calls/CAtalk").body);
  const auto& turns = call.at("turns").as_array();
  ASSERT_GE(turns.size(), 2u) << boost::json::serialize(call);
  EXPECT_NE(std::string(turns[0].at("agent").as_string()).find("Monday to Friday"),
            std::string::npos)
      << boost::json::serialize(call);
  EXPECT_NE(std::string(turns.back().at("agent").as_string()).find("Goodbye"),
            std::string::npos);
  const std::string ended = client.post(server.base_url() + "/phone/stream-ended/CAtalk",
                                        "CallSid=CAtalk").body;
  EXPECT_NE(ended.find("<Hangup/>"), std::string::npos) << ended;

  // What the caller heard, run back through the recognizer, is the agent's answer.
  const std::string heard_wav = std::filesystem::temp_directory_path() / "voxgate-heard.wav";
  const auto wav = audio::encode_wav_ulaw(report.received_audio);
  std::ofstream(heard_wav, std::ios::binary)
      .write(reinterpret_cast<const char*>(wav.data()), static_cast<std::streamsize>(wav.size()));
  const CommandResult heard = run_voxgate({"transcribe", heard_wav});
  ASSERT_EQ(heard.exit_code, 0) << heard.output;
  const std::string answer(turns[0].at("agent").as_string());
  const double found = share_of_words_found(answer, heard.output);
  std::printf("reply through STT: %.0f %% of the answer's words (\"%s\")\n", 100 * found,
              heard.output.c_str());
  EXPECT_GE(found, 0.5) << heard.output;
  std::filesystem::remove(heard_wav);
  std::filesystem::remove(config);
}

// The same conversation with every engine on the network: OpenAI-compatible transcription,
// chat (streamed) and speech, all served by the stand-in of tests/fakes. The caller's words
// are whatever the stand-in says it heard; the model answers and then ends the call.
TEST(ServeTest, ConversationWithOpenAiCompatibleEngines) {
  OpenAiFake fake;
  fake.require_api_key("sk-integration");
  fake.set_transcript("What are your opening hours?");
  fake.set_chat_reply("We are open from nine to five. Goodbye!");
  fake.set_tool_call("end_call", "{}");
  const std::string config = std::filesystem::temp_directory_path() / "voxgate-openai.toml";
  std::ofstream(config) << "[stt]\nengine = \"openai\"\n[tts]\nengine = \"openai\"\n"
                        << "[agent]\nengine = \"openai\"\nmodel = \"tiny\"\n";
  ServerProcess server({"--config", config}, {{"OPENAI_API_KEY", "sk-integration"},
                                              {"OPENAI_BASE_URL", fake.base_url() + "/v1"}});
  HttpClient client;
  std::optional<StreamScript> answered = answer_streaming_call(server, client, "CAnet");
  ASSERT_TRUE(answered);
  std::vector<std::uint8_t> caller(8 * 6000, 0xFF);  // listens to the greeting
  const auto hours = read_bytes(std::string(VOXGATE_SPEECH_SET_DIR) + "/02-rms.ul");
  caller.insert(caller.end(), hours.begin(), hours.end());
  caller.insert(caller.end(), 8 * 8000, 0xFF);
  StreamScript script = *answered;
  script.caller_audio = caller;
  const StreamReport report = run_stream_blocking(script);
  EXPECT_TRUE(report.connected) << report.upgrade_error;
  EXPECT_EQ(report.close_reason, "call ended by the agent") << server.stderr_text();
  // The greeting and two sentences, 70 characters at 60 ms of fake speech each: 210 frames.
  EXPECT_GE(report.media_frames_received, 200u);
  EXPECT_LE(report.media_frames_received, 220u);

  const auto call = boost::json::parse(client.get(server.base_url() + "/calls/CAnet").body);
  const auto& turns = call.at("turns").as_array();
  ASSERT_EQ(turns.size(), 1u) << boost::json::serialize(call);
  EXPECT_EQ(turns[0].at("caller"), "what are your opening hours");
  EXPECT_EQ(turns[0].at("agent"), "We are open from nine to five. Goodbye!");
  EXPECT_EQ(fake.request_count(FakeRoute::kTranscriptions), 1u);
  EXPECT_EQ(fake.request_count(FakeRoute::kChatCompletions), 1u);
  EXPECT_GE(fake.request_count(FakeRoute::kSpeech), 3u);  // greeting + two sentences
  EXPECT_NE(client.post(server.base_url() + "/phone/stream-ended/CAnet", "CallSid=CAnet")
                .body.find("<Hangup/>"),
            std::string::npos);
  // The key never reaches the log.
  EXPECT_EQ(server.stderr_text().find("sk-integration"), std::string::npos);
  std::filesystem::remove(config);
}

// Hybrid mode: each turn is its own stream. The caller asks, the server closes the stream,
// stream-ended plays the reply and reconnects; the second stream picks up the history and
// the goodbye ends the call. Prints the server's share of the reconnect gap.
TEST(ServeTest, HybridModeTurnByTurn) {
  const std::string config = std::filesystem::temp_directory_path() / "voxgate-hybrid.toml";
  std::ofstream(config) << "[call]\nmode = \"hybrid\"\n[agent]\nscript = \"" << VOXGATE_SOURCE_DIR
                        << "/config/front-desk.toml\"\n";
  ServerProcess server({"--config", config});
  HttpClient client;
  std::optional<StreamScript> answered = answer_streaming_call(server, client, "CAhybrid");
  ASSERT_TRUE(answered);
  const auto silence = [](int ms) { return std::vector<std::uint8_t>(ms * 8, 0xFF); };
  StreamScript first = *answered;
  first.caller_audio = silence(4000);  // the greeting plays over the stream
  const auto hours = read_bytes(std::string(VOXGATE_SPEECH_SET_DIR) + "/02-rms.ul");
  first.caller_audio.insert(first.caller_audio.end(), hours.begin(), hours.end());
  const auto tail = silence(6000);
  first.caller_audio.insert(first.caller_audio.end(), tail.begin(), tail.end());
  const StreamReport one = run_stream_blocking(first);
  EXPECT_EQ(one.close_reason, "turn handed to TwiML") << server.stderr_text();
  EXPECT_GT(one.media_frames_received, 50u);  // the greeting, streamed

  const auto asked = std::chrono::steady_clock::now();
  const HttpResult ended = client.post(server.base_url() + "/phone/stream-ended/CAhybrid",
                                       "CallSid=CAhybrid");
  const double ended_ms =
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - asked).count();
  std::smatch play;
  ASSERT_TRUE(std::regex_search(ended.body, play, std::regex("<Play>http://[^<]+(/audio/[0-9a-f]+\\.wav)</Play>")))
      << ended.body;
  std::smatch token;
  ASSERT_TRUE(std::regex_search(ended.body, token,
                                std::regex(R"re(<Parameter name="token" value="([^"]+)"/>)re")))
      << ended.body;
  EXPECT_LT(ended.body.find("<Play>"), ended.body.find("<Connect>"));
  const auto fetched = std::chrono::steady_clock::now();
  const HttpResult reply = client.get(server.base_url() + play[1].str());
  const double fetch_ms =
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - fetched).count();
  EXPECT_EQ(reply.status, 200);
  EXPECT_GT(reply.body.size(), 8000u);  // seconds of speech

  StreamScript second = first;
  second.custom_parameters = {{"token", token[1]}};
  const auto goodbye = read_bytes(std::string(VOXGATE_SPEECH_SET_DIR) + "/32-rms.ul");
  second.caller_audio = silence(300);  // no greeting this time: the caller goes on at once
  second.caller_audio.insert(second.caller_audio.end(), goodbye.begin(), goodbye.end());
  second.caller_audio.insert(second.caller_audio.end(), tail.begin(), tail.end());
  const StreamReport two = run_stream_blocking(second);
  EXPECT_EQ(two.close_reason, "turn handed to TwiML");
  EXPECT_EQ(two.media_frames_received, 0u);  // no second greeting
  const HttpResult last = client.post(server.base_url() + "/phone/stream-ended/CAhybrid",
                                      "CallSid=CAhybrid");
  EXPECT_NE(last.body.find("<Play>"), std::string::npos) << last.body;
  EXPECT_NE(last.body.find("<Hangup/>"), std::string::npos) << last.body;
  EXPECT_EQ(last.body.find("<Connect>"), std::string::npos);

  const auto call = boost::json::parse(client.get(server.base_url() + "/calls/CAhybrid").body);
  ASSERT_EQ(call.at("turns").as_array().size(), 2u) << boost::json::serialize(call);
  // From the caller's last word to the stream's close: endpointing, STT, the agent and the
  // whole reply's synthesis (full duplex starts playing after the first sentence).
  const double speech_end_ms = 4000.0 + static_cast<double>(hours.size()) / 8;
  std::printf("hybrid turn, server side: last caller frame -> stream closed %.0f ms; "
              "stream-ended answered in %.1f ms; reply WAV served in %.1f ms\n",
              static_cast<double>(one.duration.count()) - speech_end_ms, ended_ms, fetch_ms);
  std::filesystem::remove(config);
}

// A streaming call whose connection drops in the middle of a turn goes on in recording
// mode with the conversation so far.
TEST(ServeTest, StreamDroppedMidCallFallsBackToRecordingWithItsHistory) {
  const std::string config = std::filesystem::temp_directory_path() / "voxgate-drop.toml";
  std::ofstream(config) << "[agent]\nscript = \"" << VOXGATE_SOURCE_DIR
                        << "/config/front-desk.toml\"\n";
  ServerProcess server({"--config", config});
  HttpClient client;
  std::optional<StreamScript> answered = answer_streaming_call(server, client, "CAdrop");
  ASSERT_TRUE(answered);
  StreamScript script = *answered;
  script.caller_audio.assign(8 * 3000, 0xFF);
  const auto hours = read_bytes(std::string(VOXGATE_SPEECH_SET_DIR) + "/02-rms.ul");
  script.caller_audio.insert(script.caller_audio.end(), hours.begin(), hours.end());
  script.caller_audio.insert(script.caller_audio.end(), 8 * 2500, 0xFF);  // the answer starts
  script.send_stop = false;  // then the network drops
  const StreamReport report = run_stream_blocking(script);
  EXPECT_TRUE(report.connected);
  const HttpResult ended =
      client.post(server.base_url() + "/phone/stream-ended/CAdrop", "CallSid=CAdrop");
  EXPECT_NE(ended.body.find("<Record action=\"http://127.0.0.1:" + std::to_string(server.port()) +
                            "/phone/process-voice/CAdrop\""),
            std::string::npos)
      << ended.body;
  EXPECT_NE(ended.body.find("<Play>"), std::string::npos);  // "the line dropped, go on"
  const auto call = boost::json::parse(client.get(server.base_url() + "/calls/CAdrop").body);
  EXPECT_EQ(call.at("mode"), "recording");
  ASSERT_EQ(call.at("turns").as_array().size(), 1u) << boost::json::serialize(call);
  std::filesystem::remove(config);
}

// A webhook agent that fails: the caller hears an apology, not silence, and the failure is
// counted by stage, engine and reason.
TEST(ServeTest, FailingWebhookAgentApologizes) {
  OpenAiFake fake;
  fake.set_transcript("Hello?");
  fake.set_failure(FakeRoute::kWebhook, Failure::server_error());
  const std::string config = std::filesystem::temp_directory_path() / "voxgate-webhook.toml";
  std::ofstream(config) << "[stt]\nengine = \"openai\"\n[tts]\nengine = \"openai\"\n"
                        << "[agent]\nengine = \"webhook\"\nurl = \"" << fake.webhook_url()
                        << "\"\n";
  ServerProcess server({"--config", config}, {{"OPENAI_BASE_URL", fake.base_url() + "/v1"}});
  HttpClient client;
  std::optional<StreamScript> answered = answer_streaming_call(server, client, "CAsorry");
  ASSERT_TRUE(answered);
  std::vector<std::uint8_t> caller(8 * 3000, 0xFF);  // the greeting plays
  const auto hello = read_bytes(std::string(VOXGATE_SPEECH_SET_DIR) + "/01-rms.ul");
  caller.insert(caller.end(), hello.begin(), hello.end());
  caller.insert(caller.end(), 8 * 6000, 0xFF);
  StreamScript script = *answered;
  script.caller_audio = caller;
  const StreamReport report = run_stream_blocking(script);
  EXPECT_TRUE(report.connected) << report.upgrade_error;
  // Greeting (32 characters) and apology (55), at 60 ms of fake speech per character.
  const std::vector<RecordedRequest> spoken = fake.requests(FakeRoute::kSpeech);
  ASSERT_GE(spoken.size(), 2u) << server.stderr_text();
  std::string said;
  for (const auto& request : spoken) said += std::string(request.json->at("input").as_string());
  EXPECT_NE(said.find("Sorry, I had a problem there."), std::string::npos) << said;
  EXPECT_GE(report.media_frames_received, 200u);
  const std::string metrics = client.get(server.base_url() + "/metrics").body;
  EXPECT_NE(metrics.find(
                "voxgate_engine_errors_total{stage=\"agent\",engine=\"webhook\",reason=\"error\"} 1"),
            std::string::npos)
      << metrics;
  EXPECT_NE(server.stderr_text().find("webhook answered HTTP 500"), std::string::npos);
  std::filesystem::remove(config);
}

// The chunk API with speech in it: the caller's question comes back as a transcript, the
// front desk's answer, and a WAV of that answer to <Play>.
TEST(ServeTest, ChunkApiAnswersWithTranscriptReplyAndAudio) {
  ServerProcess server({});
  HttpClient client;
  const auto question = read_bytes(std::string(VOXGATE_SPEECH_SET_DIR) + "/02-rms.ul");
  const HttpResult uploaded =
      client.post(server.base_url() + "/phone/stream-audio/CAchunks",
                  std::string(question.begin(), question.end()), {"Content-Type: audio/x-mulaw"});
  ASSERT_EQ(uploaded.status, 200) << uploaded.body;
  const HttpResult completed =
      client.post(server.base_url() + "/phone/stream-audio/CAchunks/complete", "", {});
  ASSERT_EQ(completed.status, 200) << completed.body << completed.error << server.stderr_text();
  const auto result = boost::json::parse(completed.body);
  EXPECT_NE(std::string(result.at("transcript").as_string()).find("hours"), std::string::npos)
      << completed.body;
  EXPECT_NE(std::string(result.at("reply").as_string()).find("Monday to Friday"),
            std::string::npos);
  EXPECT_FALSE(result.at("ended").as_bool());
  const std::string url(result.at("reply_audio_url").as_string());
  ASSERT_TRUE(url.starts_with(server.base_url() + "/audio/")) << url;
  const HttpResult audio = client.get(url);
  EXPECT_EQ(audio.status, 200);
  EXPECT_EQ(audio.headers.at("content-type"), "audio/wav");
  EXPECT_EQ(audio.body.substr(0, 4), "RIFF");
  EXPECT_GT(audio.body.size(), 8000u * 3);  // seconds of speech
  EXPECT_EQ(client.get(server.base_url() + "/audio/00000000000000000000000000000000.wav").status,
            404);
  EXPECT_EQ(client.get(server.base_url() + "/audio/..%2F..%2Fetc%2Fpasswd.wav").status, 404);
}

TEST(ServeTest, SayAndTranscribeRunOneEngineOffline) {
  const std::string wav = std::filesystem::temp_directory_path() / "voxgate-say.wav";
  const CommandResult said =
      run_voxgate({"say", "Thank you for calling. How can I help you today?", "-o", wav});
  ASSERT_EQ(said.exit_code, 0) << said.output;
  // 8 kHz mu-law: about 3 s of speech is about 24 kB.
  EXPECT_GT(std::filesystem::file_size(wav), 16000u);
  EXPECT_LT(std::filesystem::file_size(wav), 48000u);
  const CommandResult heard = run_voxgate({"transcribe", wav});
  EXPECT_EQ(heard.exit_code, 0) << heard.output;
  EXPECT_NE(heard.output.find("help"), std::string::npos) << heard.output;
  EXPECT_EQ(run_voxgate({"transcribe", "/nonexistent.wav"}).exit_code, 2);
  std::filesystem::remove(wav);
}

// The seed's example, `requests.post(url, files={'audio': open('chunk.wav', 'rb')})`,
// done with curl's multipart upload; then the failures that must keep earlier audio.
TEST(ServeTest, SeedChunkUploadWithCurlThenComplete) {
  ServerProcess server({});
  const std::string dir = std::filesystem::temp_directory_path() / "voxgate-chunk-test";
  std::filesystem::create_directories(dir);
  {
    std::ofstream(dir + "/chunk.wav", std::ios::binary) << pcm16_wav(16000, 16000, 1200);
    std::ofstream(dir + "/garbage.wav", std::ios::binary) << "this is not audio at all";
  }
  const std::string url = server.base_url() + "/phone/stream-audio/test123";
  const std::string upload = run_shell("curl -s -F audio=@" + dir + "/chunk.wav " + url);
  const auto uploaded = boost::json::parse(upload);
  EXPECT_EQ(uploaded.at("call_sid").as_string(), "test123");
  EXPECT_EQ(uploaded.at("chunks").as_int64(), 1);
  EXPECT_NEAR(static_cast<double>(uploaded.at("bytes").as_int64()), 8000, 20);

  auto status_of = [&](const std::string& curl_args) {
    return run_shell("curl -s -o /dev/null -w '%{http_code}' " + curl_args + " " + url);
  };
  EXPECT_EQ(status_of("-F audio=@" + dir + "/garbage.wav"), "400");
  EXPECT_EQ(status_of("-F other=@" + dir + "/chunk.wav"), "400");
  EXPECT_EQ(status_of("-H 'Content-Type: audio/wav' --data-binary ''"), "400");
  EXPECT_EQ(status_of("-H 'Content-Type: text/plain' --data-binary hello"), "415");
  const std::string raw = dir + "/half-second.ul";
  std::ofstream(raw, std::ios::binary) << std::string(4000, '\xff');
  EXPECT_EQ(status_of("-H 'Content-Type: audio/x-mulaw' --data-binary @" + raw), "200");
  const std::string too_big = dir + "/big.ul";
  std::ofstream(too_big, std::ios::binary) << std::string(2 << 20, '\xff');
  EXPECT_EQ(status_of("-H 'Content-Type: audio/x-mulaw' --data-binary @" + too_big), "413");

  const std::string completed = run_shell("curl -s -X POST " + url + "/complete");
  const auto result = boost::json::parse(completed);
  EXPECT_EQ(result.at("chunks").as_int64(), 2) << completed;
  EXPECT_TRUE(result.at("transcript").is_string());  // a steady tone: no words
  EXPECT_GT(result.at("audio_duration_s").as_double(), 1.0);
  EXPECT_EQ(run_shell("curl -s -o /dev/null -w '%{http_code}' -X POST " + url + "/complete"),
            "404");  // freed
  EXPECT_NE(server.stderr_text().find("Stored audio chunk for call test123"), std::string::npos);
  EXPECT_NE(server.stderr_text().find("Processing streamed audio for call test123"),
            std::string::npos);
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace voxgate::testing
