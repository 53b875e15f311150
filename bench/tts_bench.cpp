// TTS benchmark through the TtsEngine interface, per engine and voice: time from
// synthesize() to the first sentence's audio on the caller's executor, total time to on_done,
// audio length and real-time factor, for engines.md §3's 10-word sentence and a 28-word,
// two-sentence reply. It measures what a call sees (worker queue, resampling to 8 kHz, mu-law
// and the post back), where engines.md §3 timed the bare library calls.
//
// A small program rather than Google Benchmark: the figures are latencies of one asynchronous
// job, read from callbacks. Usage: tts_bench [runs=20]; prints the median of the runs after
// one warm-up run.
#include <algorithm>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "tts/engine.hpp"
#include "tts/espeak/espeak_engine.hpp"
#include "tts/flite/flite_engine.hpp"

namespace {

namespace asio = boost::asio;
namespace tts = voxgate::tts;
using Clock = std::chrono::steady_clock;

constexpr double kCallRateHz = 8000;

struct Reply {
  const char* label;
  const char* text;
};

constexpr Reply kReplies[] = {
    {"10 words", "Thank you for calling, how can I help you today?"},
    {"28 words",
     "Your table for four is booked for Friday the twelfth at seven thirty in the evening. "
     "We will send you a text message to confirm it later today."},
};

struct Run {
  double first_ms = 0;  // synthesize() -> first on_audio
  double total_ms = 0;  // synthesize() -> on_done
  double audio_s = 0;   // of all sentences, at 8 kHz
  double synth_ms = 0;  // worker time: synthesis + resampling + mu-law, all sentences
  bool ok = false;
};

double ms_since(Clock::time_point start) {
  return std::chrono::duration<double, std::milli>(Clock::now() - start).count();
}

Run run_once(tts::TtsEngine& engine, const char* text) {
  asio::io_context io;
  auto guard = asio::make_work_guard(io);
  Run run;
  std::optional<double> first_ms;
  std::size_t n_samples = 0;
  const auto start = Clock::now();
  auto job = engine.synthesize(
      text, io.get_executor(),
      [&](tts::SentenceAudio audio) {
        if (!first_ms) first_ms = ms_since(start);
        n_samples += audio.mulaw.size();
        run.synth_ms += audio.synth_ms;
      },
      [&](voxgate::util::Result<tts::Done> done) {
        run.total_ms = ms_since(start);
        run.ok = done.ok();
        guard.reset();
      });
  io.run();
  run.first_ms = first_ms.value_or(0);
  run.audio_s = static_cast<double>(n_samples) / kCallRateHz;
  return run;
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.empty() ? 0 : v[v.size() / 2];
}

void bench(const std::string& label, tts::TtsEngine& engine, int runs) {
  for (const Reply& reply : kReplies) {
    run_once(engine, reply.text);  // warm-up
    std::vector<double> first;
    std::vector<double> total;
    std::vector<double> synth;
    double audio_s = 0;
    for (int i = 0; i < runs; ++i) {
      const Run run = run_once(engine, reply.text);
      if (!run.ok) {
        std::printf("%-12s %-9s synthesis failed\n", label.c_str(), reply.label);
        return;
      }
      first.push_back(run.first_ms);
      total.push_back(run.total_ms);
      synth.push_back(run.synth_ms);
      audio_s = run.audio_s;
    }
    const double total_ms = median(total);
    std::printf(
        "%-12s %-9s audio %5.2f s  first %7.2f ms  total %7.2f ms  worker %7.2f ms  RTF %.4f\n",
        label.c_str(), reply.label, audio_s, median(first), total_ms, median(synth),
        total_ms / 1000.0 / audio_s);
  }
}

}  // namespace

int main(int argc, char** argv) {
  const int runs = argc > 1 ? std::max(1, std::atoi(argv[1])) : 20;
  std::printf("median of %d runs after a warm-up; times seen by the caller's executor\n", runs);
  for (const char* voice : {"slt", "rms", "awb", "kal"}) {
    auto engine = tts::make_flite_engine({.voice = voice});
    if (!engine) {
      std::printf("flite/%s: %s\n", voice, engine.error().message.c_str());
      continue;
    }
    bench(std::string("flite/") + voice, **engine, runs);
  }
  const auto init_start = Clock::now();
  auto espeak = tts::make_espeak_engine({});
  const double init_ms = ms_since(init_start);
  if (!espeak) {
    std::printf("espeak: %s\n", espeak.error().message.c_str());
    return 1;
  }
  std::printf("espeak-ng init %.1f ms\n", init_ms);
  bench("espeak/en-us", **espeak, runs);
  return 0;
}
