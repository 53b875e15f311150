// Tests for the Media Streams messages: every inbound shape of twilio-protocol.md §1.2 verbatim,
// the error for each required field and wrong type, malformed JSON, numbers at and beyond the
// limits, unknown events and fields, and the outbound shapes of §1.3 read back as JSON.
#include "twilio/media_stream.hpp"

#include <gtest/gtest.h>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>
#include <cstdint>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "util/base64.hpp"

namespace voxgate::twilio {
namespace {

namespace json = boost::json;

// §1.2, copied verbatim (including the "…" placeholders and the truncated payload).
constexpr std::string_view kDocConnected =
    R"({"event":"connected","protocol":"Call","version":"1.0.0"})";
constexpr std::string_view kDocStart = R"({"event":"start","sequenceNumber":"1",
 "start":{"accountSid":"AC…","streamSid":"MZ…","callSid":"CA…",
          "tracks":["inbound"],
          "mediaFormat":{"encoding":"audio/x-mulaw","sampleRate":8000,"channels":1},
          "customParameters":{"FirstName":"Jane","LastName":"Doe","RemoteParty":"Bob"}},
 "streamSid":"MZ…"})";
constexpr std::string_view kDocMedia = R"({"event":"media","sequenceNumber":"4",
 "media":{"track":"inbound","chunk":"2","timestamp":"5","payload":"no+JhoaJjpzS..."},
 "streamSid":"MZ…"})";
constexpr std::string_view kDocDtmf = R"({"event":"dtmf","streamSid":"MZ…","sequenceNumber":"5",
 "dtmf":{"track":"inbound_track","digit":"1"}})";
constexpr std::string_view kDocMark =
    R"({"event":"mark","sequenceNumber":"4","streamSid":"MZ…","mark":{"name":"my label"}})";
constexpr std::string_view kDocStop = R"({"event":"stop","sequenceNumber":"5",
 "stop":{"accountSid":"AC…","callSid":"CA…"},"streamSid":"MZ…"})";

constexpr char kSid[] = "MZ0123456789abcdef0123456789abcdef";

ParseResult parse(std::string_view text) {
  InboundParser parser;
  return parser.parse(text);
}

// Parses `text` and expects a message of type T.
template <typename T>
T parse_as(std::string_view text) {
  const ParseResult r = parse(text);
  EXPECT_TRUE(r.ok()) << r.error << "\n" << text;
  EXPECT_TRUE(r.error.empty());
  if (!r.ok() || !std::holds_alternative<T>(*r.message)) {
    ADD_FAILURE() << "wrong or no message for " << text;
    return T{};
  }
  return std::get<T>(*r.message);
}

// Parses `text` and expects exactly `error`.
void expect_error(std::string_view text, std::string_view error) {
  const ParseResult r = parse(text);
  EXPECT_FALSE(r.ok()) << text;
  EXPECT_EQ(r.error, error) << text;
}

TEST(MediaStreamParse, DocumentedConnected) {
  const auto m = parse_as<ConnectedMessage>(kDocConnected);
  EXPECT_EQ(m.protocol, "Call");
  EXPECT_EQ(m.version, "1.0.0");
  EXPECT_EQ(parse(kDocConnected).unknown_fields, 0u);
}

TEST(MediaStreamParse, DocumentedStart) {
  const auto m = parse_as<StartMessage>(kDocStart);
  EXPECT_EQ(m.sequence_number, 1u);
  EXPECT_EQ(m.account_sid, "AC…");
  EXPECT_EQ(m.stream_sid, "MZ…");
  EXPECT_EQ(m.call_sid, "CA…");
  EXPECT_EQ(m.tracks, std::vector<std::string>{"inbound"});
  EXPECT_EQ(m.media_format.encoding, "audio/x-mulaw");
  EXPECT_EQ(m.media_format.sample_rate_hz, 8000);
  EXPECT_EQ(m.media_format.channels, 1);
  const std::map<std::string, std::string> params = {
      {"FirstName", "Jane"}, {"LastName", "Doe"}, {"RemoteParty", "Bob"}};
  EXPECT_EQ(m.custom_parameters, params);
  EXPECT_EQ(parse(kDocStart).unknown_fields, 0u);
}

