#include "app/sim.hpp"

#include <spdlog/spdlog.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>

#include "app/engines.hpp"
#include "app/offline.hpp"
#include "app/settings.hpp"
#include "audio/wav.hpp"
#include "audio/frames.hpp"
#include "audio/g711.hpp"
#include "sim/load.hpp"
#include "sim/recording_host.hpp"
#include "sim/report.hpp"
#include "sim/script.hpp"

namespace voxgate::app {

namespace {

// The engines of the config the sim runs with, built once on first use: TTS speaks `say`
// steps, STT transcribes the agent with --transcribe.
class OfflineEngines {
 public:
  explicit OfflineEngines(const std::optional<std::string>& config_path)
      : config_path_(config_path) {}

  util::Result<Engines*> get() {
    if (!engines_) {
      try {
        engines_ = build_engines(load_settings(config_path_, process_environment(), {}));
      } catch (const std::exception& e) {
        return util::Error{util::ErrorCode::kUnavailable, e.what()};
      }
    }
    return &*engines_;
  }

 private:
  std::optional<std::string> config_path_;
  std::optional<Engines> engines_;
};

// The caller's audio for a `say` step: a file converted to 8 kHz mu-law, or text spoken by
// the configured TTS engine.
class Voice {
 public:
  explicit Voice(OfflineEngines& engines) : engines_(engines) {}

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
    auto engines = engines_.get();
    if (!engines.ok()) return engines.error();
    return speak_offline(*(*engines)->tts, step.text);
  }

 private:
  OfflineEngines& engines_;
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

bool write_file(const std::string& path, std::string_view bytes) {
  std::ofstream out(path, std::ios::binary);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  return static_cast<bool>(out);
}

std::vector<std::int16_t> linear(std::span<const std::uint8_t> mulaw) {
  std::vector<std::int16_t> pcm;
  audio::decode_ulaw(mulaw, pcm);
  return pcm;
}

// {dir}/{CallSid}.wav: 8 kHz stereo, the caller left and the agent right, on one time line.
bool write_call_audio(const std::string& dir, const sim::CallResult& call) {
  const std::size_t n = std::max(call.caller_audio.size(), call.agent_audio.size());
  std::vector<std::int16_t> stereo(2 * n, 0);
  const auto caller = linear(call.caller_audio);
  const auto agent = linear(call.agent_audio);
  for (std::size_t i = 0; i < caller.size(); ++i) stereo[2 * i] = caller[i];
  for (std::size_t i = 0; i < agent.size(); ++i) stereo[2 * i + 1] = agent[i];
  const auto wav = audio::encode_wav_pcm16(stereo, audio::kTelephonyRateHz, 2);
  return write_file(dir + "/" + call.call_sid + ".wav",
                    std::string_view(reinterpret_cast<const char*>(wav.data()), wav.size()));
}

// What the agent said: each reply (reply_start .. reply_end on the time line) through STT.
util::Result<std::string> transcribe_agent(stt::SttEngine& stt, const sim::CallResult& call) {
  std::string text;
  double from_ms = -1;  // the open reply's start; not optional<double> (GCC 12 warns falsely)
  for (const auto& event : call.events) {
    if (event.kind == "reply_start") from_ms = event.at_ms;
    if (event.kind != "reply_end" || from_ms < 0) continue;
    const auto from = std::min(call.agent_audio.size(), static_cast<std::size_t>(from_ms * 8));
    const auto to = std::min(call.agent_audio.size(), static_cast<std::size_t>(event.at_ms * 8));
    from_ms = -1;
    if (to <= from) continue;
    const auto pcm = linear(std::span(call.agent_audio).subspan(from, to - from));
    auto heard = transcribe_offline(stt, pcm);
    if (!heard.ok()) return heard.error();
    if (!text.empty()) text += " | ";
    text += *heard;
  }
  return text;
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
  OfflineEngines engines(command.config_path);
  Voice voice(engines);
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
  if (command.account_sid) {
    options.call.account_sid = *command.account_sid;
  } else if (const char* sid = std::getenv("TWILIO_ACCOUNT_SID"); sid != nullptr) {
    options.call.account_sid = sid;
  }
  // Recordings are served in recording mode, and for streaming calls the server carries on
  // in recording mode when their stream fails (its fallback).
  std::optional<sim::RecordingHost> recordings;
  if (command.mode == "recording") options.call.mode = sim::CallMode::kRecording;
  {
    const auto colon = command.recordings_listen.rfind(':');
    try {
      if (colon == std::string::npos) throw std::invalid_argument("no port");
      recordings.emplace(command.recordings_listen.substr(0, colon),
                         static_cast<std::uint16_t>(
                             std::stoul(command.recordings_listen.substr(colon + 1))),
                         options.call.auth_token);
    } catch (const std::exception& e) {
      std::fprintf(stderr, "voxgate sim: --recordings-listen %s: %s\n",
                   command.recordings_listen.c_str(), e.what());
      return 2;
    }
    options.call.recordings = &*recordings;
    if (options.call.mode == sim::CallMode::kRecording) {
      std::fprintf(stderr, "voxgate sim: serving recordings at %s (the server's "
                   "twilio.recording_hosts must allow it)\n", recordings->base_url().c_str());
    }
  }
  options.call.keep_audio = !command.record_dir.empty() || command.transcribe;
  if (!command.record_dir.empty()) {
    std::error_code ec;
    std::filesystem::create_directories(command.record_dir, ec);
    if (ec) {
      std::fprintf(stderr, "voxgate sim: --record-dir %s: %s\n", command.record_dir.c_str(),
                   ec.message().c_str());
      return 2;
    }
  }
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
  std::vector<sim::CallResult> calls = sim::run_load(options);
  const double wall_s =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  if (terminal) std::fprintf(stderr, "\n");
  if (command.transcribe) {
    auto offline = engines.get();
    if (!offline.ok()) {
      std::fprintf(stderr, "voxgate sim: %s\n", offline.error().message.c_str());
      return 2;
    }
    for (auto& call : calls) {
      auto text = transcribe_agent(*(*offline)->stt, call);
      call.transcript = text.ok() ? *text : "(STT failed: " + text.error().message + ")";
      std::printf("%s agent: %s\n", call.call_sid.c_str(), call.transcript.c_str());
    }
  }
  for (const auto& call : calls) {
    if (!command.record_dir.empty() && !write_call_audio(command.record_dir, call)) {
      std::fprintf(stderr, "voxgate sim: cannot write into %s\n", command.record_dir.c_str());
      return 2;
    }
  }
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
