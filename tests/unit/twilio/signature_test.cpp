// Tests for X-Twilio-Signature computation and validation, against the vectors of
// twilio-protocol.md §4.2 (taken from twilio-python, twilio-node and Twilio's docs).
#include "twilio/signature.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cctype>
#include <string>
#include <thread>
#include <vector>

namespace voxgate::twilio {
namespace {

constexpr char kToken[] = "12345";
constexpr char kUrl[] = "https://mycompany.com/myapp.php?foo=1&bar=2";
constexpr char kUrlPort443[] = "https://mycompany.com:443/myapp.php?foo=1&bar=2";
constexpr char kUrlPort1234[] = "https://mycompany.com:1234/myapp.php?foo=1&bar=2";
constexpr char kHttpUrl[] = "http://mycompany.com/myapp.php?foo=1&bar=2";
constexpr char kHttpUrlPort80[] = "http://mycompany.com:80/myapp.php?foo=1&bar=2";
constexpr char kHttpUrlPort1234[] = "http://mycompany.com:1234/myapp.php?foo=1&bar=2";
constexpr char kUrlUserPass[] = "https://user:pass@mycompany.com/myapp.php?foo=1&bar=2";
constexpr char kUrlUserPass443[] = "https://user:pass@mycompany.com:443/myapp.php?foo=1&bar=2";
constexpr char kUrlUser[] = "https://user@mycompany.com/myapp.php?foo=1&bar=2";

// Table signatures #1-#10.
constexpr char kSig1[] = "RSOYDt4T1cUTdK1PDd93/VVr8B8=";
constexpr char kSig2[] = "kvajT1Ptam85bY51eRf/AJRuM3w=";
constexpr char kSig3[] = "0ZXoZLH/DfblKGATFgpif+LLRf4=";
constexpr char kSig4[] = "Zmvh+3yNM1Phv2jhDCwEM3q5ebU=";
constexpr char kSig5[] = "CukzLTc1tT5dXEDIHm/tKBanW10=";
constexpr char kSig6[] = "ZQFR1PTIZXF2MXB8ZnKCvnnA+rI=";
constexpr char kSig7[] = "2YRLlVAflCqxaNicjMpJcSTgzSs=";
constexpr char kSig8[] = "dsq4Ehbj6cs+KdTkpF5sSSplOWw=";
constexpr char kSig9[] = "IK+Dwps556ElfBT0I3Rgjkr1wJU=";
constexpr char kSig10[] = "83O6e2vORAoJHUNzJjDWN1jz+BA=";

// JSON body vectors.
constexpr char kJsonBody[] = R"({"property": "value", "boolean": true})";
constexpr char kJsonBodyHash[] = "0a1ff7634d9ab3b95db5c9a2dfe9416e41502b283a80c7cf19632632f96e6620";
constexpr char kEmptyObjectHash[] =
    "44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a";

// The common parameter set P, deliberately not in sorted order.
Params common_params() {
  return {{"CallSid", "CA1234567890ABCDE"},
          {"Digits", "1234"},
          {"From", "+14158675309"},
          {"To", "+18005551212"},
          {"Caller", "+14158675309"}};
}

Params repeated_digits_params() {
  return {{"Sid", "CA123"},
          {"SidAccount", "AC123"},
          {"Digits", "5678"},
          {"Digits", "1234"},
          {"Digits", "1234"}};
}

// ---------------------------------------------------------------------------------------------
// compute_signature: the ten table rows.

TEST(ComputeSignatureTest, Row1PlainHttpsUrl) {
  EXPECT_EQ(compute_signature(kToken, kUrl, common_params()), kSig1);
}

TEST(ComputeSignatureTest, Row2HttpsWithPort443) {
  EXPECT_EQ(compute_signature(kToken, kUrlPort443, common_params()), kSig2);
}

TEST(ComputeSignatureTest, Row3HttpWithPort80) {
  EXPECT_EQ(compute_signature(kToken, kHttpUrlPort80, common_params()), kSig3);
}

TEST(ComputeSignatureTest, Row4HttpWithPort1234) {
  EXPECT_EQ(compute_signature(kToken, kHttpUrlPort1234, common_params()), kSig4);
}

TEST(ComputeSignatureTest, Row5UserAndPassword) {
  EXPECT_EQ(compute_signature(kToken, kUrlUserPass, common_params()), kSig5);
}

TEST(ComputeSignatureTest, Row6UserAndPasswordWithPort443) {
  EXPECT_EQ(compute_signature(kToken, kUrlUserPass443, common_params()), kSig6);
}

TEST(ComputeSignatureTest, Row7UserOnly) {
  EXPECT_EQ(compute_signature(kToken, kUrlUser, common_params()), kSig7);
}

TEST(ComputeSignatureTest, Row8RawApostropheInQuery) {
  const std::string url = std::string(kUrl) + "&Body=It's+amazing";
  EXPECT_EQ(compute_signature(kToken, url, common_params()), kSig8);
}

TEST(ComputeSignatureTest, Row9RepeatedNameIsSortedAndDeduplicated) {
  EXPECT_EQ(compute_signature(kToken, kUrl, repeated_digits_params()), kSig9);
}

// The decision recorded in signature.hpp: sorted values WITHOUT de-duplication would sign
// "...Digits1234Digits1234Digits5678..." and give a different signature.
TEST(ComputeSignatureTest, Row9KeepingTheDuplicateWouldNotMatch) {
  const Params without_duplicate = {
      {"Sid", "CA123"}, {"SidAccount", "AC123"}, {"Digits", "5678"}, {"Digits", "1234"}};
  EXPECT_EQ(compute_signature(kToken, kUrl, without_duplicate), kSig9);
  // Signing the duplicate by hand (pre-joined into the URL) gives a different value.
  const std::string with_duplicate_signed =
      std::string(kUrl) + "Digits1234Digits1234Digits5678SidCA123SidAccountAC123";
  EXPECT_NE(compute_signature(kToken, with_duplicate_signed, {}), kSig9);
  EXPECT_EQ(compute_signature(kToken, with_duplicate_signed, {}), "tM//N+MVWOh7+ol2z8YCNxSY0Eg=");
}

TEST(ComputeSignatureTest, Row10RepeatedNameInAnyOrder) {
  const Params forward = {{"MessagingBinding.Address", "+1325xxxxxxx"},
                          {"MessagingBinding.Address", "+1415xxxxxxx"}};
  const Params backward = {{"MessagingBinding.Address", "+1415xxxxxxx"},
                           {"MessagingBinding.Address", "+1325xxxxxxx"}};
  EXPECT_EQ(compute_signature(kToken, kUrl, forward), kSig10);
  EXPECT_EQ(compute_signature(kToken, kUrl, backward), kSig10);
}

TEST(ComputeSignatureTest, ParamOrderDoesNotMatter) {
  Params reversed = common_params();
  std::reverse(reversed.begin(), reversed.end());
  EXPECT_EQ(compute_signature(kToken, kUrl, reversed), kSig1);
}

TEST(ComputeSignatureTest, NamesSortCaseSensitively) {
  // Byte-wise order puts "Z" (0x5A) before "a" (0x61); a case-insensitive sort would not.
  const std::string expected = compute_signature(kToken, std::string(kUrl) + "Z1a2", {});
  EXPECT_EQ(compute_signature(kToken, kUrl, {{"a", "2"}, {"Z", "1"}}), expected);
}

// ---------------------------------------------------------------------------------------------
// Doc vectors.

TEST(ComputeSignatureTest, CurrentDocExample) {
  const Params params = {{"CallSid", "CA1234567890ABCDE"},
                         {"Caller", "+14158675310"},
                         {"Digits", "1234"},
                         {"From", "+14158675310"},
                         {"To", "+18005551212"}};
  EXPECT_EQ(compute_signature(kToken, "https://example.com/myapp.php?foo=1&bar=2", params),
            "L/OH5YylLD5NRKLltdqwSvS0BnU=");
}

TEST(ComputeSignatureTest, OlderDocExample) {
  const Params params = {{"CallSid", "CA1234567890ABCDE"},
                         {"Caller", "+12349013030"},
                         {"Digits", "1234"},
                         {"From", "+12349013030"},
                         {"To", "+18005551212"}};
  EXPECT_EQ(compute_signature(kToken, kUrl, params), "0/KCTR6DLpKmkAf8muzZqo1nDgQ=");
}

TEST(ComputeSignatureTest, WebSocketUrlWithoutParams) {
  EXPECT_EQ(compute_signature(kToken, "wss://dlas.example.org/telephony/media", {}),
            "qU3rRAX/WYSnuiDVsCo/Zjww08o=");
}

TEST(ComputeSignatureTest, NodeSpecToken) {
  EXPECT_EQ(compute_signature("s3cr3t", "https://example.com/path?test=param", {}),
            "loLgTitFAoWx57yy5oEU4Hlddzw=");
}

TEST(BodySha256Test, MatchesVectors) {
  EXPECT_EQ(body_sha256_hex(kJsonBody), kJsonBodyHash);
  EXPECT_EQ(body_sha256_hex("{}"), kEmptyObjectHash);
}

// ---------------------------------------------------------------------------------------------
// SignatureValidator::validate.

class SignatureValidatorTest : public ::testing::Test {
 protected:
  SignatureValidator validator_{kToken};
};

TEST_F(SignatureValidatorTest, AcceptsUrlAsGiven) {
  EXPECT_TRUE(validator_.validate(kUrl, common_params(), kSig1));
}

TEST_F(SignatureValidatorTest, StripsAnyPortOnHttps) {
  EXPECT_TRUE(validator_.validate(kUrlPort1234, common_params(), kSig1));
}

TEST_F(SignatureValidatorTest, StripsPort443) {
  EXPECT_TRUE(validator_.validate(kUrlPort443, common_params(), kSig1));
  EXPECT_TRUE(validator_.validate(kUrlPort443, common_params(), kSig2));
}

TEST_F(SignatureValidatorTest, AddsPort443OnHttps) {
  EXPECT_TRUE(validator_.validate(kUrl, common_params(), kSig2));
}

TEST_F(SignatureValidatorTest, AddsPort80OnHttp) {
  EXPECT_TRUE(validator_.validate(kHttpUrl, common_params(), kSig3));
}

TEST_F(SignatureValidatorTest, KeepsNonDefaultPortOnHttp) {
  EXPECT_TRUE(validator_.validate(kHttpUrlPort1234, common_params(), kSig4));
}

TEST_F(SignatureValidatorTest, DoesNotAddAWrongDefaultPort) {
  // :80 is not https's default port; only :443 is tried when the port is absent.
  EXPECT_FALSE(validator_.validate(kUrl, common_params(), kSig3));
  EXPECT_FALSE(validator_.validate(kHttpUrl, common_params(), kSig2));
}

TEST_F(SignatureValidatorTest, KeepsUserInfo) {
  EXPECT_TRUE(validator_.validate(kUrlUserPass, common_params(), kSig5));
  EXPECT_TRUE(validator_.validate(kUrlUserPass, common_params(), kSig6));
  EXPECT_TRUE(validator_.validate(kUrlUserPass443, common_params(), kSig5));
  EXPECT_TRUE(validator_.validate(kUrlUser, common_params(), kSig7));
}

TEST_F(SignatureValidatorTest, RawApostropheInQuery) {
  EXPECT_TRUE(
      validator_.validate(std::string(kUrl) + "&Body=It's+amazing", common_params(), kSig8));
}

TEST_F(SignatureValidatorTest, RepeatedParams) {
  EXPECT_TRUE(validator_.validate(kUrl, repeated_digits_params(), kSig9));
}

TEST_F(SignatureValidatorTest, WebSocketUpgrade) {
  EXPECT_TRUE(validator_.validate("wss://dlas.example.org/telephony/media", {},
                                  "qU3rRAX/WYSnuiDVsCo/Zjww08o="));
  const std::string with_443 =
      compute_signature(kToken, "wss://dlas.example.org:443/telephony/media", {});
  EXPECT_TRUE(validator_.validate("wss://dlas.example.org/telephony/media", {}, with_443));
  EXPECT_TRUE(validator_.validate("wss://dlas.example.org:443/telephony/media", {},
                                  "qU3rRAX/WYSnuiDVsCo/Zjww08o="));
  // https is not wss: Twilio signs the wss:// URL (§4.1).
  EXPECT_FALSE(validator_.validate("https://dlas.example.org/telephony/media", {},
                                   "qU3rRAX/WYSnuiDVsCo/Zjww08o="));
}

TEST_F(SignatureValidatorTest, NodeSpecPortVariants) {
  const SignatureValidator validator("s3cr3t");
  EXPECT_TRUE(validator.validate("https://example.com/path?test=param", {},
                                 "loLgTitFAoWx57yy5oEU4Hlddzw="));
  EXPECT_TRUE(validator.validate("https://example.com:443/path?test=param", {},
                                 "loLgTitFAoWx57yy5oEU4Hlddzw="));
}

TEST_F(SignatureValidatorTest, RejectsWrongSignature) {
  EXPECT_FALSE(validator_.validate(kUrl, common_params(), "FAIL"));
  EXPECT_FALSE(validator_.validate(kUrl, common_params(), kSig4));
  // Right length, one character off.
  std::string off_by_one = kSig1;
  off_by_one[0] = 'S';
  EXPECT_FALSE(validator_.validate(kUrl, common_params(), off_by_one));
}

TEST_F(SignatureValidatorTest, RejectsEmptySignature) {
  EXPECT_FALSE(validator_.validate(kUrl, common_params(), ""));
}

TEST_F(SignatureValidatorTest, RejectsChangedRequest) {
  EXPECT_FALSE(validator_.validate(std::string(kUrl) + "&extra=1", common_params(), kSig1));
  Params changed = common_params();
  changed[1].second = "9999";
  EXPECT_FALSE(validator_.validate(kUrl, changed, kSig1));
  Params added = common_params();
  added.emplace_back("Extra", "1");
  EXPECT_FALSE(validator_.validate(kUrl, added, kSig1));
  EXPECT_FALSE(validator_.validate(kUrl, {}, kSig1));
}

TEST_F(SignatureValidatorTest, RejectsOtherToken) {
  const SignatureValidator other("54321");
  EXPECT_FALSE(other.validate(kUrl, common_params(), kSig1));
}

TEST_F(SignatureValidatorTest, EmptyTokenValidatesNothing) {
  const SignatureValidator empty_token("");
  const std::string forged = compute_signature("", kUrl, common_params());
  ASSERT_FALSE(forged.empty());
  EXPECT_FALSE(empty_token.validate(kUrl, common_params(), forged));
}

TEST_F(SignatureValidatorTest, UnparseableUrlIsCheckedAsGiven) {
  const std::string url = "https://mycompany.com/my app.php";  // a raw space: not a URI
  const std::string signature = compute_signature(kToken, url, common_params());
  EXPECT_TRUE(validator_.validate(url, common_params(), signature));
  EXPECT_FALSE(validator_.validate(url, common_params(), kSig1));
}

TEST_F(SignatureValidatorTest, BodyHashUrlWithFormParamsIsRejected) {
  const std::string url = std::string(kUrl) + "&bodySHA256=" + kJsonBodyHash;
  const std::string signature = compute_signature(kToken, url, common_params());
  EXPECT_FALSE(validator_.validate(url, common_params(), signature));
  // With no params it is a plain URL check.
  EXPECT_TRUE(validator_.validate(url, {}, "a9nBmqA0ju/hNViExpshrM61xv4="));
}

TEST_F(SignatureValidatorTest, SafeFromManyThreads) {
  std::vector<std::thread> threads;
  std::vector<int> ok(8, 0);
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 200; ++i) {
        ok[t] += validator_.validate(kUrl, common_params(), kSig1) ? 1 : 0;
      }
    });
  }
  for (auto& thread : threads) thread.join();
  for (int count : ok) EXPECT_EQ(count, 200);
}

