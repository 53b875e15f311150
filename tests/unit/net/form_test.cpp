// Tests for application/x-www-form-urlencoded decoding: escapes, field splitting, errors,
// limits, and a body shaped like Twilio's voice webhook.
#include "net/form.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>
#include <string_view>

namespace voxgate::net {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Pair;

// Decodes a body that must be valid.
FormParams parsed(std::string_view body) {
  FormParseResult result = parse_form(body);
  EXPECT_TRUE(result.ok()) << result.message;
  EXPECT_THAT(result.message, IsEmpty());
  return result.params;
}

TEST(FormTest, PlusDecodesToSpace) {
  EXPECT_THAT(parsed("Speech=hello+there+world"), ElementsAre(Pair("Speech", "hello there world")));
  EXPECT_THAT(parsed("a+b=c"), ElementsAre(Pair("a b", "c")));
}

TEST(FormTest, PercentEscapesDecodeInEitherCase) {
  EXPECT_THAT(parsed("a=%2f%2F%41%7e%7E"), ElementsAre(Pair("a", "//A~~")));
  EXPECT_THAT(parsed("%61%62=x%20y"), ElementsAre(Pair("ab", "x y")));
}

TEST(FormTest, EscapedPlusStaysAPlus) {
  EXPECT_THAT(parsed("From=%2B14155551234&x=1%2b1+2"),
              ElementsAre(Pair("From", "+14155551234"), Pair("x", "1+1 2")));
}

TEST(FormTest, EscapedSeparatorsAreData) {
  EXPECT_THAT(parsed("q=a%26b%3Dc&r=x=y"), ElementsAre(Pair("q", "a&b=c"), Pair("r", "x=y")));
}

TEST(FormTest, RepeatedNamesKeptInOrder) {
  EXPECT_THAT(parsed("Digits=1&Other=x&Digits=2&Digits=3"),
              ElementsAre(Pair("Digits", "1"), Pair("Other", "x"), Pair("Digits", "2"),
                          Pair("Digits", "3")));
}

TEST(FormTest, BytesPassThrough) {
  // UTF-8, escaped or raw, and an escaped NUL.
  EXPECT_THAT(parsed("city=S%C3%A3o+Paulo&raw=caf\xC3\xA9"),
              ElementsAre(Pair("city", "S\xC3\xA3o Paulo"), Pair("raw", "caf\xC3\xA9")));
  const FormParams nul = parsed("a=x%00y");
  ASSERT_EQ(nul.size(), 1u);
  EXPECT_EQ(nul[0].second, std::string("x\0y", 3));
}

TEST(FormTest, EmptyBodyHasNoFields) { EXPECT_THAT(parsed(""), IsEmpty()); }

TEST(FormTest, FieldShapes) {
  EXPECT_THAT(parsed("a="), ElementsAre(Pair("a", "")));
  EXPECT_THAT(parsed("a"), ElementsAre(Pair("a", "")));
  EXPECT_THAT(parsed("=v"), ElementsAre(Pair("", "v")));
  EXPECT_THAT(parsed("="), ElementsAre(Pair("", "")));
}

TEST(FormTest, EmptyFieldsAreSkipped) {
  EXPECT_THAT(parsed("a=1&&b=2"), ElementsAre(Pair("a", "1"), Pair("b", "2")));
  EXPECT_THAT(parsed("&a=1&"), ElementsAre(Pair("a", "1")));
  EXPECT_THAT(parsed("&&&"), IsEmpty());
}

TEST(FormTest, InvalidEscapesAreErrors) {
  for (std::string_view body :
       {"a=%", "a=%4", "a=%G1", "a=%4G", "a=1%", "%=1", "%zz", "ok=1&b=%x"}) {
    SCOPED_TRACE(body);
    const FormParseResult result = parse_form(body);
    EXPECT_FALSE(result.ok());
    EXPECT_EQ(result.error, FormError::kInvalidEscape);
    EXPECT_THAT(result.params, IsEmpty());
    EXPECT_THAT(result.message, HasSubstr("invalid percent escape"));
  }
}

TEST(FormTest, ErrorMessageLocatesTheField) {
  const FormParseResult result = parse_form("a=1&&b=%G1");
  EXPECT_THAT(result.message, HasSubstr("field 2 (byte 5)"));
  EXPECT_THAT(result.message, HasSubstr("value"));
  EXPECT_THAT(parse_form("%G1=x").message, HasSubstr("name"));
}

TEST(FormTest, TooManyFields) {
  const FormLimits limits{.max_fields = 3, .max_field_bytes = 100};
  EXPECT_TRUE(parse_form("a=1&b=2&&c=3&", limits).ok());  // empty fields do not count
  const FormParseResult result = parse_form("a=1&b=2&c=3&d=4", limits);
  EXPECT_EQ(result.error, FormError::kTooManyFields);
  EXPECT_THAT(result.params, IsEmpty());
  EXPECT_THAT(result.message, HasSubstr("more than 3 fields"));
}

TEST(FormTest, DefaultLimitAllows256Fields) {
  std::string body;
  for (int i = 0; i < 256; ++i) body += "f=" + std::to_string(i) + "&";
  EXPECT_EQ(parse_form(body).params.size(), 256u);
  body += "one=more";
  EXPECT_EQ(parse_form(body).error, FormError::kTooManyFields);
}

TEST(FormTest, FieldTooLong) {
  const FormLimits limits{.max_fields = 10, .max_field_bytes = 10};
  // The limit is on the encoded `name=value`, not the decoded text: 10 bytes pass, 11 do not.
  EXPECT_TRUE(parse_form("abc=%41%42", limits).ok());
  const FormParseResult result = parse_form("a=1&abc=%41%42x", limits);
  EXPECT_EQ(result.error, FormError::kFieldTooLong);
  EXPECT_THAT(result.params, IsEmpty());
  EXPECT_THAT(result.message, HasSubstr("field 2 (byte 4) is 11 bytes"));
}

TEST(FormTest, DefaultLimitAllows64KiBFields) {
  EXPECT_TRUE(parse_form("v=" + std::string(64 * 1024 - 2, 'x')).ok());
  EXPECT_EQ(parse_form("v=" + std::string(64 * 1024 - 1, 'x')).error, FormError::kFieldTooLong);
}

TEST(FormTest, ErrorsHaveDescriptions) {
  EXPECT_EQ(to_string(FormError::kInvalidEscape), "invalid percent escape");
  EXPECT_EQ(to_string(FormError::kTooManyFields), "too many fields");
  EXPECT_EQ(to_string(FormError::kFieldTooLong), "field too long");
}

TEST(FormTest, TwilioVoiceWebhookBody) {
  const std::string_view body =
      "AccountSid=AC0123456789abcdef0123456789abcdef&ApiVersion=2010-04-01"
      "&CallSid=CA9876543210fedcba9876543210fedcba&CallStatus=ringing&Called=%2B14155550100"
      "&CalledCity=SAN+FRANCISCO&CalledCountry=US&CalledState=CA&Caller=%2B14155551234"
      "&CallerName=Jane+O%27Brien&Direction=inbound&From=%2B14155551234&FromCity=OAKLAND"
      "&FromCountry=US&FromState=CA&FromZip=94612&To=%2B14155550100&ToCity=SAN+FRANCISCO"
      "&ToCountry=US&ToState=CA&ToZip=94105";
  const FormParseResult result = parse_form(body);
  ASSERT_TRUE(result.ok()) << result.message;
  EXPECT_EQ(result.params.size(), 21u);
  EXPECT_THAT(result.params.front(), Pair("AccountSid", "AC0123456789abcdef0123456789abcdef"));

  const std::string* call_sid = find_first(result.params, "CallSid");
  ASSERT_NE(call_sid, nullptr);
  EXPECT_EQ(*call_sid, "CA9876543210fedcba9876543210fedcba");
  ASSERT_NE(find_first(result.params, "From"), nullptr);
  EXPECT_EQ(*find_first(result.params, "From"), "+14155551234");
  EXPECT_EQ(*find_first(result.params, "To"), "+14155550100");
  EXPECT_EQ(*find_first(result.params, "CallStatus"), "ringing");
  EXPECT_EQ(*find_first(result.params, "CalledCity"), "SAN FRANCISCO");
  EXPECT_EQ(*find_first(result.params, "CallerName"), "Jane O'Brien");
}

TEST(FormTest, FindFirstReturnsTheFirstOrNull) {
  const FormParams params = parsed("Digits=1&Digits=2&Empty=");
  ASSERT_NE(find_first(params, "Digits"), nullptr);
  EXPECT_EQ(*find_first(params, "Digits"), "1");
  ASSERT_NE(find_first(params, "Empty"), nullptr);
  EXPECT_EQ(*find_first(params, "Empty"), "");
  EXPECT_EQ(find_first(params, "digits"), nullptr);  // names are case-sensitive
  EXPECT_EQ(find_first(params, "Missing"), nullptr);
  EXPECT_EQ(find_first(FormParams{}, "Digits"), nullptr);
}

}  // namespace
}  // namespace voxgate::net
