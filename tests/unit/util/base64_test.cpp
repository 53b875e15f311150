// Tests for strict base64: RFC 4648 §10 vectors, round trips, and every way the decoder must
// refuse input (twilio-protocol.md §1.4 for the real payload shape).
#include "util/base64.hpp"

#include <gtest/gtest.h>

#include <cstddef>
#include <cstdint>
#include <random>
#include <string>
#include <string_view>
#include <vector>

namespace voxgate::util {
namespace {

std::vector<std::uint8_t> bytes_of(std::string_view text) { return {text.begin(), text.end()}; }

// A media payload as Twilio sends it: 20 ms of mu-law silence, 160 bytes of 0xFF.
std::string twilio_silence_payload() {
  std::string payload;
  for (int i = 0; i < 53; ++i) payload += "////";
  payload += "/w==";
  return payload;
}

TEST(Base64, Rfc4648Vectors) {
  const std::pair<std::string_view, std::string_view> vectors[] = {
      {"", ""},
      {"f", "Zg=="},
      {"fo", "Zm8="},
      {"foo", "Zm9v"},
      {"foob", "Zm9vYg=="},
      {"fooba", "Zm9vYmE="},
      {"foobar", "Zm9vYmFy"},
  };
  for (const auto& [plain, encoded] : vectors) {
    EXPECT_EQ(base64_encode(bytes_of(plain)), encoded) << plain;
    const auto decoded = base64_decode(encoded);
    ASSERT_TRUE(decoded.has_value()) << encoded;
    EXPECT_EQ(*decoded, bytes_of(plain)) << encoded;
  }
}

TEST(Base64, WholeAlphabet) {
  // The 48 bytes whose encoding is the alphabet in order: "ABCD" = 0x00 0x10 0x83, ...
  const std::string alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  const auto decoded = base64_decode(alphabet);
  ASSERT_TRUE(decoded.has_value());
  ASSERT_EQ(decoded->size(), 48u);
  EXPECT_EQ((*decoded)[0], 0x00);
  EXPECT_EQ((*decoded)[1], 0x10);
  EXPECT_EQ((*decoded)[2], 0x83);
  EXPECT_EQ(decoded->back(), 0xBF);  // "89+/" = 111100 111101 111110 111111 -> F3 DF BF
  EXPECT_EQ(base64_encode(*decoded), alphabet);
}

TEST(Base64, RoundTripsRandomBytesOfEveryLength) {
  std::mt19937 rng(20240601);
  std::uniform_int_distribution<int> byte(0, 255);
  std::vector<std::uint8_t> decoded;
  for (std::size_t n_bytes = 0; n_bytes <= 300; ++n_bytes) {
    std::vector<std::uint8_t> bytes(n_bytes);
    for (auto& b : bytes) b = static_cast<std::uint8_t>(byte(rng));
    const std::string encoded = base64_encode(bytes);
    EXPECT_EQ(encoded.size(), base64_encoded_size(n_bytes));
    EXPECT_EQ(encoded.size() % 4, 0u);
    ASSERT_TRUE(base64_decode(encoded, decoded)) << n_bytes;
    EXPECT_EQ(decoded, bytes) << n_bytes;
  }
}

TEST(Base64, TwilioSilencePayload) {
  const std::string payload = twilio_silence_payload();
  ASSERT_EQ(payload.size(), 216u);
  const auto decoded = base64_decode(payload);
  ASSERT_TRUE(decoded.has_value());
  EXPECT_EQ(*decoded, std::vector<std::uint8_t>(160, 0xFF));
  EXPECT_EQ(base64_encode(*decoded), payload);
}

TEST(Base64, DecodeReusesTheVector) {
  std::vector<std::uint8_t> out;
  out.reserve(4096);
  out.assign(100, 0x42);  // stale contents must not survive
  const std::uint8_t* storage = out.data();
  ASSERT_TRUE(base64_decode(twilio_silence_payload(), out));
  EXPECT_EQ(out, std::vector<std::uint8_t>(160, 0xFF));
  EXPECT_EQ(out.data(), storage);
  EXPECT_GE(out.capacity(), 4096u);

  ASSERT_TRUE(base64_decode("Zm8=", out));
  EXPECT_EQ(out, bytes_of("fo"));
  EXPECT_EQ(out.data(), storage);

  // A failure leaves the vector empty, capacity kept.
  EXPECT_FALSE(base64_decode("Zm8", out));
  EXPECT_TRUE(out.empty());
  EXPECT_EQ(out.capacity(), 4096u);
}

TEST(Base64, EncodeIntoReusedString) {
  std::string out = "stale contents that are longer than the result";
  base64_encode(bytes_of("foobar"), out);
  EXPECT_EQ(out, "Zm9vYmFy");
}

TEST(Base64, EmptyDecodesToNothing) {
  std::vector<std::uint8_t> out = {1, 2, 3};
  EXPECT_TRUE(base64_decode("", out));
  EXPECT_TRUE(out.empty());
}

void expect_rejected(std::string_view text) {
  EXPECT_FALSE(base64_decode(text).has_value()) << '"' << text << '"';
  std::vector<std::uint8_t> out = {7};
  EXPECT_FALSE(base64_decode(text, out)) << '"' << text << '"';
  EXPECT_TRUE(out.empty()) << '"' << text << '"';
}

TEST(Base64, RejectsCharactersOutsideTheAlphabet) {
  expect_rejected("Zm9v!mFy");
  expect_rejected("Zm9v-mFy");  // base64url
  expect_rejected("Zm9v_mFy");  // base64url
  expect_rejected("Zm9v.mFy");
  expect_rejected(std::string_view("Zm9v\0mFy", 8));
  expect_rejected("Zm9v\xC3\xA9mF");  // UTF-8 é
  expect_rejected("Zm9v\xFFmFy");
  // Every byte that is neither in the alphabet nor '=' fails in every position of a group.
  const std::string_view alphabet =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=";
  for (int c = 0; c < 256; ++c) {
    if (alphabet.find(static_cast<char>(c)) != std::string_view::npos) continue;
    for (std::size_t pos = 0; pos < 8; ++pos) {
      std::string text = "Zm9vYmFy";
      text[pos] = static_cast<char>(c);
      EXPECT_FALSE(base64_decode(text).has_value()) << "byte " << c << " at " << pos;
    }
  }
}

TEST(Base64, RejectsWhitespace) {
  expect_rejected(" Zm9v");
  expect_rejected("Zm9v ");
  expect_rejected("Zm9v\n");
  expect_rejected("Zm9v\r\n");
  expect_rejected("Zm\n9v");
  expect_rejected("Zm9v\tYmFy");
  expect_rejected("Zm 9vYmF");
}

TEST(Base64, RejectsBadLengths) {
  expect_rejected("Z");
  expect_rejected("Zm");
  expect_rejected("Zm9");
  expect_rejected("Zm9vY");
  expect_rejected("Zm9vYg");   // unpadded
  expect_rejected("Zm9vYmE");  // unpadded
  expect_rejected("Zm9vYg=");  // one '=' short
  expect_rejected(twilio_silence_payload().substr(0, 215));
}

TEST(Base64, RejectsMisplacedPadding) {
  expect_rejected("=");
  expect_rejected("==");
  expect_rejected("====");
  expect_rejected("Z===");
  expect_rejected("Zg===");  // length 5 anyway
  expect_rejected("Zm==Zm9v");
  expect_rejected("Zm8=Zm9v");
  expect_rejected("Zg==Zg==");
  expect_rejected("Z=g=");
  expect_rejected("Zm=v");
  expect_rejected("=m9v");
  expect_rejected("Zm9v====");
  expect_rejected("Zm9vYmFy====");
}

TEST(Base64, RejectsNonCanonicalLastCharacter) {
  // "QQ==" is "A"; "QR==" carries a set bit past the byte and must not decode to "A" too.
  ASSERT_TRUE(base64_decode("QQ==").has_value());
  EXPECT_EQ(*base64_decode("QQ=="), bytes_of("A"));
  expect_rejected("QR==");
  expect_rejected("QX==");
  expect_rejected("Q/==");
  // Two bytes: the last character has 2 unused bits.
  ASSERT_TRUE(base64_decode("QUI=").has_value());
  EXPECT_EQ(*base64_decode("QUI="), bytes_of("AB"));
  expect_rejected("QUJ=");
  expect_rejected("QUL=");
  // Twilio silence ends "/w==": "/x==" would be the same byte with a stray bit.
  std::string payload = twilio_silence_payload();
  payload[213] = 'x';
  expect_rejected(payload);
}

}  // namespace
}  // namespace voxgate::util
