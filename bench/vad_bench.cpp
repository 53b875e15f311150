// VAD figures on the speech test set, in the terms of engines.md §4, for choosing the detector's
// settings: speech recall, false alarms, start error, end lag, gaps inside a turn, turns per
// utterance with the default endpointer, and CPU per audio second. Not Google Benchmark: like
// engines.md's ./vad_bench it prints a table.
//
//   vad_bench [SPEECH_SET_DIR]    (made by scripts/make-speech-testset; default: the build's)
//
// Each utterance (400 ms of digital silence each side) gets 1 s more of silence; the "noise"
// conditions add white Gaussian noise before detection (engines.md used pink noise at about
// -44 dBFS before the codec). Truth: 10 ms windows above -45 dBFS RMS of the clean signal.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <fstream>
#include <iterator>
#include <random>
#include <string>
#include <vector>

#include "audio/frames.hpp"
#include "audio/g711.hpp"
#include "vad/endpointer.hpp"
#include "vad/webrtc/webrtc_vad.hpp"
#include "speech_set.hpp"

namespace {

using namespace voxgate;  // NOLINT: a small program
using std::chrono::milliseconds;

constexpr std::size_t kFrame = audio::kFrameSamples;
constexpr int kFrameMs = audio::kFrameMs;
const double kSpeechRms = 32768.0 * std::pow(10.0, -45.0 / 20.0);

double rms(const std::int16_t* p, std::size_t n) {
  double sum = 0;
  for (std::size_t i = 0; i < n; ++i) sum += static_cast<double>(p[i]) * p[i];
  return std::sqrt(sum / static_cast<double>(n));
}

struct Utterance {
  std::string id;
  std::vector<std::int16_t> pcm;
  int begin_ms = -1;  // truth
  int end_ms = -1;
};

std::vector<Utterance> load(const std::string& dir) {
  std::vector<Utterance> set;
  for (auto& spoken : test_support::load_speech_set(dir)) {
    Utterance u;
    u.id = std::move(spoken.id);
    u.pcm = std::move(spoken.pcm_8k);
    for (std::size_t w = 0; (w + 1) * 80 <= u.pcm.size(); ++w) {
      if (rms(&u.pcm[w * 80], 80) >= kSpeechRms) {
        if (u.begin_ms < 0) u.begin_ms = static_cast<int>(w) * 10;
        u.end_ms = static_cast<int>(w) * 10 + 10;
      }
    }
    u.pcm.resize(u.pcm.size() + audio::kTelephonyRateHz, 0);
    set.push_back(std::move(u));
  }
  return set;
}

int percentile(std::vector<int> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  return v[static_cast<std::size_t>(p * static_cast<double>(v.size() - 1))];
}

void run(const std::vector<Utterance>& set, vad::Likelihood likelihood, double gate_db,
         double noise_dbfs, const char* label) {
  vad::WebRtcVadEngine engine({likelihood, gate_db});
  std::size_t speech = 0, hits = 0, pad = 0, alarms = 0, one_turn = 0;
  std::vector<int> start_err, end_lag, max_gap;
  double cpu_s = 0, audio_s = 0;
  std::mt19937 rng(1);
  for (const auto& u : set) {
    std::vector<std::int16_t> pcm = u.pcm;
    if (noise_dbfs > -90) {
      std::normal_distribution<double> gauss(0.0, 32768.0 * std::pow(10.0, noise_dbfs / 20.0));
      for (auto& x : pcm) {
        x = static_cast<std::int16_t>(std::clamp(x + gauss(rng), -32768.0, 32767.0));
      }
    }
    auto detector = engine.open();
    std::vector<bool> flags;
    const auto t0 = std::chrono::steady_clock::now();
    for (std::size_t f = 0; (f + 1) * kFrame <= pcm.size(); ++f) {
      flags.push_back(detector->is_speech(std::span(pcm).subspan(f * kFrame, kFrame)));
    }
    cpu_s += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    audio_s += static_cast<double>(pcm.size()) / audio::kTelephonyRateHz;

    vad::Endpointer ep;
    const auto base = std::chrono::steady_clock::time_point{};
    int turns = 0, start_ms = 0, last_ms = 0;
    for (std::size_t f = 0; f < flags.size(); ++f) {
      auto up = ep.push(flags[f], base + milliseconds(kFrameMs) * static_cast<std::int64_t>(f));
      if (up.event == vad::EndpointEvent::kEndOfUtterance) {
        ++turns;
        start_ms = static_cast<int>((up.speech_start - base) / milliseconds(1));
        last_ms = static_cast<int>((up.last_speech - base) / milliseconds(1)) + kFrameMs;
      }
    }
    if (turns == 1 && !ep.in_utterance()) {
      ++one_turn;
      start_err.push_back(start_ms - u.begin_ms);
      end_lag.push_back(last_ms - u.end_ms);
    }
    // Gaps inside the endpointed turn (an end-of-turn timeout must exceed them).
    int gap = 0, worst_gap = 0;
    for (std::size_t f = 0; f < flags.size(); ++f) {
      const int ms = static_cast<int>(f) * kFrameMs;
      if (ms + kFrameMs > u.begin_ms && ms < u.end_ms &&
          rms(&u.pcm[f * kFrame], kFrame) >= kSpeechRms) {
        ++speech;
        hits += flags[f];
      }
      if (ms >= 150 && ms + kFrameMs <= 350) {
        ++pad;
        alarms += flags[f];
      }
      if (turns == 1 && ms >= start_ms && ms < last_ms) {
        gap = flags[f] ? 0 : gap + kFrameMs;
        worst_gap = std::max(worst_gap, gap);
      }
    }
    if (turns == 1) max_gap.push_back(worst_gap);
  }
  std::printf(
      "%-8s %-9s gate %2.0f dB | recall %5.1f %% | FA>150ms %4.1f %% | one turn %3zu/%zu | "
      "start err med/min/max %4d/%4d/%4d | end lag min/med/p90/max %4d/%4d/%4d/%4d | maxgap "
      "med/max "
      "%3d/%3d | %4.0f us/s\n",
      label,
      likelihood == vad::Likelihood::kVeryLow ? "kVeryLow"
      : likelihood == vad::Likelihood::kLow   ? "kLow"
                                              : "other",
      gate_db, 100.0 * static_cast<double>(hits) / static_cast<double>(speech),
      100.0 * static_cast<double>(alarms) / static_cast<double>(pad), one_turn, set.size(),
      percentile(start_err, 0.5), percentile(start_err, 0), percentile(start_err, 1),
      percentile(end_lag, 0), percentile(end_lag, 0.5), percentile(end_lag, 0.9),
      percentile(end_lag, 1), percentile(max_gap, 0.5), percentile(max_gap, 1),
      1e6 * cpu_s / audio_s);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc > 2) {
    std::fprintf(stderr, "usage: vad_bench [SPEECH_SET_DIR]\n");
    return 2;
  }
  const std::string dir = argc == 2 ? argv[1] : VOXGATE_DEFAULT_SPEECH_SET_DIR;
  const auto set = load(dir);
  if (set.empty()) {
    std::fprintf(stderr, "vad_bench: no utterances in %s\n", dir.c_str());
    return 2;
  }
  struct Condition {
    const char* label;
    double noise_dbfs;
  };
  for (Condition c :
       {Condition{"clean", -200}, Condition{"noise-50", -50}, Condition{"noise-44", -44}}) {
    for (double gate_db : {0.0, 6.0}) {
      run(set, vad::Likelihood::kVeryLow, gate_db, c.noise_dbfs, c.label);
    }
    for (double gate_db : {0.0, 3.0, 6.0, 9.0}) {
      run(set, vad::Likelihood::kLow, gate_db, c.noise_dbfs, c.label);
    }
  }
  return 0;
}
