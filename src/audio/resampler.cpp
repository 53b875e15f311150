// Streaming resampler on speexdsp's fixed-ratio sinc resampler (see resampler.hpp).
#include "audio/resampler.hpp"

#include <speex/speex_resampler.h>

#include <algorithm>
#include <cassert>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <new>
#include <span>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

namespace voxgate::audio {
namespace {

// Input handed to speexdsp per call: keeps the output-room arithmetic far from overflow.
constexpr std::size_t kMaxChunkSamples = std::size_t{1} << 20;

void check_arguments(int in_rate_hz, int out_rate_hz, int quality) {
  const auto rate_ok = [](int rate_hz) {
    return rate_hz >= Resampler::kMinRateHz && rate_hz <= Resampler::kMaxRateHz;
  };
  if (!rate_ok(in_rate_hz) || !rate_ok(out_rate_hz)) {
    throw std::invalid_argument("Resampler: rates must be within 1000..192000 Hz, got " +
                                std::to_string(in_rate_hz) + " -> " + std::to_string(out_rate_hz));
  }
  if (quality < Resampler::kMinQuality || quality > Resampler::kMaxQuality) {
    throw std::invalid_argument("Resampler: quality must be within 0..10, got " +
                                std::to_string(quality));
  }
}

SpeexResamplerState* make_state(int in_rate_hz, int out_rate_hz, int quality) {
  int err = RESAMPLER_ERR_SUCCESS;
  SpeexResamplerState* state =
      speex_resampler_init(1, static_cast<spx_uint32_t>(in_rate_hz),
                           static_cast<spx_uint32_t>(out_rate_hz), quality, &err);
  if (state == nullptr || err != RESAMPLER_ERR_SUCCESS) {
    if (state != nullptr) speex_resampler_destroy(state);
    if (err == RESAMPLER_ERR_ALLOC_FAILED) throw std::bad_alloc();
    throw std::invalid_argument(std::string("Resampler: speexdsp: ") +
                                speex_resampler_strerror(err));
  }
  return state;
}

// Feeds all of `in` through `state`, appending the output. speexdsp stops early when the output
// room runs out, so this loops; with room for in * ratio + 2 samples one pass normally suffices.
void run(SpeexResamplerState* state, int in_rate_hz, int out_rate_hz,
         std::span<const std::int16_t> in, std::vector<std::int16_t>& out) {
  while (!in.empty()) {
    const std::size_t n_in_chunk = std::min(in.size(), kMaxChunkSamples);
    const std::size_t n_room =
        n_in_chunk * static_cast<std::size_t>(out_rate_hz) / static_cast<std::size_t>(in_rate_hz) +
        2;
    const std::size_t n_before = out.size();
    out.resize(n_before + n_room);
    auto n_in = static_cast<spx_uint32_t>(n_in_chunk);
    auto n_out = static_cast<spx_uint32_t>(n_room);
    speex_resampler_process_int(state, 0, in.data(), &n_in, out.data() + n_before, &n_out);
    out.resize(n_before + n_out);
    in = in.subspan(n_in);
    // Cannot happen with room > 0; guards against spinning forever if speexdsp ever refuses.
    if (n_in == 0 && n_out == 0) break;
  }
}

}  // namespace

Resampler::Resampler(int in_rate_hz, int out_rate_hz, int quality)
    : in_rate_hz_(in_rate_hz), out_rate_hz_(out_rate_hz), quality_(quality) {
  check_arguments(in_rate_hz, out_rate_hz, quality);
  if (in_rate_hz != out_rate_hz) state_ = make_state(in_rate_hz, out_rate_hz, quality);
}

Resampler::~Resampler() {
  if (state_ != nullptr) speex_resampler_destroy(state_);
}

Resampler::Resampler(Resampler&& other) noexcept
    : state_(std::exchange(other.state_, nullptr)),
      in_rate_hz_(other.in_rate_hz_),
      out_rate_hz_(other.out_rate_hz_),
      quality_(other.quality_) {}

Resampler& Resampler::operator=(Resampler&& other) noexcept {
  if (this != &other) {
    if (state_ != nullptr) speex_resampler_destroy(state_);
    state_ = std::exchange(other.state_, nullptr);
    in_rate_hz_ = other.in_rate_hz_;
    out_rate_hz_ = other.out_rate_hz_;
    quality_ = other.quality_;
  }
  return *this;
}

void Resampler::process(std::span<const std::int16_t> in, std::vector<std::int16_t>& out) {
  if (in_rate_hz_ == out_rate_hz_) {
    out.insert(out.end(), in.begin(), in.end());
    return;
  }
  assert(state_ != nullptr && "Resampler used after being moved from");
  run(state_, in_rate_hz_, out_rate_hz_, in, out);
}

void Resampler::flush(std::vector<std::int16_t>& out) {
  if (state_ == nullptr) return;
  const std::vector<std::int16_t> silence(static_cast<std::size_t>(input_latency_samples()), 0);
  run(state_, in_rate_hz_, out_rate_hz_, silence, out);
  reset();
}

void Resampler::reset() {
  if (state_ != nullptr) speex_resampler_reset_mem(state_);
}

int Resampler::input_latency_samples() const {
  return state_ == nullptr ? 0 : speex_resampler_get_input_latency(state_);
}

int Resampler::output_latency_samples() const {
  return state_ == nullptr ? 0 : speex_resampler_get_output_latency(state_);
}

std::vector<std::int16_t> resample(std::span<const std::int16_t> in, int in_rate_hz,
                                   int out_rate_hz, int quality) {
  check_arguments(in_rate_hz, out_rate_hz, quality);
  if (in_rate_hz == out_rate_hz) return {in.begin(), in.end()};

  const std::unique_ptr<SpeexResamplerState, decltype(&speex_resampler_destroy)> owner(
      make_state(in_rate_hz, out_rate_hz, quality), &speex_resampler_destroy);
  SpeexResamplerState* state = owner.get();
  std::vector<std::int16_t> out;
  out.reserve(
      in.size() * static_cast<std::size_t>(out_rate_hz) / static_cast<std::size_t>(in_rate_hz) + 2);
  // skip_zeros drops the filter's leading delay; the trailing silence pushes out the tail.
  speex_resampler_skip_zeros(state);
  run(state, in_rate_hz, out_rate_hz, in, out);
  const std::vector<std::int16_t> silence(
      static_cast<std::size_t>(speex_resampler_get_input_latency(state)), 0);
  run(state, in_rate_hz, out_rate_hz, silence, out);
  return out;
}

}  // namespace voxgate::audio