TEST(MediaStreamParse, DocumentedMedia) {
  const auto m = parse_as<MediaMessage>(kDocMedia);
  EXPECT_EQ(m.sequence_number, 4u);
  EXPECT_EQ(m.stream_sid, "MZ…");
  EXPECT_EQ(m.track, "inbound");
  EXPECT_EQ(m.chunk, 2u);
  EXPECT_EQ(m.timestamp_ms, 5u);
  EXPECT_EQ(m.payload, "no+JhoaJjpzS...");  // passed on as received, not decoded here
  EXPECT_EQ(parse(kDocMedia).unknown_fields, 0u);
}

TEST(MediaStreamParse, DocumentedDtmf) {
  const auto m = parse_as<DtmfMessage>(kDocDtmf);
  EXPECT_EQ(m.sequence_number, 5u);
  EXPECT_EQ(m.stream_sid, "MZ…");
  EXPECT_EQ(m.track, "inbound_track");
  EXPECT_EQ(m.digit, "1");
}

TEST(MediaStreamParse, DocumentedMark) {
  const auto m = parse_as<MarkMessage>(kDocMark);
  EXPECT_EQ(m.sequence_number, 4u);
  EXPECT_EQ(m.stream_sid, "MZ…");
  EXPECT_EQ(m.name, "my label");
}

TEST(MediaStreamParse, DocumentedStop) {
  const auto m = parse_as<StopMessage>(kDocStop);
  EXPECT_EQ(m.sequence_number, 5u);
  EXPECT_EQ(m.stream_sid, "MZ…");
  EXPECT_EQ(m.account_sid, "AC…");
  EXPECT_EQ(m.call_sid, "CA…");
}

TEST(MediaStreamParse, RealisticMediaFrame) {
  // §1.4: a captured 20 ms frame of silence, 216 base64 characters.
  const std::vector<std::uint8_t> silence(160, 0xFF);
  const std::string payload = util::base64_encode(silence);
  ASSERT_EQ(payload.size(), 216u);
  const std::string text = std::string(R"({"event":"media","sequenceNumber":"123","media":)") +
                           R"({"track":"inbound","chunk":"122","timestamp":"2420","payload":")" +
                           payload + R"("},"streamSid":")" + kSid + R"("})";
  const auto m = parse_as<MediaMessage>(text);
  EXPECT_EQ(m.payload, payload);
  EXPECT_EQ(m.chunk, 122u);
  EXPECT_EQ(m.timestamp_ms, 2420u);
  EXPECT_EQ(m.stream_sid, kSid);
}

TEST(MediaStreamParse, OptionalFieldsMayBeAbsent) {
  const auto media = parse_as<MediaMessage>(R"({"event":"media","media":{"payload":""}})");
  EXPECT_FALSE(media.sequence_number.has_value());
  EXPECT_EQ(media.chunk, 0u);
  EXPECT_EQ(media.timestamp_ms, 0u);
  EXPECT_TRUE(media.stream_sid.empty());
  EXPECT_TRUE(media.payload.empty());

  const auto start =
      parse_as<StartMessage>(R"({"event":"start","start":{"streamSid":"MZ1","callSid":"CA1"}})");
  EXPECT_EQ(start.stream_sid, "MZ1");
  EXPECT_EQ(start.call_sid, "CA1");
  EXPECT_TRUE(start.tracks.empty());
  EXPECT_TRUE(start.custom_parameters.empty());
  EXPECT_EQ(start.media_format.sample_rate_hz, 0);

  const auto stop = parse_as<StopMessage>(R"({"event":"stop","streamSid":"MZ1"})");
  EXPECT_EQ(stop.stream_sid, "MZ1");
  EXPECT_TRUE(stop.call_sid.empty());

  parse_as<ConnectedMessage>(R"({"event":"connected"})");
}

TEST(MediaStreamParse, NumbersAsIntegersOrDigitStrings) {
  const auto a = parse_as<MediaMessage>(
      R"({"event":"media","sequenceNumber":7,"media":{"chunk":6,"timestamp":100,"payload":"x"}})");
  EXPECT_EQ(a.sequence_number, 7u);
  EXPECT_EQ(a.chunk, 6u);
  EXPECT_EQ(a.timestamp_ms, 100u);
  const auto b = parse_as<MediaMessage>(
      R"({"event":"media","sequenceNumber":"007","media":{"chunk":"0","payload":"x"}})");
  EXPECT_EQ(b.sequence_number, 7u);
  EXPECT_EQ(b.chunk, 0u);
  const auto c =
      parse_as<StartMessage>(R"({"event":"start","start":{"streamSid":"MZ","callSid":"CA",)"
                             R"("mediaFormat":{"sampleRate":"16000","channels":"2"}}})");
  EXPECT_EQ(c.media_format.sample_rate_hz, 16000);
  EXPECT_EQ(c.media_format.channels, 2);
}

