// Streaming sample-rate conversion of mono 16-bit PCM, on speexdsp.
//
// The call leg is 8 kHz; the recognizer wants 16 kHz and TTS voices speak at 8, 16 or 22.05 kHz
// (engines.md §2-3). engines.md §5 compared speexdsp and soxr: every option costs under 0.03 % of
// a core per call for 8k<->16k, so the choice is made on delay, and speexdsp at quality 5 adds
// 5 ms where soxr's default adds 30 ms. Quality 5 is the default here.
//
//   call audio  8 kHz ──Resampler(8000, 16000)──▶ 16 kHz  VAD, STT
//   TTS audio  16 kHz ──Resampler(16000, 8000)──▶  8 kHz  mu-law ─▶ Twilio
//
// Streaming contract:
// - Output is delayed by the filter: the first output_latency_samples() samples are the filter
//   filling up (near zero), and the last input_latency_samples() of input stay inside it until
//   more input or flush() pushes them out. Each call emits all the output its input allows.
// - Chunk-size independence: feeding the same input in chunks of any sizes gives bit-identical
//   output to one call with all of it.
// - Equal input and output rates pass samples through unchanged, with no delay.
//
// Thread safety: none. One Resampler per stream, used on that stream's strand.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

struct SpeexResamplerState_;

namespace voxgate::audio {

class Resampler {
 public:
  static constexpr int kMinRateHz = 1000;
  static constexpr int kMaxRateHz = 192000;
  static constexpr int kMinQuality = 0;   // 0.5 ms delay at 8 kHz, cheapest (engines.md §5)
  static constexpr int kMaxQuality = 10;  // 16 ms delay, 5-8x the CPU of quality 5
  static constexpr int kDefaultQuality = 5;

  // Throws std::invalid_argument for rates outside kMinRateHz..kMaxRateHz or a quality outside
  // kMinQuality..kMaxQuality: these come from our code and config, never from a caller's audio.
  // Throws std::bad_alloc if speexdsp cannot allocate its state.
  Resampler(int in_rate_hz, int out_rate_hz, int quality = kDefaultQuality);
  ~Resampler();

  // Moving transfers the stream state; a moved-from Resampler may only be destroyed or assigned.
  Resampler(Resampler&& other) noexcept;
  Resampler& operator=(Resampler&& other) noexcept;
  Resampler(const Resampler&) = delete;
  Resampler& operator=(const Resampler&) = delete;

  // Converts `in` and appends every output sample now available to `out` (about
  // in.size() * out_rate_hz / in_rate_hz of them; the fraction carries over to the next call).
  void process(std::span<const std::int16_t> in, std::vector<std::int16_t>& out);

  // Ends the stream: appends the output still held in the filter (as if input_latency_samples()
  // of silence followed), then resets. Use at the end of an utterance that must not lose its
  // last few milliseconds, e.g. TTS audio.
  void flush(std::vector<std::int16_t>& out);

  // Forgets the history, as for a new utterance; the next output starts with the filter delay
  // again.
  void reset();

  int in_rate_hz() const { return in_rate_hz_; }
  int out_rate_hz() const { return out_rate_hz_; }
  int quality() const { return quality_; }

  // The filter delay, in input samples and in output samples (0 when the rates are equal).
  int input_latency_samples() const;
  int output_latency_samples() const;

 private:
  SpeexResamplerState_* state_ = nullptr;  // null when the rates are equal, or moved from
  int in_rate_hz_ = 0;
  int out_rate_hz_ = 0;
  int quality_ = kDefaultQuality;
};

// Converts a whole buffer at once, time-aligned: the filter delay is skipped at the start and
// the tail flushed at the end, so output sample i is at the time of input sample
// i * in_rate_hz / out_rate_hz and there are about in.size() * out_rate_hz / in_rate_hz of them.
// For files and whole TTS utterances. Throws as the Resampler constructor does.
std::vector<std::int16_t> resample(std::span<const std::int16_t> in, int in_rate_hz,
                                   int out_rate_hz, int quality = Resampler::kDefaultQuality);

}  // namespace voxgate::audio
