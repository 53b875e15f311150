// Audio files from outside (uploads, recordings, prompts) in, and WAV files out, in memory.
//
// Reading goes through libsndfile from memory (sf_open_virtual), so everything it reads is
// accepted: WAV with PCM 8/16/24/32-bit, float, mu-law or A-law, AU, AIFF, FLAC, Ogg/Opus, MP3
// (Debian's libsndfile 1.2 is built with all of these). The result is mono 16-bit PCM at the
// file's own rate; to_call_format() turns it into what a call plays.
//
// Raw headerless mu-law at 8 kHz (audio/x-mulaw, audio/basic bodies) is not a file and does not
// come through here: it is already in call format.
//
// Contract:
// - No exceptions for bad input: decode_audio returns an AudioError with a message.
// - No I/O (memory only), no logging. Safe to call from several threads at once: libsndfile
//   reports failures to open through one process-wide variable, so opening is serialized by a
//   mutex inside wav.cpp (a header parse, microseconds); decoding runs in parallel.
// - Cost: decoding is linear in the file; to_call_format() resamples with speexdsp quality 5,
//   about 1.5 ms of CPU per second of 22.05 kHz audio (engines.md §5). A 10-minute file at
//   44.1 kHz takes on the order of a second: not for an I/O thread.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace voxgate::audio {

enum class AudioError {
  kEmpty,         // no bytes, or a valid file holding no samples
  kUnrecognized,  // not an audio file libsndfile knows, or a malformed / truncated one
  kUnsupported,   // a known format we do not take: an encoding libsndfile cannot decode, more
                  // than 2 channels, or a rate outside 1000..192000 Hz
  kTooLong,       // longer than the caller's max_duration_s
};

// "empty", "unrecognized", "unsupported", "too_long": stable, for logs and JSON error bodies.
std::string_view to_string(AudioError error);

struct DecodedAudio {
  std::vector<std::int16_t> pcm;  // mono (stereo is averaged), 16-bit
  int rate_hz = 0;                // of pcm, i.e. of the source
  int channels = 0;               // of the source (1 or 2)
  double duration_s = 0;          // pcm.size() / rate_hz
};

// Exactly one of `audio` and `error` is set; `message` says why, for a log line or a 4xx
// body (libsndfile's own words where it has them), and is empty on success.
struct DecodeResult {
  std::optional<DecodedAudio> audio;
  std::optional<AudioError> error;
  std::string message;
};

inline constexpr double kDefaultMaxDurationS = 600;

// Decodes a whole audio file held in memory. Files longer than `max_duration_s` are refused
// (kTooLong) before their samples are read when the header gives the length, and as soon as
// the limit is passed otherwise: it bounds the memory an upload can make us use.
DecodeResult decode_audio(std::span<const std::uint8_t> bytes,
                          double max_duration_s = kDefaultMaxDurationS);

// 8 kHz mono mu-law bytes, resampled when audio.rate_hz is not 8000 (time-aligned, see
// resample() in resampler.hpp). Requires audio.rate_hz within 1000..192000, which every
// DecodedAudio from decode_audio has; an empty pcm gives no bytes.
std::vector<std::uint8_t> to_call_format(const DecodedAudio& audio);

// Writers, through libsndfile to memory: WAV files Twilio's <Play> accepts and that
// decode_audio reads back. Both return an empty vector if libsndfile refuses the parameters
// (a rate or channel count it cannot write).

// An 8 kHz mono mu-law WAV holding exactly these codes (written raw, not re-encoded).
std::vector<std::uint8_t> encode_wav_ulaw(std::span<const std::uint8_t> mulaw_8k);

// A 16-bit PCM WAV; `pcm` is interleaved when channels > 1 (a trailing partial frame is
// dropped).
std::vector<std::uint8_t> encode_wav_pcm16(std::span<const std::int16_t> pcm, int rate_hz,
                                           int channels = 1);

}  // namespace voxgate::audio
