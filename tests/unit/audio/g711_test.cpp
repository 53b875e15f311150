// Tests for the G.711 mu-law tables against implementations of the standard written here
// independently of g711.cpp: the decoding formula of G.711 (and RFC 3551 §4.5.14), and the
// Sun/CCITT reference linear2ulaw as published (bias 0x84, seg_uend table, binary search).
#include "audio/g711.hpp"

#include <gtest/gtest.h>

#include <cstdint>
#include <cstdlib>
#include <limits>
#include <span>
#include <vector>

#include "audio/frames.hpp"

namespace voxgate::audio {
namespace {

// G.711 mu-law decoding as a formula: the code is transmitted inverted; of the inverted byte,
// bit 7 is the sign, bits 6-4 the exponent e and bits 3-0 the mantissa m. The 14-bit magnitude
// is ((2m + 33) * 2^e) - 33, which is scaled to 16 bits by 4.
int formula_decode(std::uint8_t code) {
  const int inverted = static_cast<std::uint8_t>(~code);
  const int exponent = (inverted >> 4) & 0x07;
  const int mantissa = inverted & 0x0F;
  const int magnitude = ((2 * mantissa + 33) << exponent) - 33;
  return 4 * ((inverted & 0x80) != 0 ? -magnitude : magnitude);
}

// The reference encoder of Sun Microsystems' g711.c (the source most codecs copied).
int search(int value, const int* table, int size) {
  for (int i = 0; i < size; ++i) {
    if (value <= table[i]) return i;
  }
  return size;
}

std::uint8_t reference_linear2ulaw(std::int16_t sample) {
  static const int kSegUend[8] = {0x3F, 0x7F, 0xFF, 0x1FF, 0x3FF, 0x7FF, 0xFFF, 0x1FFF};
  constexpr int kBias = 0x84;
  constexpr int kClip = 8159;
  int pcm_val = sample >> 2;
  int mask = 0;
  if (pcm_val < 0) {
    pcm_val = -pcm_val;
    mask = 0x7F;
  } else {
    mask = 0xFF;
  }
  if (pcm_val > kClip) pcm_val = kClip;
  pcm_val += (kBias >> 2);
  const int seg = search(pcm_val, kSegUend, 8);
  if (seg >= 8) return static_cast<std::uint8_t>(0x7F ^ mask);
  const int uval = (seg << 4) | ((pcm_val >> (seg + 1)) & 0xF);
  return static_cast<std::uint8_t>(uval ^ mask);
}

TEST(G711, EveryCodeDecodesToTheStandardValue) {
  for (int code = 0; code < 256; ++code) {
    EXPECT_EQ(ulaw_to_linear(static_cast<std::uint8_t>(code)),
              formula_decode(static_cast<std::uint8_t>(code)))
        << "code " << code;
  }
}

TEST(G711, DecodeSpotChecks) {
  EXPECT_EQ(ulaw_to_linear(0xFF), 0);
  EXPECT_EQ(ulaw_to_linear(0x7F), 0);
  EXPECT_EQ(ulaw_to_linear(kUlawSilence), 0);
  EXPECT_EQ(ulaw_to_linear(0x00), -32124);
  EXPECT_EQ(ulaw_to_linear(0x80), 32124);
  EXPECT_EQ(ulaw_to_linear(0xFE), 8);  // smallest positive step
  EXPECT_EQ(ulaw_to_linear(0x7E), -8);
  EXPECT_EQ(ulaw_to_linear(0xF0), 120);  // top of segment 0
  EXPECT_EQ(ulaw_to_linear(0xEF), 132);  // bottom of segment 1
}

TEST(G711, EncodeMatchesTheReferenceForEverySample) {
  int n_mismatches = 0;
  for (int x = std::numeric_limits<std::int16_t>::min();
       x <= std::numeric_limits<std::int16_t>::max(); ++x) {
    const auto sample = static_cast<std::int16_t>(x);
    if (linear_to_ulaw(sample) != reference_linear2ulaw(sample)) {
      if (++n_mismatches <= 10) ADD_FAILURE() << "sample " << x;
    }
  }
  EXPECT_EQ(n_mismatches, 0);
}

TEST(G711, EncodeSpotChecks) {
  EXPECT_EQ(linear_to_ulaw(0), 0xFF);
  EXPECT_EQ(linear_to_ulaw(3), 0xFF);
  EXPECT_EQ(linear_to_ulaw(-1), 0x7E);  // the reference shifts first: -1 >> 2 == -1
  EXPECT_EQ(linear_to_ulaw(32767), 0x80);
  EXPECT_EQ(linear_to_ulaw(-32768), 0x00);
  EXPECT_EQ(linear_to_ulaw(32124), 0x80);
  EXPECT_EQ(linear_to_ulaw(-32124), 0x00);
}

TEST(G711, RoundTripErrorIsWithinHalfAStep) {
  // A sample in segment e is reconstructed at the middle of its 2^(e+3)-wide interval (16-bit
  // units), so it is off by up to 4 * 2^e, plus up to 3 from the reference's truncation to
  // 14 bits. Segment e starts at 128 * 2^e - 132, so the error is at most |x| / 32 + 8.
  // Beyond the last code the output saturates.
  int previous = std::numeric_limits<int>::min();
  for (int x = std::numeric_limits<std::int16_t>::min();
       x <= std::numeric_limits<std::int16_t>::max(); ++x) {
    const int decoded = ulaw_to_linear(linear_to_ulaw(static_cast<std::int16_t>(x)));
    if (std::abs(x) >= 32124) {
      EXPECT_EQ(decoded, x < 0 ? -32124 : 32124) << x;
    } else {
      EXPECT_LE(std::abs(decoded - x), std::abs(x) / 32 + 8) << x;
    }
    EXPECT_GE(decoded, previous) << "not monotonic at " << x;
    previous = decoded;
  }
}

TEST(G711, EveryCodeSurvivesDecodeThenEncode) {
  for (int code = 0; code < 256; ++code) {
    const auto c = static_cast<std::uint8_t>(code);
    // 0x7F is "negative zero": it decodes to 0, which encodes as 0xFF.
    const std::uint8_t expected = c == 0x7F ? 0xFF : c;
    EXPECT_EQ(linear_to_ulaw(ulaw_to_linear(c)), expected) << "code " << code;
  }
}

TEST(G711, SpanVariantsMatchTheScalarOnes) {
  std::vector<std::uint8_t> codes(256);
  for (int i = 0; i < 256; ++i) codes[static_cast<std::size_t>(i)] = static_cast<std::uint8_t>(i);

  std::vector<std::int16_t> pcm(300, 12345);  // longer than needed: the rest is untouched
  decode_ulaw(codes, std::span<std::int16_t>(pcm));
  for (int i = 0; i < 256; ++i) {
    EXPECT_EQ(pcm[static_cast<std::size_t>(i)], ulaw_to_linear(static_cast<std::uint8_t>(i)));
  }
  EXPECT_EQ(pcm[256], 12345);
  EXPECT_EQ(pcm.back(), 12345);

  std::vector<std::int16_t> samples;
  for (int x = -32768; x <= 32767; x += 97) samples.push_back(static_cast<std::int16_t>(x));
  std::vector<std::uint8_t> encoded(samples.size() + 1, 0x55);
  encode_ulaw(samples, std::span<std::uint8_t>(encoded));
  for (std::size_t i = 0; i < samples.size(); ++i) {
    EXPECT_EQ(encoded[i], linear_to_ulaw(samples[i])) << samples[i];
  }
  EXPECT_EQ(encoded.back(), 0x55);
}

TEST(G711, VectorVariantsAppend) {
  const std::vector<std::uint8_t> frame(kFrameSamples, kUlawSilence);
  std::vector<std::int16_t> pcm = {1, 2, 3};
  decode_ulaw(frame, pcm);
  ASSERT_EQ(pcm.size(), 3 + kFrameSamples);
  EXPECT_EQ(pcm[0], 1);
  EXPECT_EQ(pcm[2], 3);
  for (std::size_t i = 3; i < pcm.size(); ++i) EXPECT_EQ(pcm[i], 0);

  std::vector<std::uint8_t> out = {0xAA};
  encode_ulaw(std::span<const std::int16_t>(pcm).subspan(3), out);
  ASSERT_EQ(out.size(), 1 + kFrameSamples);
  EXPECT_EQ(out[0], 0xAA);
  EXPECT_EQ(std::vector<std::uint8_t>(out.begin() + 1, out.end()), frame);

  // Empty input appends nothing.
  decode_ulaw(std::span<const std::uint8_t>(), pcm);
  encode_ulaw(std::span<const std::int16_t>(), out);
  EXPECT_EQ(pcm.size(), 3 + kFrameSamples);
  EXPECT_EQ(out.size(), 1 + kFrameSamples);
}

}  // namespace
}  // namespace voxgate::audio
