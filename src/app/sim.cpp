#include "app/sim.hpp"

#include <spdlog/spdlog.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iterator>

#include "app/engines.hpp"
#include "app/offline.hpp"
#include "app/settings.hpp"
#include "audio/wav.hpp"
#include "sim/load.hpp"
#include "sim/report.hpp"
#include "sim/script.hpp"

namespace voxgate::app {

namespace {

// The caller's audio for a `say` step: a file converted to 8 kHz mu-law, or text spoken by
// the configured TTS engine (built once, on first use).
class Voice {
 public:
  explicit Voice(const std::optional<std::string>& config_path) : config_path_(config_path) {}

  util::Result<std::vector<std::uint8_t>> audio_of(const sim::ScriptStep& step) {
    if (!step.audio_path.empty()) {
      std::ifstream in(step.audio_path, std::ios::binary);
      if (!in) return util::Error{util::ErrorCode::kInvalidInput, step.audio_path + ": cannot read"};
      const std::vector<std::uint8_t> bytes{std::istreambuf_iterator<char>(in),
                                            std::istreambuf_iterator<char>()};
      const audio::DecodeResult decoded = audio::decode_audio(bytes);
      if (!decoded.audio) {
        return util::Error{util::ErrorCode::kInvalidInput, step.audio_path + ": " + decoded.message};
      }
      return audio::to_call_format(*decoded.audio);
    }
    if (!engines_) {
      try {
        engines_ = build_engines(load_settings(config_path_, process_environment(), {}));
      } catch (const std::exception& e) {
        return util::Error{util::ErrorCode::kUnavailable, e.what()};
      }
    }
    return speak_offline(*engines_->tts, step.text);
  }

 private:
  std::optional<std::string> config_path_;
  std::optional<Engines> engines_;
};

util::Result<std::vector<sim::Step>> steps_of(const std::vector<sim::ScriptStep>& script,
                                              Voice& voice) {
  std::vector<sim::Step> steps;
  for (const auto& step : script) {
    using Kind = sim::ScriptStep::Kind;
    switch (step.kind) {
      case Kind::kSay: {
        auto audio = voice.audio_of(step);
        if (!audio.ok()) return audio.error();
        if (step.while_talking_after_ms >= 0) {
          steps.emplace_back(sim::SayWhileTalking{
              .mulaw = std::move(*audio),
              .after = std::chrono::milliseconds(step.while_talking_after_ms)});
        } else {
          steps.emplace_back(sim::Say{std::move(*audio)});
        }
        break;
      }
      case Kind::kWaitForReply:
        steps.emplace_back(sim::WaitForReply{std::chrono::milliseconds(step.ms)});
        break;
      case Kind::kPause:
        steps.emplace_back(sim::Pause{std::chrono::milliseconds(step.ms)});
        break;
      case Kind::kDtmf:
        steps.emplace_back(sim::Dtmf{step.digit});
        break;
      case Kind::kHangup:
        steps.emplace_back(sim::Hangup{});
        break;
    }
  }
  return steps;
}

bool write_file(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary);
  out << text;
  return static_cast<bool>(out);
}

}  // namespace

int sim(const SimCommand& command) {
  spdlog::set_level(spdlog::level::warn);
  std::vector<sim::ScriptStep> script;
  if (!command.script_path.empty()) {
    auto loaded = sim::load_script(command.script_path);
    if (!loaded.ok()) {
      std::fprintf(stderr, "voxgate sim: %s\n", loaded.error().message.c_str());
      return 2;
    }
    script = std::move(*loaded);
  } else {
    script = sim::default_script(command.say_text, command.audio_path);
  }
  Voice voice(command.config_path);
  auto steps = steps_of(script, voice);
  if (!steps.ok()) {
    std::fprintf(stderr, "voxgate sim: %s\n", steps.error().message.c_str());
    return 2;
  }

  sim::LoadOptions options;
  options.call.url = command.url;
  while (!options.call.url.empty() && options.call.url.back() == '/') options.call.url.pop_back();
  if (command.auth_token) {
    options.call.auth_token = *command.auth_token;
  } else if (const char* token = std::getenv("TWILIO_AUTH_TOKEN"); token != nullptr) {
    options.call.auth_token = token;
  }
  options.call.public_url = command.public_url;
  options.call.script = std::move(*steps);
  options.call.deadline = std::chrono::seconds(command.call_deadline_s);
  options.calls = command.calls;
  options.concurrency = command.concurrency;
  options.ramp_per_s = command.ramp_per_s;
  options.duration = std::chrono::seconds(command.duration_s);
  options.threads = command.threads;
  const bool terminal = ::isatty(STDERR_FILENO) != 0;
  options.progress = [terminal](const sim::LoadProgress& p) {
    if (!terminal) return;
    std::fprintf(stderr, "\r%zu done, %zu active, %zu failed | turn latency p50 %.0f ms, p95 %.0f ms | %.0f s  ",
                 p.done, p.active, p.failed, p.turn_p50_ms, p.turn_p95_ms, p.elapsed_s);
  };

  const auto started = std::chrono::steady_clock::now();
  const std::vector<sim::CallResult> calls = sim::run_load(options);
  const double wall_s =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  if (terminal) std::fprintf(stderr, "\n");
  const sim::RunSummary summary = sim::summarize(calls, wall_s);
  std::fputs(sim::summary_table(summary).c_str(), stdout);

  int code = summary.failed == 0 ? 0 : 1;
  if (command.max_p95_ms && summary.turn_latency_ms.count > 0 &&
      summary.turn_latency_ms.p95 > *command.max_p95_ms) {
    std::printf("turn latency p95 %.0f ms is over the budget of %.0f ms\n",
                summary.turn_latency_ms.p95, *command.max_p95_ms);
    code = 1;
  }
  if (!command.json_path.empty() && !write_file(command.json_path, sim::to_json(summary, calls))) {
    std::fprintf(stderr, "voxgate sim: cannot write %s\n", command.json_path.c_str());
    return 2;
  }
  if (!command.report_path.empty() &&
      !write_file(command.report_path, sim::to_html(summary, calls, command.url))) {
    std::fprintf(stderr, "voxgate sim: cannot write %s\n", command.report_path.c_str());
    return 2;
  }
  return code;
}

}  // namespace voxgate::app