TEST(MediaStreamParse, HugeNumbers) {
  const auto max_string = parse_as<MediaMessage>(
      R"({"event":"media","sequenceNumber":"18446744073709551615","media":{"payload":"x"}})");
  EXPECT_EQ(max_string.sequence_number, UINT64_MAX);
  const auto max_number = parse_as<MediaMessage>(
      R"({"event":"media","sequenceNumber":18446744073709551615,"media":{"payload":"x"}})");
  EXPECT_EQ(max_number.sequence_number, UINT64_MAX);

  expect_error(
      R"({"event":"media","sequenceNumber":"18446744073709551616","media":{"payload":""}})",
      "sequenceNumber: out of range");
  expect_error(
      R"({"event":"media","media":{"payload":"","timestamp":")" + std::string(400, '9') + R"("}})",
      "media.timestamp: out of range");
  // Beyond UINT64_MAX a JSON number is read as a double: not an integer we accept.
  expect_error(R"({"event":"media","sequenceNumber":18446744073709551616,"media":{"payload":""}})",
               "sequenceNumber: expected a string of digits or a non-negative integer");
  expect_error(R"({"event":"start","start":{"streamSid":"MZ","callSid":"CA",)"
               R"("mediaFormat":{"sampleRate":2147483648}}})",
               "start.mediaFormat.sampleRate: out of range");
  const auto int_max =
      parse_as<StartMessage>(R"({"event":"start","start":{"streamSid":"MZ","callSid":"CA",)"
                             R"("mediaFormat":{"channels":2147483647}}})");
  EXPECT_EQ(int_max.media_format.channels, 2147483647);
}

TEST(MediaStreamParse, BadNumbers) {
  const std::string expected =
      "sequenceNumber: expected a string of digits or a non-negative integer";
  for (const std::string bad :
       {R"("-1")", R"(-1)", R"("")", R"("1.5")", R"(1.5)", R"(1e3)", R"("+1")", R"(" 1")",
        R"("1 ")", R"("0x10")", R"("١")", R"(true)", R"(null)", R"([])", R"({})"}) {
    expect_error(R"({"event":"mark","sequenceNumber":)" + bad + R"(,"mark":{"name":"n"}})",
                 expected);
  }
  expect_error(R"({"event":"media","media":{"payload":"","chunk":"-3"}})",
               "media.chunk: expected a string of digits or a non-negative integer");
  expect_error(R"({"event":"start","start":{"streamSid":"MZ","callSid":"CA",)"
               R"("mediaFormat":{"channels":-1}}})",
               "start.mediaFormat.channels: expected a string of digits or a non-negative integer");
}

TEST(MediaStreamParse, RequiredFieldsMissing) {
  expect_error(R"({"protocol":"Call"})", "event: missing");
  expect_error(R"({"event":"start","start":{"callSid":"CA"}})", "start.streamSid: missing");
  expect_error(R"({"event":"start","start":{"streamSid":"MZ"}})", "start.callSid: missing");
  expect_error(R"({"event":"start","streamSid":"MZ"})", "start: missing");
  expect_error(R"({"event":"media","media":{"track":"inbound"}})", "media.payload: missing");
  expect_error(R"({"event":"media","streamSid":"MZ"})", "media: missing");
  expect_error(R"({"event":"dtmf","dtmf":{"track":"inbound_track"}})", "dtmf.digit: missing");
  expect_error(R"({"event":"dtmf"})", "dtmf: missing");
  expect_error(R"({"event":"mark","mark":{}})", "mark.name: missing");
  // The shape reviewers flagged as invalid (§1.3).
  expect_error(R"({"event":"mark","streamSid":"MZ"})", "mark: missing");
}

