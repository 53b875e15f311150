// The telephony audio format, in one place.
//
// Twilio Media Streams carry G.711 mu-law (PCMU), 8 kHz, mono, one byte per sample, base64
// encoded; by convention each `media` message holds 20 ms = 160 bytes (twilio-protocol.md §1.4,
// which also warns not to rely on exact sizes). The recognizer wants 16 kHz linear PCM
// (engines.md §2). Everything else in src/audio is expressed in these constants.
#pragma once

#include <cstddef>
#include <cstdint>

namespace voxgate::audio {

// Sample rate of the call leg (G.711 on Twilio Media Streams).
inline constexpr int kTelephonyRateHz = 8000;

// Duration of one Media Streams frame as Twilio sends them and as we send them back.
inline constexpr int kFrameMs = 20;

// Samples (= mu-law bytes) in one frame: 20 ms at 8 kHz.
inline constexpr std::size_t kFrameSamples = 160;
static_assert(kFrameSamples == static_cast<std::size_t>(kTelephonyRateHz / 1000 * kFrameMs));

// The mu-law code for digital silence; it decodes to 0 (0x7F, "negative zero", does too).
inline constexpr std::uint8_t kUlawSilence = 0xFF;

// Sample rate the recognizer and the VAD work at (engines.md §2: upsampled 8 kHz call audio).
inline constexpr int kSpeechRateHz = 16000;

// Samples in one 20 ms frame at kSpeechRateHz.
inline constexpr std::size_t kSpeechFrameSamples = 320;
static_assert(kSpeechFrameSamples == static_cast<std::size_t>(kSpeechRateHz / 1000 * kFrameMs));

}  // namespace voxgate::audio
