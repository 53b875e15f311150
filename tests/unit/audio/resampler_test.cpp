// Tests for the streaming resampler: chunk-size independence, what a round trip does to a tone,
// output lengths, reset, flush, and the whole-buffer resample().
#include "audio/resampler.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <numbers>
#include <random>
#include <span>
#include <stdexcept>
#include <utility>
#include <vector>

#include "audio/frames.hpp"

namespace voxgate::audio {
namespace {

std::vector<std::int16_t> sine(double frequency_hz, int rate_hz, std::size_t n_samples,
                               double amplitude) {
  std::vector<std::int16_t> out(n_samples);
  for (std::size_t i = 0; i < n_samples; ++i) {
    out[i] = static_cast<std::int16_t>(
        std::lround(amplitude * std::sin(2 * std::numbers::pi * frequency_hz *
                                         static_cast<double>(i) / rate_hz)));
  }
  return out;
}

// A signal with content at every frequency, so every filter tap matters.
std::vector<std::int16_t> noise(std::size_t n_samples, unsigned seed) {
  std::mt19937 rng(seed);
  std::uniform_int_distribution<int> sample(-20000, 20000);
  std::vector<std::int16_t> out(n_samples);
  for (auto& s : out) s = static_cast<std::int16_t>(sample(rng));
  return out;
}

std::vector<std::int16_t> run_in_chunks(Resampler& resampler, std::span<const std::int16_t> in,
                                        const std::vector<std::size_t>& chunk_sizes) {
  std::vector<std::int16_t> out;
  std::size_t i = 0;
  for (std::size_t k = 0; i < in.size(); ++k) {
    const std::size_t n = std::min(chunk_sizes[k % chunk_sizes.size()], in.size() - i);
    resampler.process(in.subspan(i, n), out);
    i += n;
  }
  return out;
}

int zero_crossings(std::span<const std::int16_t> samples) {
  int n = 0;
  for (std::size_t i = 1; i < samples.size(); ++i) {
    if ((samples[i - 1] < 0) != (samples[i] < 0)) ++n;
  }
  return n;
}

double rms(std::span<const std::int16_t> samples) {
  double sum = 0;
  for (const std::int16_t s : samples) sum += static_cast<double>(s) * s;
  return std::sqrt(sum / static_cast<double>(samples.size()));
}

TEST(Resampler, RejectsBadArguments) {
  EXPECT_THROW(Resampler(999, 16000), std::invalid_argument);
  EXPECT_THROW(Resampler(8000, 192001), std::invalid_argument);
  EXPECT_THROW(Resampler(0, 8000), std::invalid_argument);
  EXPECT_THROW(Resampler(-8000, 8000), std::invalid_argument);
  EXPECT_THROW(Resampler(8000, 16000, -1), std::invalid_argument);
  EXPECT_THROW(Resampler(8000, 16000, 11), std::invalid_argument);
  EXPECT_NO_THROW(Resampler(1000, 192000, 0));
  EXPECT_NO_THROW(Resampler(192000, 1000, 10));
}

TEST(Resampler, ReportsItsRates) {
  const Resampler resampler(kTelephonyRateHz, kSpeechRateHz);
  EXPECT_EQ(resampler.in_rate_hz(), 8000);
  EXPECT_EQ(resampler.out_rate_hz(), 16000);
  EXPECT_EQ(resampler.quality(), Resampler::kDefaultQuality);
  // engines.md §5: quality 5 delays by 5 ms.
  EXPECT_EQ(resampler.input_latency_samples(), 40);
  EXPECT_EQ(resampler.output_latency_samples(), 80);
}

TEST(Resampler, OutputDoesNotDependOnChunkSizes) {
  const std::pair<int, int> rate_pairs[] = {
      {8000, 16000}, {16000, 8000}, {22050, 8000}, {8000, 22050}, {44100, 16000}};
  const std::vector<std::vector<std::size_t>> chunkings = {{1},   {7},    {160},
                                                           {161}, {1000}, {3, 500, 1, 1, 77, 320}};
  for (const auto& [in_rate_hz, out_rate_hz] : rate_pairs) {
    const std::vector<std::int16_t> in = noise(12345, static_cast<unsigned>(in_rate_hz));
    Resampler whole(in_rate_hz, out_rate_hz);
    std::vector<std::int16_t> expected;
    whole.process(in, expected);
    ASSERT_FALSE(expected.empty());

    for (const auto& chunk_sizes : chunkings) {
      Resampler chunked(in_rate_hz, out_rate_hz);
      EXPECT_EQ(run_in_chunks(chunked, in, chunk_sizes), expected)
          << in_rate_hz << " -> " << out_rate_hz << ", first chunk " << chunk_sizes[0];
    }
    std::mt19937 rng(7);
    std::uniform_int_distribution<std::size_t> size(0, 700);
    for (int trial = 0; trial < 5; ++trial) {
      std::vector<std::size_t> chunk_sizes(50);
      for (auto& n : chunk_sizes) n = size(rng);
      chunk_sizes.push_back(1);  // never all zero
      Resampler chunked(in_rate_hz, out_rate_hz);
      EXPECT_EQ(run_in_chunks(chunked, in, chunk_sizes), expected)
          << in_rate_hz << " -> " << out_rate_hz << ", random trial " << trial;
    }
  }
}

TEST(Resampler, OutputLengthFollowsTheRatio) {
  Resampler up(kTelephonyRateHz, kSpeechRateHz);
  Resampler down(kSpeechRateHz, kTelephonyRateHz);
  const std::vector<std::int16_t> frame_8k(kFrameSamples, 0);
  const std::vector<std::int16_t> frame_16k(kSpeechFrameSamples, 0);
  for (int i = 0; i < 50; ++i) {
    std::vector<std::int16_t> out;
    up.process(frame_8k, out);
    EXPECT_EQ(out.size(), kSpeechFrameSamples);  // a steady 320 per 160, from the first frame
    out.clear();
    down.process(frame_16k, out);
    EXPECT_EQ(out.size(), kFrameSamples);
  }

  // A ratio that is not whole: 1 s of 22.05 kHz gives 1 s of 8 kHz, within a sample.
  Resampler odd(22050, 8000);
  std::vector<std::int16_t> out;
  for (int i = 0; i < 50; ++i) odd.process(std::vector<std::int16_t>(441, 0), out);
  EXPECT_NEAR(static_cast<double>(out.size()), 8000.0, 1.0);
}

TEST(Resampler, SineRoundTripKeepsFrequencyAndAmplitude) {
  const int n_seconds = 2;
  const std::vector<std::int16_t> tone = sine(1000, kTelephonyRateHz, 8000 * n_seconds, 10000);
  Resampler up(kTelephonyRateHz, kSpeechRateHz);
  Resampler down(kSpeechRateHz, kTelephonyRateHz);
  std::vector<std::int16_t> wide;
  std::vector<std::int16_t> back;
  for (std::size_t i = 0; i < tone.size(); i += kFrameSamples) {
    const std::size_t n_before = wide.size();
    up.process(std::span<const std::int16_t>(tone).subspan(i, kFrameSamples), wide);
    down.process(std::span<const std::int16_t>(wide).subspan(n_before), back);
  }
  ASSERT_NEAR(static_cast<double>(wide.size()), 2.0 * tone.size(), 2);
  ASSERT_NEAR(static_cast<double>(back.size()), static_cast<double>(tone.size()), 2);

  // Skip the filters' start-up (well past both delays), then compare one steady second.
  const std::size_t skip_16k = 1600;
  const std::size_t skip_8k = 800;
  const auto wide_steady = std::span<const std::int16_t>(wide).subspan(skip_16k, 16000);
  const auto back_steady = std::span<const std::int16_t>(back).subspan(skip_8k, 8000);
  const auto tone_steady = std::span<const std::int16_t>(tone).subspan(skip_8k, 8000);

  // 1 kHz: 2000 zero crossings a second at any rate.
  EXPECT_NEAR(zero_crossings(wide_steady), 2000, 4);
  EXPECT_NEAR(zero_crossings(back_steady), 2000, 4);
  // Amplitude within 3 %.
  const double rms_in = rms(tone_steady);
  EXPECT_NEAR(rms(wide_steady) / rms_in, 1.0, 0.03);
  EXPECT_NEAR(rms(back_steady) / rms_in, 1.0, 0.03);
}

TEST(Resampler, ResetForgetsHistory) {
  const std::vector<std::int16_t> speech = noise(1600, 1);
  const std::vector<std::int16_t> next = noise(800, 2);

  Resampler fresh(kTelephonyRateHz, kSpeechRateHz);
  std::vector<std::int16_t> expected;
  fresh.process(next, expected);

  Resampler used(kTelephonyRateHz, kSpeechRateHz);
  std::vector<std::int16_t> ignored;
  used.process(speech, ignored);
  std::vector<std::int16_t> without_reset;
  used.process(next, without_reset);
  EXPECT_NE(without_reset, expected);  // the old samples are still in the filter

  used.process(speech, ignored);
  used.reset();
  std::vector<std::int16_t> after_reset;
  used.process(next, after_reset);
  EXPECT_EQ(after_reset, expected);
}

TEST(Resampler, FlushEmitsTheTailThenResets) {
  const std::vector<std::int16_t> in = noise(1600, 3);
  Resampler resampler(kSpeechRateHz, kTelephonyRateHz);
  std::vector<std::int16_t> out;
  resampler.process(in, out);
  EXPECT_EQ(out.size(), 800u);
  resampler.flush(out);
  // The input latency in output samples comes out, and it is not silence.
  EXPECT_EQ(out.size(), 800u + static_cast<std::size_t>(resampler.output_latency_samples()));
  EXPECT_TRUE(std::any_of(out.end() - 20, out.end(), [](std::int16_t s) { return s != 0; }));

  // After a flush the next utterance starts like a fresh one.
  Resampler fresh(kSpeechRateHz, kTelephonyRateHz);
  std::vector<std::int16_t> expected;
  fresh.process(in, expected);
  std::vector<std::int16_t> again;
  resampler.process(in, again);
  EXPECT_EQ(again, expected);
}

TEST(Resampler, EqualRatesPassThrough) {
  Resampler same(16000, 16000);
  const std::vector<std::int16_t> in = noise(500, 4);
  std::vector<std::int16_t> out;
  same.process(in, out);
  EXPECT_EQ(out, in);
  same.flush(out);
  EXPECT_EQ(out, in);
  EXPECT_EQ(same.input_latency_samples(), 0);
}

TEST(Resampler, MovesItsState) {
  const std::vector<std::int16_t> in = noise(640, 5);
  Resampler reference(kTelephonyRateHz, kSpeechRateHz);
  std::vector<std::int16_t> expected;
  reference.process(in, expected);

  Resampler first(kTelephonyRateHz, kSpeechRateHz);
  std::vector<std::int16_t> out;
  first.process(std::span<const std::int16_t>(in).first(320), out);
  Resampler second(std::move(first));
  Resampler third(44100, 8000);
  third = std::move(second);
  EXPECT_EQ(third.in_rate_hz(), kTelephonyRateHz);
  third.process(std::span<const std::int16_t>(in).subspan(320), out);
  EXPECT_EQ(out, expected);
}

TEST(Resampler, WholeBufferIsTimeAligned) {
  // 1 s at 16 kHz -> 8000 samples, not delayed: the tone's phase is kept.
  const std::vector<std::int16_t> tone_16k = sine(500, 16000, 16000, 12000);
  const std::vector<std::int16_t> out = resample(tone_16k, 16000, 8000);
  EXPECT_NEAR(static_cast<double>(out.size()), 8000.0, 1.0);
  const std::vector<std::int16_t> tone_8k = sine(500, 8000, 8000, 12000);
  double max_error = 0;
  for (std::size_t i = 100; i + 100 < std::min(out.size(), tone_8k.size()); ++i) {
    max_error = std::max(max_error, std::abs(static_cast<double>(out[i]) - tone_8k[i]));
  }
  EXPECT_LT(max_error, 12000 * 0.05);

  EXPECT_NEAR(static_cast<double>(resample(noise(22050, 6), 22050, 8000).size()), 8000.0, 1.0);
  EXPECT_TRUE(resample({}, 8000, 16000).empty());
  const std::vector<std::int16_t> same = noise(100, 7);
  EXPECT_EQ(resample(same, 8000, 8000), same);
  EXPECT_THROW(resample(same, 8000, 500), std::invalid_argument);
}

}  // namespace
}  // namespace voxgate::audio