TEST(MediaStreamParse, WrongTypes) {
  expect_error(R"({"event":1})", "event: expected a string");
  expect_error(R"({"event":null})", "event: expected a string");
  expect_error(R"({"event":"connected","protocol":1})", "protocol: expected a string");
  expect_error(R"({"event":"connected","version":[]})", "version: expected a string");
  expect_error(R"({"event":"media","streamSid":5,"media":{"payload":""}})",
               "streamSid: expected a string");
  expect_error(R"({"event":"media","media":"x"})", "media: expected an object");
  expect_error(R"({"event":"media","media":{"payload":null}})", "media.payload: expected a string");
  expect_error(R"({"event":"media","media":{"payload":"","track":1}})",
               "media.track: expected a string");
  expect_error(R"({"event":"start","start":[]})", "start: expected an object");
  expect_error(R"({"event":"start","start":{"streamSid":1,"callSid":"CA"}})",
               "start.streamSid: expected a string");
  expect_error(R"({"event":"start","start":{"streamSid":"MZ","callSid":false}})",
               "start.callSid: expected a string");
  expect_error(R"({"event":"start","start":{"streamSid":"MZ","callSid":"CA","accountSid":{}}})",
               "start.accountSid: expected a string");
  expect_error(R"({"event":"start","start":{"streamSid":"MZ","callSid":"CA","tracks":"inbound"}})",
               "start.tracks: expected an array");
  expect_error(R"({"event":"start","start":{"streamSid":"MZ","callSid":"CA","tracks":[1]}})",
               "start.tracks: expected an array of strings");
  expect_error(R"({"event":"start","start":{"streamSid":"MZ","callSid":"CA","mediaFormat":1}})",
               "start.mediaFormat: expected an object");
  expect_error(R"({"event":"start","start":{"streamSid":"MZ","callSid":"CA",)"
               R"("mediaFormat":{"encoding":7}}})",
               "start.mediaFormat.encoding: expected a string");
  expect_error(R"({"event":"start","start":{"streamSid":"MZ","callSid":"CA",)"
               R"("mediaFormat":{"sampleRate":8000.5}}})",
               "start.mediaFormat.sampleRate: expected a string of digits or a non-negative "
               "integer");
  expect_error(R"({"event":"start","start":{"streamSid":"MZ","callSid":"CA",)"
               R"("customParameters":[]}})",
               "start.customParameters: expected an object");
  expect_error(R"({"event":"start","start":{"streamSid":"MZ","callSid":"CA",)"
               R"("customParameters":{"token":1}}})",
               "start.customParameters: values must be strings");
  expect_error(R"({"event":"dtmf","dtmf":{"digit":1}})", "dtmf.digit: expected a string");
  expect_error(R"({"event":"dtmf","dtmf":{"digit":"1","track":[]}})",
               "dtmf.track: expected a string");
  expect_error(R"({"event":"mark","mark":{"name":1}})", "mark.name: expected a string");
  expect_error(R"({"event":"mark","mark":[]})", "mark: expected an object");
  expect_error(R"({"event":"stop","stop":"x"})", "stop: expected an object");
  expect_error(R"({"event":"stop","stop":{"callSid":1}})", "stop.callSid: expected a string");
  expect_error(R"({"event":"stop","stop":{"accountSid":1}})", "stop.accountSid: expected a string");
}

TEST(MediaStreamParse, DtmfDigits) {
  for (const char* digit : {"0", "1", "5", "9", "*", "#", "A", "B", "C", "D"}) {
    const auto m = parse_as<DtmfMessage>(std::string(R"({"event":"dtmf","dtmf":{"digit":")") +
                                         digit + R"("}})");
    EXPECT_EQ(m.digit, digit);
  }
  for (const char* bad : {"", "E", "a", "d", "12", " ", "1 ", "\\u0000"}) {
    expect_error(std::string(R"({"event":"dtmf","dtmf":{"digit":")") + bad + R"("}})",
                 "dtmf.digit: expected one of 0-9 * # A-D");
  }
}

TEST(MediaStreamParse, MalformedJson) {
  for (const std::string_view bad :
       {"", " ", "{", "}", R"({"event":"media")", R"({"event":"media",})", R"({event:"media"})",
        R"({"event":'media'})", R"({"event":"media"} {})", R"({"event":"media"}x)",
        R"({"event":"media","media":{"payload":"\x"}})",
        "{\"event\":\"mark\",\"mark\":{\"name\":\"\xff\"}}",
        "\xef\xbb\xbf{\"event\":\"connected\"}", "nul", "[1,2"}) {
    const ParseResult r = parse(bad);
    EXPECT_FALSE(r.ok()) << bad;
    EXPECT_EQ(r.error.rfind("malformed JSON: ", 0), 0u) << bad << " -> " << r.error;
  }
  // Deep nesting stays an error, not a stack overflow.
  const ParseResult deep = parse(std::string(100000, '['));
  EXPECT_FALSE(deep.ok());
}

