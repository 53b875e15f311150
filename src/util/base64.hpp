// Base64 (RFC 4648 §4, standard alphabet, padded) for Media Streams payloads.
//
// Every `media` message carries a 20 ms frame as base64: 216 characters for 160 mu-law bytes,
// 50 messages a second per call in each direction. The decoder is strict, because what it reads
// comes from the network, and written by hand, because OpenSSL's EVP_DecodeBlock is not strict:
// it trims surrounding whitespace, accepts '=' in the middle of a group ("QQ=A", "Q=Q="), ignores
// non-zero unused bits ("QR==") and counts the padding as decoded bytes, leaving the caller to
// trim them (checked against OpenSSL 3.0 on Debian 12).
//
// Contract:
// - Pure functions, no shared state: safe to call from any number of threads.
// - No exceptions for bad input: decoding reports failure with false / std::nullopt.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace voxgate::util {

// Characters needed to encode `n_bytes` bytes (padded).
constexpr std::size_t base64_encoded_size(std::size_t n_bytes) { return 4 * ((n_bytes + 2) / 3); }

// Standard alphabet (A-Z a-z 0-9 + /), padded with '=' to a multiple of 4 characters.
std::string base64_encode(std::span<const std::uint8_t> bytes);

// As above, replacing the contents of `out` and reusing its capacity (hot path).
void base64_encode(std::span<const std::uint8_t> bytes, std::string& out);

// Strict decode. Accepted: only A-Z a-z 0-9 + /, a length that is a multiple of 4, '=' only as
// one or two final padding characters, and zero bits in the unused low bits of the last group
// (so every byte string has exactly one accepted encoding). Rejected: whitespace, line breaks,
// the URL-safe alphabet, missing padding, "===", '=' anywhere else. The empty string decodes to
// no bytes.
//
// Clears `out` and reuses its capacity. Returns false on bad input, leaving `out` empty.
bool base64_decode(std::string_view text, std::vector<std::uint8_t>& out);

// As above, allocating; std::nullopt on bad input.
std::optional<std::vector<std::uint8_t>> base64_decode(std::string_view text);

}  // namespace voxgate::util
