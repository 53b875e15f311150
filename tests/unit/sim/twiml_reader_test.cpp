// Reading TwiML: the server's streaming answer, redirect targets, fallbacks and garbage.
#include "sim/twiml_reader.hpp"

#include <gtest/gtest.h>

namespace voxgate::sim {
namespace {

TEST(TwimlReaderTest, StreamingAnswerWithParametersAndRedirect) {
  const auto doc = read_twiml(
      R"(<?xml version="1.0" encoding="UTF-8"?>)"
      R"(<Response><Connect><Stream url="wss://voice.example.com/phone/stream-audio/CA1")"
      R"( statusCallback="https://voice.example.com/phone/stream-status/CA1">)"
      R"(<Parameter name="token" value="a&amp;b&lt;&#65;"/><Parameter name="x" value=""/>)"
      R"(</Stream></Connect>)"
      R"(<Redirect method="POST">https://voice.example.com/phone/stream-ended/CA1?a=1&amp;b=2</Redirect>)"
      R"(</Response>)");
  ASSERT_TRUE(doc.ok()) << doc.error;
  ASSERT_EQ(doc.verbs.size(), 2u);
  const auto& connect = std::get<ConnectVerb>(doc.verbs[0]);
  EXPECT_EQ(connect.stream_url, "wss://voice.example.com/phone/stream-audio/CA1");
  EXPECT_EQ(connect.status_callback, "https://voice.example.com/phone/stream-status/CA1");
  ASSERT_EQ(connect.parameters.size(), 2u);
  EXPECT_EQ(connect.parameters[0].first, "token");
  EXPECT_EQ(connect.parameters[0].second, "a&b<A");
  EXPECT_EQ(connect.parameters[1].second, "");
  const auto& redirect = std::get<RedirectVerb>(doc.verbs[1]);
  EXPECT_EQ(redirect.url, "https://voice.example.com/phone/stream-ended/CA1?a=1&b=2");
  EXPECT_EQ(redirect.method, "POST");
}

TEST(TwimlReaderTest, EveryVerbTheSimulatorActsOn) {
  const auto doc = read_twiml(
      "<Response>\n  <!-- comment -->\n  <Say voice=\"alice\">Hello &quot;you&quot;</Say>\n"
      "  <Play>https://x/a.wav</Play><Pause length=\"2\"/>"
      "<Record action=\"/phone/process-voice/CA1\" method=\"POST\" maxLength=\"30\" timeout=\"2\"/>"
      "<Dial><Number>+14155550100</Number></Dial><Dial>+1234</Dial><Hangup/><Gather/>"
      "</Response>");
  ASSERT_TRUE(doc.ok()) << doc.error;
  ASSERT_EQ(doc.verbs.size(), 8u);
  EXPECT_EQ(std::get<SayVerb>(doc.verbs[0]).text, "Hello \"you\"");
  EXPECT_EQ(std::get<PlayVerb>(doc.verbs[1]).url, "https://x/a.wav");
  EXPECT_EQ(std::get<PauseVerb>(doc.verbs[2]).length_s, 2);
  EXPECT_EQ(std::get<RecordVerb>(doc.verbs[3]).action, "/phone/process-voice/CA1");
  EXPECT_EQ(std::get<RecordVerb>(doc.verbs[3]).timeout_s, 2);
  EXPECT_EQ(std::get<DialVerb>(doc.verbs[4]).number, "+14155550100");
  EXPECT_EQ(std::get<DialVerb>(doc.verbs[5]).number, "+1234");
  EXPECT_TRUE(std::holds_alternative<HangupVerb>(doc.verbs[6]));
  EXPECT_EQ(std::get<OtherVerb>(doc.verbs[7]).name, "Gather");
}

TEST(TwimlReaderTest, RecordTimeoutDefaultsToTwiliosFiveSeconds) {
  const auto doc = read_twiml("<Response><Record action=\"/a\"/></Response>");
  ASSERT_TRUE(doc.ok()) << doc.error;
  EXPECT_EQ(std::get<RecordVerb>(doc.verbs[0]).timeout_s, 5);
  EXPECT_TRUE(std::get<RecordVerb>(doc.verbs[0]).trim_silence);
  EXPECT_FALSE(std::get<RecordVerb>(read_twiml("<Response><Record trim=\"do-not-trim\"/></Response>")
                                        .verbs[0])
                   .trim_silence);
}

TEST(TwimlReaderTest, EmptyResponseHasNoVerbs) {
  const auto doc = read_twiml("<Response/>");
  ASSERT_TRUE(doc.ok()) << doc.error;
  EXPECT_TRUE(doc.verbs.empty());
}

TEST(TwimlReaderTest, GarbageIsRefused) {
  for (const char* bad : {"", "not xml", "<Response><Say>unclosed</Response>",
                          "<Other/>", "<Response/><Response/>", "{\"json\":true}",
                          "<Response><Connect><Stream/></Connect></Response>",
                          "<Response><Connect/></Response>",
                          "<Response><Redirect>  </Redirect></Response>",
                          "<Response><Pause length=\"x\"/></Response>",
                          "<Response><Pause length=\"-1\"/></Response>",
                          "<Response><Record timeout=\"soon\"/></Response>",
                          "<Response><Record timeout=\"100000\"/></Response>",
                          "<Response><Say>&bogus;</Say></Response>"}) {
    const auto doc = read_twiml(bad);
    EXPECT_FALSE(doc.ok()) << bad;
    EXPECT_TRUE(doc.verbs.empty()) << bad;
  }
}

}  // namespace
}  // namespace voxgate::sim