TEST(MediaStreamParse, TopLevelNotAnObject) {
  for (const std::string_view bad :
       {"[]", "1", R"("media")", "null", "true", R"([{"event":"media"}])"}) {
    expect_error(bad, "top level: expected a JSON object");
  }
}

TEST(MediaStreamParse, UnknownEvents) {
  const ParseResult r = parse(R"({"event":"transcription","streamSid":"MZ","x":{"y":1}})");
  ASSERT_TRUE(r.ok()) << r.error;
  ASSERT_TRUE(std::holds_alternative<UnknownMessage>(*r.message));
  EXPECT_EQ(std::get<UnknownMessage>(*r.message).event, "transcription");
  // Outbound-only events are unknown inbound.
  const ParseResult clear = parse(R"({"event":"clear","streamSid":"MZ"})");
  ASSERT_TRUE(clear.ok());
  EXPECT_EQ(std::get<UnknownMessage>(*clear.message).event, "clear");
  // Event names are case-sensitive.
  const ParseResult upper = parse(R"({"event":"Media","media":{}})");
  ASSERT_TRUE(upper.ok());
  EXPECT_TRUE(std::holds_alternative<UnknownMessage>(*upper.message));
}

TEST(MediaStreamParse, UnknownFieldsAreCountedAndIgnored) {
  const ParseResult media =
      parse(R"({"event":"media","extra":1,"sequenceNumber":"4","more":{"a":[1,2]},)"
            R"("media":{"track":"inbound","payload":"QQ==","new":"x"},"streamSid":"MZ"})");
  ASSERT_TRUE(media.ok()) << media.error;
  EXPECT_EQ(media.unknown_fields, 3u);
  EXPECT_EQ(std::get<MediaMessage>(*media.message).payload, "QQ==");

  const ParseResult start =
      parse(R"({"event":"start","start":{"streamSid":"MZ","callSid":"CA","x":1,)"
            R"("mediaFormat":{"encoding":"audio/x-mulaw","bitDepth":8}}})");
  ASSERT_TRUE(start.ok()) << start.error;
  EXPECT_EQ(start.unknown_fields, 2u);

  // connected carries no streamSid (§1.1): one there is unknown.
  const ParseResult connected =
      parse(R"({"event":"connected","protocol":"Call","version":"1.0.0","streamSid":"MZ"})");
  ASSERT_TRUE(connected.ok());
  EXPECT_EQ(connected.unknown_fields, 1u);

  const ParseResult stop = parse(R"({"event":"stop","stop":{"callSid":"CA","reason":"x"},"y":0})");
  ASSERT_TRUE(stop.ok());
  EXPECT_EQ(stop.unknown_fields, 2u);

  // customParameters are the caller's own names, not unknown fields.
  const ParseResult params = parse(R"({"event":"start","start":{"streamSid":"MZ","callSid":"CA",)"
                                   R"("customParameters":{"a":"1","b":"2"}}})");
  ASSERT_TRUE(params.ok());
  EXPECT_EQ(params.unknown_fields, 0u);
}

TEST(MediaStreamParse, DuplicateKeysKeepTheLastValue) {
  const auto m = parse_as<MarkMessage>(R"({"event":"mark","mark":{"name":"a","name":"b"}})");
  EXPECT_EQ(m.name, "b");
}

TEST(MediaStreamParse, StringEscapesAreDecoded) {
  const auto m = parse_as<MarkMessage>(
      R"({"event":"mark","mark":{"name":"say \"hi\" \\ \u00e9\u263a \ud83d\ude00"}})");
  EXPECT_EQ(m.name, "say \"hi\" \\ \xc3\xa9\xe2\x98\xba \xf0\x9f\x98\x80");
}

TEST(MediaStreamParse, ParserIsReusableAfterErrors) {
  InboundParser parser;
  for (int i = 0; i < 1000; ++i) {
    EXPECT_FALSE(parser.parse(R"({"event":"media","media":{"payload":[1,2,{"a":)").ok());
    EXPECT_FALSE(parser.parse("[1,2,3]").ok());
    const ParseResult r = parser.parse(kDocMedia);
    ASSERT_TRUE(r.ok()) << r.error;
    EXPECT_EQ(std::get<MediaMessage>(*r.message).chunk, 2u);
  }
  // Bigger than the parser's arena: spills to the heap and still works.
  const std::string big_payload(100000, 'A');
  const ParseResult big =
      parser.parse(R"({"event":"media","media":{"payload":")" + big_payload + R"("}})");
  ASSERT_TRUE(big.ok()) << big.error;
  EXPECT_EQ(std::get<MediaMessage>(*big.message).payload, big_payload);
  // A moved parser keeps working.
  InboundParser moved = std::move(parser);
  EXPECT_TRUE(moved.parse(kDocStop).ok());
}

