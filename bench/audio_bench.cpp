// The CPU cost of one 20 ms Media Streams frame through the audio path, step by step and whole
// (the JSON around the payload is benchmarked with the twilio module):
//   inbound:  base64 decode (216 chars) -> mu-law decode (160) -> resample 8k -> 16k (320)
//   outbound: resample 16k -> 8k (320 -> 160) -> mu-law encode (160) -> base64 encode (216)
// Each benchmark handles one frame per iteration, streaming through 1 s of a speech-like
// signal, with buffers and resampler state kept across frames as a call keeps them.
// "calls_per_core" is how many calls one core could carry at 50 frames a second for that step.
#include <benchmark/benchmark.h>

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <numbers>
#include <span>
#include <string>
#include <vector>

#include "audio/frames.hpp"
#include "audio/g711.hpp"
#include "audio/resampler.hpp"
#include "twilio/media_stream.hpp"
#include "util/base64.hpp"

namespace {

using namespace voxgate;

constexpr std::size_t kFramesPerSecond = 1000 / audio::kFrameMs;

// A few harmonics with a slow amplitude envelope: speech-like level changes, full-band content.
std::vector<std::int16_t> speech_like(int rate_hz, std::size_t n_samples) {
  std::vector<std::int16_t> out(n_samples);
  for (std::size_t i = 0; i < n_samples; ++i) {
    const double t = static_cast<double>(i) / rate_hz;
    const double envelope = 0.55 + 0.45 * std::sin(2 * std::numbers::pi * 3 * t);
    double x = 0;
    for (int h = 1; h <= 8; ++h) x += std::sin(2 * std::numbers::pi * 180 * h * t + h) / h;
    out[i] = static_cast<std::int16_t>(std::lround(6000 * envelope * x));
  }
  return out;
}

// 1 s of call audio as Twilio would send it: 50 base64 payloads of 160 mu-law bytes.
struct InboundFixture {
  std::vector<std::vector<std::uint8_t>> mulaw_frames;
  std::vector<std::vector<std::int16_t>> pcm_8k_frames;
  std::vector<std::string> payloads;

  InboundFixture() {
    const std::vector<std::int16_t> pcm =
        speech_like(audio::kTelephonyRateHz, kFramesPerSecond * audio::kFrameSamples);
    for (std::size_t f = 0; f < kFramesPerSecond; ++f) {
      const auto frame = std::span<const std::int16_t>(pcm).subspan(f * audio::kFrameSamples,
                                                                    audio::kFrameSamples);
      std::vector<std::uint8_t> mulaw;
      audio::encode_ulaw(frame, mulaw);
      payloads.push_back(util::base64_encode(mulaw));
      mulaw_frames.push_back(std::move(mulaw));
      pcm_8k_frames.emplace_back(frame.begin(), frame.end());
    }
  }
};

// 1 s of 16 kHz audio (TTS output) in 20 ms frames.
struct OutboundFixture {
  std::vector<std::vector<std::int16_t>> pcm_16k_frames;

  OutboundFixture() {
    const std::vector<std::int16_t> pcm =
        speech_like(audio::kSpeechRateHz, kFramesPerSecond * audio::kSpeechFrameSamples);
    for (std::size_t f = 0; f < kFramesPerSecond; ++f) {
      pcm_16k_frames.emplace_back(
          pcm.begin() + static_cast<std::ptrdiff_t>(f * audio::kSpeechFrameSamples),
          pcm.begin() + static_cast<std::ptrdiff_t>((f + 1) * audio::kSpeechFrameSamples));
    }
  }
};

const InboundFixture& inbound() {
  static const InboundFixture fixture;
  return fixture;
}

const OutboundFixture& outbound() {
  static const OutboundFixture fixture;
  return fixture;
}

void report(benchmark::State& state) {
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()));
  state.counters["calls_per_core"] = benchmark::Counter(
      static_cast<double>(state.iterations()) / kFramesPerSecond, benchmark::Counter::kIsRate);
}

// --- inbound, step by step ---

void BM_InBase64Decode(benchmark::State& state) {
  const auto& fixture = inbound();
  std::vector<std::uint8_t> mulaw;
  std::size_t f = 0;
  for (auto _ : state) {
    const bool ok = util::base64_decode(fixture.payloads[f], mulaw);
    benchmark::DoNotOptimize(ok);
    benchmark::DoNotOptimize(mulaw.data());
    f = (f + 1) % kFramesPerSecond;
  }
  report(state);
}
BENCHMARK(BM_InBase64Decode);

