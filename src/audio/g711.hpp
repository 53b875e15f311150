// G.711 mu-law (PCMU), the codec of Twilio Media Streams, by table lookup.
//
// Decoding uses a 256-entry table, encoding a 16384-entry table indexed by (pcm >> 2) + 8192
// (the encoder only looks at the top 14 bits), as measured in engines.md §6: about 0.3 and
// 0.65 ns a sample. Both tables are built at compile time from the reference algorithm, the
// Sun/CCITT `ulaw2linear` / `linear2ulaw` (bias 0x84, 8 segments). Decoding is the one table
// every implementation shares; the encoder is the reference one, not sox's rounding variant
// (engines.md §6). Written here because no Debian library offers a plain buffer-to-buffer
// G.711 worth its weight: libsndfile and sox do it only inside their file readers, and
// libspandsp computes each sample with branches and brings a fax/modem library (and libtiff)
// along for two small tables.
//
// Contract: pure functions over caller-owned buffers, constant tables; safe from any thread.
// Samples are signed 16-bit linear PCM; the mu-law side is one byte a sample.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

namespace voxgate::audio {

// ITU-T G.711 mu-law code -> linear sample in -32124..32124. 0xFF and 0x7F both give 0.
std::int16_t ulaw_to_linear(std::uint8_t code);

// Linear sample -> mu-law code, exactly as the reference `linear2ulaw`: the sample is reduced to
// 14 bits by an arithmetic shift (rounding towards minus infinity, so -1..-4 give 0x7E, not the
// negative zero 0x7F), and large magnitudes saturate at the extreme codes (0x80 for +32124,
// 0x00 for -32124).
std::uint8_t linear_to_ulaw(std::int16_t sample);

// Decodes in.size() codes into the first in.size() elements of `out`.
// Precondition (asserted): out.size() >= in.size().
void decode_ulaw(std::span<const std::uint8_t> in, std::span<std::int16_t> out);

// Encodes in.size() samples into the first in.size() elements of `out`.
// Precondition (asserted): out.size() >= in.size().
void encode_ulaw(std::span<const std::int16_t> in, std::span<std::uint8_t> out);

// Appends the decoded samples to `out`.
void decode_ulaw(std::span<const std::uint8_t> in, std::vector<std::int16_t>& out);

// Appends the encoded codes to `out`.
void encode_ulaw(std::span<const std::int16_t> in, std::vector<std::uint8_t>& out);

}  // namespace voxgate::audio