// --- Outbound (§1.3) ---

// The keys of a JSON object; fails the test if `v` is not one.
std::set<std::string> keys_of(const json::value& v) {
  std::set<std::string> keys;
  if (!v.is_object()) {
    ADD_FAILURE() << "not an object: " << json::serialize(v);
    return keys;
  }
  for (const auto& kv : v.as_object()) keys.emplace(kv.key());
  return keys;
}

TEST(MediaStreamOutbound, MediaShape) {
  const std::vector<std::uint8_t> mulaw = {0xFF, 0x7F, 0x00, 0x80, 0x12};
  const std::string text = media_message(kSid, mulaw);
  const json::value v = json::parse(text);
  EXPECT_EQ(keys_of(v), (std::set<std::string>{"event", "streamSid", "media"}));
  EXPECT_EQ(v.at("event").as_string(), "media");
  EXPECT_EQ(v.at("streamSid").as_string(), kSid);
  EXPECT_EQ(keys_of(v.at("media")), std::set<std::string>{"payload"});
  std::vector<std::uint8_t> decoded;
  ASSERT_TRUE(util::base64_decode(v.at("media").at("payload").as_string(), decoded));
  EXPECT_EQ(decoded, mulaw);
  EXPECT_EQ(text, std::string(R"({"event":"media","streamSid":")") + kSid +
                      R"(","media":{"payload":"/38AgBI="}})");
}

TEST(MediaStreamOutbound, MediaFrameSize) {
  const std::vector<std::uint8_t> frame(160, 0xFF);
  const json::value v = json::parse(media_message(kSid, frame));
  EXPECT_EQ(v.at("media").at("payload").as_string().size(), 216u);  // §1.4
  EXPECT_EQ(json::parse(media_message(kSid, {})).at("media").at("payload").as_string(), "");
}

TEST(MediaStreamOutbound, MarkShape) {
  const std::string text = mark_message(kSid, "utt-1");
  EXPECT_EQ(text, std::string(R"({"event":"mark","streamSid":")") + kSid +
                      R"(","mark":{"name":"utt-1"}})");
  const json::value v = json::parse(text);
  EXPECT_EQ(keys_of(v), (std::set<std::string>{"event", "streamSid", "mark"}));
  EXPECT_EQ(keys_of(v.at("mark")), std::set<std::string>{"name"});
}

TEST(MediaStreamOutbound, ClearShape) {
  const std::string text = clear_message(kSid);
  EXPECT_EQ(text, std::string(R"({"event":"clear","streamSid":")") + kSid + R"("})");
  EXPECT_EQ(keys_of(json::parse(text)), (std::set<std::string>{"event", "streamSid"}));
}

TEST(MediaStreamOutbound, StringsAreEscaped) {
  const std::vector<std::string> names = {R"(say "hi")",
                                          R"(back\slash)",
                                          "tab\there",
                                          "new\nline",
                                          std::string("nul\0byte", 8),
                                          "\x01\x1f control",
                                          "caf\xc3\xa9 \xe2\x98\xba \xf0\x9f\x98\x80",
                                          "</script>",
                                          ""};
  InboundParser parser;
  for (const std::string& name : names) {
    const std::string text = mark_message(R"(MZ"\)", name);
    const json::value v = json::parse(text);
    EXPECT_EQ(v.at("mark").at("name").as_string(), name);
    EXPECT_EQ(v.at("streamSid").as_string(), R"(MZ"\)");
    // What we send as a mark comes back as the echo: our parser reads it back too.
    const ParseResult echo = parser.parse(text);
    ASSERT_TRUE(echo.ok()) << echo.error;
    EXPECT_EQ(std::get<MarkMessage>(*echo.message).name, name);
  }
  EXPECT_EQ(json::parse(clear_message("a\"b")).at("streamSid").as_string(), "a\"b");
  EXPECT_EQ(json::parse(media_message("a\"b", {})).at("streamSid").as_string(), "a\"b");
}

}  // namespace
}  // namespace voxgate::twilio