// ---------------------------------------------------------------------------------------------
// SignatureValidator::validate_body.

TEST_F(SignatureValidatorTest, BodyWithOtherQueryParams) {
  const std::string url = std::string(kUrl) + "&bodySHA256=" + kJsonBodyHash;
  EXPECT_EQ(compute_signature(kToken, url, {}), "a9nBmqA0ju/hNViExpshrM61xv4=");
  EXPECT_TRUE(validator_.validate_body(url, kJsonBody, "a9nBmqA0ju/hNViExpshrM61xv4="));
}

TEST_F(SignatureValidatorTest, BodyHashAsOnlyQueryParam) {
  const std::string url =
      std::string("https://mycompany.com/myapp.php?bodySHA256=") + kJsonBodyHash;
  EXPECT_EQ(compute_signature(kToken, url, {}), "y77kIzt2vzLz71DgmJGsen2scGs=");
  EXPECT_TRUE(validator_.validate_body(url, kJsonBody, "y77kIzt2vzLz71DgmJGsen2scGs="));
}

TEST_F(SignatureValidatorTest, EmptyObjectBodyNeedsThePortAddedVariant) {
  const std::string url = std::string(kUrl) + "&bodySHA256=" + kEmptyObjectHash;
  const std::string url_443 = std::string(kUrlPort443) + "&bodySHA256=" + kEmptyObjectHash;
  EXPECT_EQ(compute_signature(kToken, url, {}), "rw/jVviOgicj2+kHZULvebnA4ag=");
  EXPECT_EQ(compute_signature(kToken, url_443, {}), "Ldidvp12m26NI7eqEvxnEpkd9Hc=");
  EXPECT_TRUE(validator_.validate_body(url, "{}", "Ldidvp12m26NI7eqEvxnEpkd9Hc="));
  EXPECT_TRUE(validator_.validate_body(url, "{}", "rw/jVviOgicj2+kHZULvebnA4ag="));
}

