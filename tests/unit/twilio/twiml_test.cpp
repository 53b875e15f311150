// Tests for the TwiML builder: exact output of each verb, escaping, dropped control characters
// and the <Stream> option checks of twilio-protocol.md §1.5.
#include "twilio/twiml.hpp"

#include <gtest/gtest.h>

#include <string>

namespace voxgate::twilio {
namespace {

constexpr char kDecl[] = R"(<?xml version="1.0" encoding="UTF-8"?>)";

std::string doc(const std::string& verbs) { return kDecl + ("<Response>" + verbs + "</Response>"); }

TEST(XmlEscapeTest, EscapesAllFiveCharacters) {
  EXPECT_EQ(xml_escape(R"(a & b < c > d " e ' f)"), "a &amp; b &lt; c &gt; d &quot; e &apos; f");
}

TEST(XmlEscapeTest, LeavesPlainTextAndUtf8Alone) {
  EXPECT_EQ(xml_escape("Grüß Gott, 你好 🙂"), "Grüß Gott, 你好 🙂");
  EXPECT_EQ(xml_escape(""), "");
}

TEST(XmlEscapeTest, KeepsTabNewlineAndCarriageReturn) {
  EXPECT_EQ(xml_escape("a\tb\nc\rd"), "a\tb\nc\rd");
}

TEST(XmlEscapeTest, DropsControlCharacters) {
  const std::string text = std::string("a") + '\0' + "b\x01\x08\x0b\x0c\x0e\x1f" + "c\x7f";
  EXPECT_EQ(xml_escape(text), "abc\x7f");  // DEL is a legal XML 1.0 character
}

TEST(XmlEscapeTest, DropsMalformedUtf8AndNonCharacters) {
  EXPECT_EQ(xml_escape("a\xff"
                       "b"),
            "ab");                      // never valid in UTF-8
  EXPECT_EQ(xml_escape("a\xc3"), "a");  // truncated sequence
  EXPECT_EQ(xml_escape("a\xc0\xaf"
                       "b"),
            "ab");  // overlong '/'
  EXPECT_EQ(xml_escape("a\xed\xa0\x80"
                       "b"),
            "ab");  // UTF-16 surrogate U+D800
  EXPECT_EQ(xml_escape("a\xef\xbf\xbe"
                       "b"),
            "ab");  // U+FFFE
  EXPECT_EQ(xml_escape("a\xef\xbf\xbf"
                       "b"),
            "ab");  // U+FFFF
  EXPECT_EQ(xml_escape("a\xf4\x90\x80\x80"
                       "b"),
            "ab");                                        // above U+10FFFF
  EXPECT_EQ(xml_escape("\xef\xbf\xbd"), "\xef\xbf\xbd");  // U+FFFD is fine
}

TEST(TwimlResponseTest, EmptyResponse) {
  const TwimlResponse response;
  EXPECT_EQ(response.str(), std::string(kDecl) + "<Response/>");
  EXPECT_EQ(response.size_bytes(), response.str().size());
}

TEST(TwimlResponseTest, SayWithAndWithoutVoice) {
  TwimlResponse response;
  response.say("Hello").say("Hi", "Polly.Joanna");
  EXPECT_EQ(response.str(), doc(R"(<Say>Hello</Say><Say voice="Polly.Joanna">Hi</Say>)"));
}

TEST(TwimlResponseTest, EscapesTextContent) {
  TwimlResponse response;
  response.say(R"(Tom & Jerry's <show> "live")");
  EXPECT_EQ(response.str(), doc("<Say>Tom &amp; Jerry&apos;s &lt;show&gt; &quot;live&quot;</Say>"));
}

TEST(TwimlResponseTest, EscapesAttributeValues) {
  TwimlResponse response;
  response.say("x", R"(a&b<c>d"e'f)");
  EXPECT_EQ(response.str(), doc(R"(<Say voice="a&amp;b&lt;c&gt;d&quot;e&apos;f">x</Say>)"));
}

TEST(TwimlResponseTest, EscapesUrlsInTextAndAttributes) {
  TwimlResponse response;
  response.play("https://example.com/a.wav?x=1&y=2")
      .redirect("https://example.com/next?a=1&b=2", "GET");
  EXPECT_EQ(response.str(), doc("<Play>https://example.com/a.wav?x=1&amp;y=2</Play>"
                                R"(<Redirect method="GET">https://example.com/next?a=1&amp;b=2)"
                                "</Redirect>"));
}

TEST(TwimlResponseTest, WhitespaceInAttributesSurvivesNormalization) {
  TwimlResponse response;
  response.say("a\nb", "x\ty\nz\r");
  EXPECT_EQ(response.str(), doc(R"(<Say voice="x&#9;y&#10;z&#13;">a)"
                                "\n"
                                "b</Say>"));
}

TEST(TwimlResponseTest, DropsControlCharactersInTextAndAttributes) {
  TwimlResponse response;
  response.say(std::string("he") + '\0' + "llo\x07", std::string("vo\x1bice"));
  EXPECT_EQ(response.str(), doc(R"(<Say voice="voice">hello</Say>)"));
}

TEST(TwimlResponseTest, PauseDialHangup) {
  TwimlResponse response;
  response.pause(2).dial("+14155550100").hangup();
  EXPECT_EQ(response.str(), doc(R"(<Pause length="2"/><Dial>+14155550100</Dial><Hangup/>)"));
}

TEST(TwimlResponseTest, RedirectDefaultsToPost) {
  TwimlResponse response;
  response.redirect("/poll");
  response.redirect("/poll2", "");
  EXPECT_EQ(response.str(),
            doc(R"(<Redirect method="POST">/poll</Redirect><Redirect>/poll2</Redirect>)"));
}

TEST(TwimlResponseTest, RecordDefaults) {
  TwimlResponse response;
  response.record(RecordOptions{});
  EXPECT_EQ(response.str(), doc(R"(<Record method="POST" timeout="3" maxLength="30" )"
                                R"(playBeep="true" trim="trim-silence"/>)"));
}

TEST(TwimlResponseTest, RecordAllAttributesInOrder) {
  RecordOptions options;
  options.action = "/twilio/recording?turn=2&x=y";
  options.method = "POST";
  options.timeout_s = 2;
  options.max_length_s = 60;
  options.play_beep = false;
  options.trim = "do-not-trim";
  options.finish_on_key = "#";
  options.recording_status_callback = "https://example.com/rsc";
  TwimlResponse response;
  response.record(options).redirect("/twilio/fallback");
  EXPECT_EQ(response.str(),
            doc(R"(<Record action="/twilio/recording?turn=2&amp;x=y" method="POST" timeout="2" )"
                R"(maxLength="60" playBeep="false" trim="do-not-trim" finishOnKey="#" )"
                R"(recordingStatusCallback="https://example.com/rsc"/>)"
                R"(<Redirect method="POST">/twilio/fallback</Redirect>)"));
}

TEST(TwimlResponseTest, StreamWithoutParametersIsSelfClosing) {
  StreamOptions options;
  options.url = "wss://voice.example.com/media";
  TwimlResponse response;
  response.connect_stream(options);
  EXPECT_EQ(response.str(),
            doc(R"(<Connect><Stream url="wss://voice.example.com/media"/></Connect>)"));
}

TEST(TwimlResponseTest, FullStreamingResponse) {
  StreamOptions options;
  options.url = "wss://voice.example.com/twilio/media";
  options.name = "main";
  options.status_callback = "https://voice.example.com/twilio/stream-status";
  options.parameters = {{"token", "abc-_123"}, {"caller", "+1 <415> & co"}};
  TwimlResponse response;
  response.connect_stream(options).say("Goodbye.").hangup();
  const std::string expected =
      doc(R"(<Connect><Stream url="wss://voice.example.com/twilio/media" name="main" )"
          R"(statusCallback="https://voice.example.com/twilio/stream-status">)"
          R"(<Parameter name="token" value="abc-_123"/>)"
          R"(<Parameter name="caller" value="+1 &lt;415&gt; &amp; co"/>)"
          R"(</Stream></Connect><Say>Goodbye.</Say><Hangup/>)");
  EXPECT_EQ(response.str(), expected);
  EXPECT_EQ(response.size_bytes(), expected.size());
  EXPECT_FALSE(TwimlResponse::validate(options).has_value());
}

TEST(TwimlResponseTest, StreamWithQueryIsEmittedButReported) {
  StreamOptions options;
  options.url = "wss://voice.example.com/media?token=abc";
  TwimlResponse response;
  response.connect_stream(options);
  EXPECT_EQ(response.str(),
            doc(R"(<Connect><Stream url="wss://voice.example.com/media?token=abc"/></Connect>)"));
  const auto error = TwimlResponse::validate(options);
  ASSERT_TRUE(error.has_value());
  EXPECT_NE(error->find("query"), std::string::npos) << *error;
}

TEST(TwimlStreamValidateTest, AcceptsRelativeUrl) {
  StreamOptions options;
  options.url = "/twilio/media";
  EXPECT_FALSE(TwimlResponse::validate(options).has_value());
}

TEST(TwimlStreamValidateTest, RejectsEmptyQueryToo) {
  StreamOptions options;
  options.url = "wss://voice.example.com/media?";
  EXPECT_TRUE(TwimlResponse::validate(options).has_value());
}

TEST(TwimlStreamValidateTest, RejectsEmptyUrl) {
  EXPECT_TRUE(TwimlResponse::validate(StreamOptions{}).has_value());
}

TEST(TwimlStreamValidateTest, RejectsNonWssScheme) {
  StreamOptions options;
  options.url = "https://voice.example.com/media";
  const auto error = TwimlResponse::validate(options);
  ASSERT_TRUE(error.has_value());
  EXPECT_NE(error->find("wss"), std::string::npos) << *error;
}

TEST(TwimlStreamValidateTest, RejectsUnparseableUrl) {
  StreamOptions options;
  options.url = "wss://voice example.com/media";
  EXPECT_TRUE(TwimlResponse::validate(options).has_value());
}

TEST(TwimlStreamValidateTest, ParameterLengthLimit) {
  StreamOptions options;
  options.url = "wss://voice.example.com/media";
  options.parameters = {{"token", std::string(499 - 5, 'x')}};  // 499 in total: accepted
  EXPECT_FALSE(TwimlResponse::validate(options).has_value());
  options.parameters = {{"token", std::string(500 - 5, 'x')}};  // 500: refused
  const auto error = TwimlResponse::validate(options);
  ASSERT_TRUE(error.has_value());
  EXPECT_NE(error->find("500"), std::string::npos) << *error;
  // Still emitted as given.
  TwimlResponse response;
  response.connect_stream(options);
  EXPECT_NE(response.str().find(std::string(495, 'x')), std::string::npos);
}

TEST(TwimlStreamValidateTest, RejectsEmptyAndRepeatedParameterNames) {
  StreamOptions options;
  options.url = "wss://voice.example.com/media";
  options.parameters = {{"", "x"}};
  EXPECT_TRUE(TwimlResponse::validate(options).has_value());
  options.parameters = {{"token", "a"}, {"token", "b"}};
  EXPECT_TRUE(TwimlResponse::validate(options).has_value());
}

}  // namespace
}  // namespace voxgate::twilio
