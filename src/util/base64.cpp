// Strict base64 for Media Streams payloads (see base64.hpp). Table-driven: one lookup per
// character, invalid characters flagged by the high bit so a whole group is checked with one
// test.
#include "util/base64.hpp"

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace voxgate::util {
namespace {

constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

// Marks a character outside the alphabet ('=' included: padding is handled apart).
constexpr std::uint8_t kInvalid = 0x80;

constexpr std::array<std::uint8_t, 256> make_decode_table() {
  std::array<std::uint8_t, 256> table{};
  for (auto& value : table) value = kInvalid;
  for (std::uint8_t i = 0; i < 64; ++i) table[static_cast<unsigned char>(kAlphabet[i])] = i;
  return table;
}

constexpr std::array<std::uint8_t, 256> kDecode = make_decode_table();

constexpr std::uint8_t sextet(char c) { return kDecode[static_cast<unsigned char>(c)]; }

}  // namespace

void base64_encode(std::span<const std::uint8_t> bytes, std::string& out) {
  out.resize(base64_encoded_size(bytes.size()));
  char* dst = out.data();
  const std::uint8_t* src = bytes.data();
  std::size_t n_left = bytes.size();
  for (; n_left >= 3; n_left -= 3, src += 3, dst += 4) {
    const std::uint32_t group =
        (std::uint32_t{src[0]} << 16) | (std::uint32_t{src[1]} << 8) | src[2];
    dst[0] = kAlphabet[(group >> 18) & 0x3F];
    dst[1] = kAlphabet[(group >> 12) & 0x3F];
    dst[2] = kAlphabet[(group >> 6) & 0x3F];
    dst[3] = kAlphabet[group & 0x3F];
  }
  if (n_left > 0) {
    const std::uint32_t group =
        (std::uint32_t{src[0]} << 16) | (n_left == 2 ? std::uint32_t{src[1]} << 8 : 0);
    dst[0] = kAlphabet[(group >> 18) & 0x3F];
    dst[1] = kAlphabet[(group >> 12) & 0x3F];
    dst[2] = n_left == 2 ? kAlphabet[(group >> 6) & 0x3F] : '=';
    dst[3] = '=';
  }
}

std::string base64_encode(std::span<const std::uint8_t> bytes) {
  std::string out;
  base64_encode(bytes, out);
  return out;
}

bool base64_decode(std::string_view text, std::vector<std::uint8_t>& out) {
  out.clear();
  if (text.size() % 4 != 0) return false;
  if (text.empty()) return true;

  // Padding: zero, one or two '=' at the very end. Any other '=' is caught below as an invalid
  // character, since the table does not map it.
  std::size_t n_pad = 0;
  if (text.back() == '=') n_pad = text[text.size() - 2] == '=' ? 2 : 1;
  const std::size_t n_groups = text.size() / 4;
  out.resize(3 * n_groups - n_pad);

  const char* src = text.data();
  std::uint8_t* dst = out.data();
  for (std::size_t g = 0; g + 1 < n_groups; ++g, src += 4, dst += 3) {
    const std::uint8_t a = sextet(src[0]);
    const std::uint8_t b = sextet(src[1]);
    const std::uint8_t c = sextet(src[2]);
    const std::uint8_t d = sextet(src[3]);
    if (((a | b | c | d) & kInvalid) != 0) {
      out.clear();
      return false;
    }
    const std::uint32_t group =
        (std::uint32_t{a} << 18) | (std::uint32_t{b} << 12) | (std::uint32_t{c} << 6) | d;
    dst[0] = static_cast<std::uint8_t>(group >> 16);
    dst[1] = static_cast<std::uint8_t>(group >> 8);
    dst[2] = static_cast<std::uint8_t>(group);
  }

  // The last group: the padded positions count as zero bits, and the bits of the last real
  // character that fall outside the output must be zero (RFC 4648 §3.5 "canonical encoding";
  // "QR==" would otherwise decode to the same byte as "QQ==").
  const std::uint8_t a = sextet(src[0]);
  const std::uint8_t b = sextet(src[1]);
  const std::uint8_t c = n_pad == 2 ? 0 : sextet(src[2]);
  const std::uint8_t d = n_pad >= 1 ? 0 : sextet(src[3]);
  const std::uint32_t group =
      (std::uint32_t{a} << 18) | (std::uint32_t{b} << 12) | (std::uint32_t{c} << 6) | d;
  const std::uint32_t unused_bits = n_pad == 2 ? 0xFFFF : (n_pad == 1 ? 0xFF : 0);
  if (((a | b | c | d) & kInvalid) != 0 || (group & unused_bits) != 0) {
    out.clear();
    return false;
  }
  dst[0] = static_cast<std::uint8_t>(group >> 16);
  if (n_pad < 2) dst[1] = static_cast<std::uint8_t>(group >> 8);
  if (n_pad < 1) dst[2] = static_cast<std::uint8_t>(group);
  return true;
}

std::optional<std::vector<std::uint8_t>> base64_decode(std::string_view text) {
  std::vector<std::uint8_t> out;
  if (!base64_decode(text, out)) return std::nullopt;
  return out;
}

}  // namespace voxgate::util
