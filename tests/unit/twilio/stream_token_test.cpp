// Tests for the per-call Media Streams token (HMAC-SHA256, base64url without padding).
#include "twilio/stream_token.hpp"

#include <gtest/gtest.h>

#include <stdexcept>
#include <string>

namespace voxgate::twilio {
namespace {

constexpr char kSecret[] = "test-secret";
constexpr char kCallSid[] = "CA0123456789abcdef0123456789abcdef";

TEST(StreamTokenTest, RoundTrip) {
  const StreamTokenIssuer issuer(kSecret);
  const std::string token = issuer.issue(kCallSid);
  EXPECT_EQ(token.size(), 43u);  // 32 bytes, base64url, no padding
  EXPECT_EQ(
      token.find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"),
      std::string::npos)
      << token;
  EXPECT_TRUE(issuer.verify(kCallSid, token));
  EXPECT_EQ(issuer.issue(kCallSid), token);  // deterministic
}

TEST(StreamTokenTest, KnownValue) {
  // RFC 4231 test case 2: HMAC-SHA256("Jefe", "what do ya want for nothing?") =
  // 5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843.
  const StreamTokenIssuer issuer("Jefe");
  EXPECT_EQ(issuer.issue("what do ya want for nothing?"),
            "W9zBRr9gdU5qBCQmCJV1x1oAPwidJzmDnexYuWTsOEM");
}

TEST(StreamTokenTest, AnotherWorkerWithTheSameSecretAccepts) {
  const StreamTokenIssuer worker_a(kSecret);
  const StreamTokenIssuer worker_b(kSecret);
  EXPECT_TRUE(worker_b.verify(kCallSid, worker_a.issue(kCallSid)));
}

TEST(StreamTokenTest, RejectsWrongCallSid) {
  const StreamTokenIssuer issuer(kSecret);
  const std::string token = issuer.issue(kCallSid);
  EXPECT_FALSE(issuer.verify("CA0123456789abcdef0123456789abcdee", token));
  EXPECT_FALSE(issuer.verify("", token));
}

TEST(StreamTokenTest, RejectsWrongToken) {
  const StreamTokenIssuer issuer(kSecret);
  EXPECT_FALSE(issuer.verify(kCallSid, issuer.issue("CAother")));
  EXPECT_FALSE(issuer.verify(kCallSid, "not-a-token"));
}

TEST(StreamTokenTest, RejectsTamperedToken) {
  const StreamTokenIssuer issuer(kSecret);
  const std::string token = issuer.issue(kCallSid);
  for (std::size_t i = 0; i < token.size(); ++i) {
    std::string tampered = token;
    tampered[i] = tampered[i] == 'A' ? 'B' : 'A';
    EXPECT_FALSE(issuer.verify(kCallSid, tampered)) << "position " << i;
  }
  EXPECT_FALSE(issuer.verify(kCallSid, token + "="));  // padded form is not canonical
  EXPECT_FALSE(issuer.verify(kCallSid, token + "A"));
  EXPECT_FALSE(issuer.verify(kCallSid, token.substr(0, token.size() - 1)));
}

TEST(StreamTokenTest, RejectsOtherSecret) {
  const StreamTokenIssuer issuer(kSecret);
  const StreamTokenIssuer other("other-secret");
  EXPECT_FALSE(other.verify(kCallSid, issuer.issue(kCallSid)));
  EXPECT_NE(other.issue(kCallSid), issuer.issue(kCallSid));
}

TEST(StreamTokenTest, RejectsEmptyToken) {
  const StreamTokenIssuer issuer(kSecret);
  EXPECT_FALSE(issuer.verify(kCallSid, ""));
}

TEST(StreamTokenTest, EmptyCallSidGetsNoToken) {
  const StreamTokenIssuer issuer(kSecret);
  EXPECT_EQ(issuer.issue(""), "");
  EXPECT_FALSE(issuer.verify("", ""));
}

TEST(StreamTokenTest, EmptySecretIsAConfigError) {
  EXPECT_THROW(StreamTokenIssuer(""), std::invalid_argument);
}

TEST(StreamTokenTest, RandomSecretIsHexAndFresh) {
  const std::string a = StreamTokenIssuer::random_secret();
  const std::string b = StreamTokenIssuer::random_secret();
  EXPECT_EQ(a.size(), 64u);
  EXPECT_EQ(a.find_first_not_of("0123456789abcdef"), std::string::npos) << a;
  EXPECT_NE(a, b);
  const StreamTokenIssuer issuer(a);
  EXPECT_TRUE(issuer.verify(kCallSid, issuer.issue(kCallSid)));
}

}  // namespace
}  // namespace voxgate::twilio