void BM_InUlawDecode(benchmark::State& state) {
  const auto& fixture = inbound();
  std::vector<std::int16_t> pcm(audio::kFrameSamples);
  std::size_t f = 0;
  for (auto _ : state) {
    audio::decode_ulaw(fixture.mulaw_frames[f], std::span<std::int16_t>(pcm));
    benchmark::DoNotOptimize(pcm.data());
    benchmark::ClobberMemory();
    f = (f + 1) % kFramesPerSecond;
  }
  report(state);
}
BENCHMARK(BM_InUlawDecode);

void BM_InResample8kTo16k(benchmark::State& state) {
  const auto& fixture = inbound();
  audio::Resampler resampler(audio::kTelephonyRateHz, audio::kSpeechRateHz,
                             static_cast<int>(state.range(0)));
  std::vector<std::int16_t> pcm_16k;
  pcm_16k.reserve(2 * audio::kSpeechFrameSamples);
  std::size_t f = 0;
  for (auto _ : state) {
    pcm_16k.clear();
    resampler.process(fixture.pcm_8k_frames[f], pcm_16k);
    benchmark::DoNotOptimize(pcm_16k.data());
    f = (f + 1) % kFramesPerSecond;
  }
  report(state);
}
BENCHMARK(BM_InResample8kTo16k)->ArgName("quality")->Arg(5)->Arg(3)->Arg(0);

// --- inbound, whole ---

void BM_InboundFrame(benchmark::State& state) {
  const auto& fixture = inbound();
  audio::Resampler resampler(audio::kTelephonyRateHz, audio::kSpeechRateHz);
  std::vector<std::uint8_t> mulaw;
  std::vector<std::int16_t> pcm_8k(audio::kFrameSamples);
  std::vector<std::int16_t> pcm_16k;
  pcm_16k.reserve(2 * audio::kSpeechFrameSamples);
  std::size_t f = 0;
  for (auto _ : state) {
    if (!util::base64_decode(fixture.payloads[f], mulaw)) state.SkipWithError("bad payload");
    pcm_8k.resize(mulaw.size());
    audio::decode_ulaw(mulaw, std::span<std::int16_t>(pcm_8k));
    pcm_16k.clear();
    resampler.process(pcm_8k, pcm_16k);
    benchmark::DoNotOptimize(pcm_16k.data());
    f = (f + 1) % kFramesPerSecond;
  }
  report(state);
}
BENCHMARK(BM_InboundFrame);

// The whole inbound path as a call runs it: the Media Streams JSON text of one frame
// parsed, its payload base64-decoded, mu-law decoded, and resampled for the recognizer.
void BM_InboundMessage(benchmark::State& state) {
  const auto& fixture = inbound();
  std::vector<std::string> messages;
  for (std::size_t f = 0; f < kFramesPerSecond; ++f) {
    messages.push_back(
        R"({"event":"media","sequenceNumber":")" + std::to_string(f + 2) +
        R"(","media":{"track":"inbound","chunk":")" + std::to_string(f + 1) +
        R"(","timestamp":")" + std::to_string(20 * f) + R"(","payload":")" +
        fixture.payloads[f] + R"("},"streamSid":"MZ18ad3ab5a668481ce02b83e7395059f0"})");
  }
  twilio::InboundParser parser;
  audio::Resampler resampler(audio::kTelephonyRateHz, audio::kSpeechRateHz,
                             static_cast<int>(state.range(0)));
  std::vector<std::uint8_t> mulaw;
  std::vector<std::int16_t> pcm_8k(audio::kFrameSamples);
  std::vector<std::int16_t> pcm_16k;
  pcm_16k.reserve(2 * audio::kSpeechFrameSamples);
  std::size_t f = 0;
  for (auto _ : state) {
    const twilio::ParseResult parsed = parser.parse(messages[f]);
    const auto* media = std::get_if<twilio::MediaMessage>(&*parsed.message);
    if (media == nullptr || !util::base64_decode(media->payload, mulaw)) {
      state.SkipWithError("bad message");
    }
    pcm_8k.resize(mulaw.size());
    audio::decode_ulaw(mulaw, std::span<std::int16_t>(pcm_8k));
    pcm_16k.clear();
    resampler.process(pcm_8k, pcm_16k);
    benchmark::DoNotOptimize(pcm_16k.data());
    f = (f + 1) % kFramesPerSecond;
  }
  report(state);
}
BENCHMARK(BM_InboundMessage)->ArgName("quality")->Arg(5)->Arg(3);

// --- outbound, step by step ---

