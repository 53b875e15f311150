// G.711 mu-law by table lookup (see g711.hpp). The tables are computed by constexpr copies of
// the reference ulaw2linear / linear2ulaw, so the code that fills them is the specification and
// nothing is generated outside the build.
#include "audio/g711.hpp"

#include <array>
#include <cassert>
#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

namespace voxgate::audio {
namespace {

// Reference constants (Sun Microsystems' public-domain g711.c, CCITT G.711 Table 2).
constexpr int kBias = 0x84;    // added to the magnitude so every segment starts at a power of 2
constexpr int kClip14 = 8159;  // largest magnitude in 14-bit units before the bias
constexpr int kEncodeTableSize = 1 << 14;    // one entry per 14-bit sample value
constexpr int kEncodeTableOffset = 1 << 13;  // index = (pcm >> 2) + offset

constexpr std::int16_t reference_ulaw2linear(std::uint8_t code) {
  const int u = ~code & 0xFF;
  int t = ((u & 0x0F) << 3) + kBias;
  t <<= (u & 0x70) >> 4;
  return static_cast<std::int16_t>((u & 0x80) != 0 ? kBias - t : t - kBias);
}

// `pcm14` is the sample already shifted right by 2 (arithmetically), as the reference does first.
constexpr std::uint8_t reference_linear2ulaw(int pcm14) {
  int mask = 0xFF;
  if (pcm14 < 0) {
    pcm14 = -pcm14;
    mask = 0x7F;
  }
  if (pcm14 > kClip14) pcm14 = kClip14;
  pcm14 += kBias >> 2;
  // Segment: the first whose upper end (0x3F, 0x7F, ..., 0x1FFF) holds the biased magnitude.
  int segment = 0;
  while (segment < 8 && pcm14 > (0x40 << segment) - 1) ++segment;
  if (segment >= 8) return static_cast<std::uint8_t>(0x7F ^ mask);
  const int code = (segment << 4) | ((pcm14 >> (segment + 1)) & 0x0F);
  return static_cast<std::uint8_t>(code ^ mask);
}

constexpr std::array<std::int16_t, 256> make_decode_table() {
  std::array<std::int16_t, 256> table{};
  for (int code = 0; code < 256; ++code) {
    table[static_cast<std::size_t>(code)] = reference_ulaw2linear(static_cast<std::uint8_t>(code));
  }
  return table;
}

constexpr std::array<std::uint8_t, kEncodeTableSize> make_encode_table() {
  std::array<std::uint8_t, kEncodeTableSize> table{};
  for (int i = 0; i < kEncodeTableSize; ++i) {
    table[static_cast<std::size_t>(i)] = reference_linear2ulaw(i - kEncodeTableOffset);
  }
  return table;
}

constexpr std::array<std::int16_t, 256> kDecodeTable = make_decode_table();
constexpr std::array<std::uint8_t, kEncodeTableSize> kEncodeTable = make_encode_table();

static_assert(kDecodeTable[0xFF] == 0 && kDecodeTable[0x7F] == 0);
static_assert(kDecodeTable[0x00] == -32124 && kDecodeTable[0x80] == 32124);
static_assert(kEncodeTable[kEncodeTableOffset] == 0xFF);

inline std::uint8_t encode_one(std::int16_t sample) {
  // >> on a negative int is arithmetic in C++20, as the reference assumes.
  return kEncodeTable[static_cast<std::size_t>((sample >> 2) + kEncodeTableOffset)];
}

}  // namespace

std::int16_t ulaw_to_linear(std::uint8_t code) { return kDecodeTable[code]; }

std::uint8_t linear_to_ulaw(std::int16_t sample) { return encode_one(sample); }

void decode_ulaw(std::span<const std::uint8_t> in, std::span<std::int16_t> out) {
  assert(out.size() >= in.size());
  for (std::size_t i = 0; i < in.size(); ++i) out[i] = kDecodeTable[in[i]];
}

void encode_ulaw(std::span<const std::int16_t> in, std::span<std::uint8_t> out) {
  assert(out.size() >= in.size());
  for (std::size_t i = 0; i < in.size(); ++i) out[i] = encode_one(in[i]);
}

void decode_ulaw(std::span<const std::uint8_t> in, std::vector<std::int16_t>& out) {
  const std::size_t n_before = out.size();
  out.resize(n_before + in.size());
  decode_ulaw(in, std::span<std::int16_t>(out).subspan(n_before));
}

void encode_ulaw(std::span<const std::int16_t> in, std::vector<std::uint8_t>& out) {
  const std::size_t n_before = out.size();
  out.resize(n_before + in.size());
  encode_ulaw(in, std::span<std::uint8_t>(out).subspan(n_before));
}

}  // namespace voxgate::audio
