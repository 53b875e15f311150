#include "app/engines.hpp"

#include <filesystem>
#include <stdexcept>

#include "agent/echo/echo_agent.hpp"
#include "agent/scripted/scripted_agent.hpp"
#include "stt/pocketsphinx/pocketsphinx_engine.hpp"
#include "tts/espeak/espeak_engine.hpp"
#include "tts/flite/flite_engine.hpp"
#include "vad/webrtc/webrtc_vad.hpp"

namespace voxgate::app {

namespace {

[[noreturn]] void fail(const std::string& key, const std::string& message) {
  throw std::runtime_error(key + ": " + message);
}

template <class T>
std::unique_ptr<T> take(util::Result<std::unique_ptr<T>> built, const std::string& key) {
  if (!built.ok()) fail(key, built.error().message);
  return std::move(*built);
}

// A relative data path (the default "config/front-desk.toml") is looked up in the working
// directory, then beside the executable's folder (build/voxgate -> config/), then in an
// installed share/voxgate, then in the source tree the binary was built from: so
// `make run`, the tests and an installed binary all find it.
std::string resolve_data_path(const std::string& path) {
  namespace fs = std::filesystem;
  if (path.empty() || fs::path(path).is_absolute() || fs::exists(path)) return path;
  std::error_code ec;
  const fs::path exe_dir = fs::canonical("/proc/self/exe", ec).parent_path();
  if (ec) return path;
  for (const fs::path& candidate :
       {exe_dir.parent_path() / path, exe_dir.parent_path() / "share" / "voxgate" / path,
        fs::path(VOXGATE_SOURCE_DIR) / path}) {
    if (fs::exists(candidate, ec)) return candidate.string();
  }
  return path;
}

// Backends the settings accept but this build does not have yet: a clear refusal at
// start, never a crash mid-call.
[[noreturn]] void not_built(const std::string& key, const std::string& engine) {
  fail(key, "\"" + engine + "\" is unavailable in this build of voxgate (not implemented yet); " +
                "use the embedded default");
}

}  // namespace

Engines build_engines(const Settings& settings) {
  Engines engines;
  engines.vad = take(vad::WebRtcVadEngine::create({}), "vad");

  if (settings.stt.engine == "pocketsphinx") {
    // Two workers for two cores, and decoders for four callers talking at once: the most
    // the full language model sustains on 2 cores (engines.md §2, concurrency); more
    // talkers wait for a decoder with their audio buffered.
    stt::PocketsphinxOptions options;
    options.worker_threads = 2;
    options.max_decoders = 4;
    engines.stt = take(stt::PocketsphinxEngine::create(options), "stt.engine");
  } else {
    not_built("stt.engine", settings.stt.engine);
  }

  if (settings.tts.engine == "flite") {
    engines.tts = take(tts::make_flite_engine({}), "tts.engine");
  } else if (settings.tts.engine == "espeak") {
    engines.tts = take(tts::make_espeak_engine({}), "tts.engine");
  } else {
    not_built("tts.engine", settings.tts.engine);
  }

  if (settings.agent.engine == "scripted") {
    auto dialog = agent::load_dialog(resolve_data_path(settings.agent.script));
    if (!dialog.ok()) fail("agent.script", dialog.error().message);
    engines.agent = std::make_unique<agent::ScriptedAgentEngine>(std::move(*dialog));
  } else if (settings.agent.engine == "echo") {
    engines.agent = std::make_unique<agent::EchoAgentEngine>();
  } else {
    not_built("agent.engine", settings.agent.engine);
  }
  return engines;
}

}  // namespace voxgate::app