void BM_OutResample16kTo8k(benchmark::State& state) {
  const auto& fixture = outbound();
  audio::Resampler resampler(audio::kSpeechRateHz, audio::kTelephonyRateHz,
                             static_cast<int>(state.range(0)));
  std::vector<std::int16_t> pcm_8k;
  pcm_8k.reserve(2 * audio::kFrameSamples);
  std::size_t f = 0;
  for (auto _ : state) {
    pcm_8k.clear();
    resampler.process(fixture.pcm_16k_frames[f], pcm_8k);
    benchmark::DoNotOptimize(pcm_8k.data());
    f = (f + 1) % kFramesPerSecond;
  }
  report(state);
}
BENCHMARK(BM_OutResample16kTo8k)->ArgName("quality")->Arg(5)->Arg(3)->Arg(0);

void BM_OutUlawEncode(benchmark::State& state) {
  const auto& fixture = inbound();
  std::vector<std::uint8_t> mulaw(audio::kFrameSamples);
  std::size_t f = 0;
  for (auto _ : state) {
    audio::encode_ulaw(fixture.pcm_8k_frames[f], std::span<std::uint8_t>(mulaw));
    benchmark::DoNotOptimize(mulaw.data());
    benchmark::ClobberMemory();
    f = (f + 1) % kFramesPerSecond;
  }
  report(state);
}
BENCHMARK(BM_OutUlawEncode);

void BM_OutBase64Encode(benchmark::State& state) {
  const auto& fixture = inbound();
  std::string payload;
  payload.reserve(util::base64_encoded_size(audio::kFrameSamples));
  std::size_t f = 0;
  for (auto _ : state) {
    util::base64_encode(fixture.mulaw_frames[f], payload);
    benchmark::DoNotOptimize(payload.data());
    f = (f + 1) % kFramesPerSecond;
  }
  report(state);
}
BENCHMARK(BM_OutBase64Encode);

// --- outbound, whole ---

void BM_OutboundFrame(benchmark::State& state) {
  const auto& fixture = outbound();
  audio::Resampler resampler(audio::kSpeechRateHz, audio::kTelephonyRateHz);
  std::vector<std::int16_t> pcm_8k;
  pcm_8k.reserve(2 * audio::kFrameSamples);
  std::vector<std::uint8_t> mulaw(2 * audio::kFrameSamples);
  std::string payload;
  payload.reserve(util::base64_encoded_size(2 * audio::kFrameSamples));
  std::size_t f = 0;
  for (auto _ : state) {
    pcm_8k.clear();
    resampler.process(fixture.pcm_16k_frames[f], pcm_8k);
    const auto codes = std::span<std::uint8_t>(mulaw).first(pcm_8k.size());
    audio::encode_ulaw(pcm_8k, codes);
    util::base64_encode(codes, payload);
    benchmark::DoNotOptimize(payload.data());
    f = (f + 1) % kFramesPerSecond;
  }
  report(state);
}
BENCHMARK(BM_OutboundFrame);

// The whole outbound path: 16 kHz synthesized speech resampled to 8 kHz, mu-law encoded,
// and wrapped in a Media Streams `media` message.
void BM_OutboundMessage(benchmark::State& state) {
  const auto& fixture = outbound();
  audio::Resampler resampler(audio::kSpeechRateHz, audio::kTelephonyRateHz,
                             static_cast<int>(state.range(0)));
  std::vector<std::int16_t> pcm_8k;
  pcm_8k.reserve(2 * audio::kFrameSamples);
  std::vector<std::uint8_t> mulaw(2 * audio::kFrameSamples);
  std::size_t f = 0;
  for (auto _ : state) {
    pcm_8k.clear();
    resampler.process(fixture.pcm_16k_frames[f], pcm_8k);
    const auto codes = std::span<std::uint8_t>(mulaw).first(pcm_8k.size());
    audio::encode_ulaw(pcm_8k, codes);
    std::string message = twilio::media_message("MZ18ad3ab5a668481ce02b83e7395059f0", codes);
    benchmark::DoNotOptimize(message.data());
    f = (f + 1) % kFramesPerSecond;
  }
  report(state);
}
BENCHMARK(BM_OutboundMessage)->ArgName("quality")->Arg(5)->Arg(3);

// TTS voices that speak at 22.05 kHz (espeak-ng) go to the call directly: 441 samples a frame.
void BM_OutResample22kTo8k(benchmark::State& state) {
  const std::vector<std::int16_t> pcm = speech_like(22050, 22050);
  audio::Resampler resampler(22050, audio::kTelephonyRateHz);
  std::vector<std::int16_t> pcm_8k;
  pcm_8k.reserve(2 * audio::kFrameSamples);
  std::size_t f = 0;
  for (auto _ : state) {
    pcm_8k.clear();
    resampler.process(std::span<const std::int16_t>(pcm).subspan(f * 441, 441), pcm_8k);
    benchmark::DoNotOptimize(pcm_8k.data());
    f = (f + 1) % kFramesPerSecond;
  }
  report(state);
}
BENCHMARK(BM_OutResample22kTo8k);

}  // namespace