TEST_F(SignatureValidatorTest, BodyMustMatchHash) {
  const std::string url = std::string(kUrl) + "&bodySHA256=" + kJsonBodyHash;
  EXPECT_FALSE(validator_.validate_body(url, R"({"property": "other", "boolean": true})",
                                        "a9nBmqA0ju/hNViExpshrM61xv4="));
  EXPECT_FALSE(validator_.validate_body(url, "", "a9nBmqA0ju/hNViExpshrM61xv4="));
}

TEST_F(SignatureValidatorTest, BodyHashIsCaseInsensitiveHex) {
  std::string upper = kEmptyObjectHash;
  for (char& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  const std::string url = std::string(kUrl) + "&bodySHA256=" + upper;
  EXPECT_TRUE(validator_.validate_body(url, "{}", compute_signature(kToken, url, {})));
}

TEST_F(SignatureValidatorTest, BodyRejectsWrongOrEmptySignature) {
  const std::string url = std::string(kUrl) + "&bodySHA256=" + kJsonBodyHash;
  EXPECT_FALSE(validator_.validate_body(url, kJsonBody, "y77kIzt2vzLz71DgmJGsen2scGs="));
  EXPECT_FALSE(validator_.validate_body(url, kJsonBody, ""));
}

TEST_F(SignatureValidatorTest, BodyNeedsExactlyOneBodyHash) {
  EXPECT_FALSE(validator_.validate_body(kUrl, "{}", compute_signature(kToken, kUrl, {})));
  const std::string twice =
      std::string(kUrl) + "&bodySHA256=" + kEmptyObjectHash + "&bodySHA256=" + kJsonBodyHash;
  EXPECT_FALSE(validator_.validate_body(twice, "{}", compute_signature(kToken, twice, {})));
}

}  // namespace
}  // namespace voxgate::twilio
