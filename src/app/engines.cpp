#include "app/engines.hpp"

#include <chrono>
#include <filesystem>
#include <stdexcept>
#include <vector>

#include "agent/echo/echo_agent.hpp"
#include "agent/openai/openai_agent.hpp"
#include "agent/scripted/scripted_agent.hpp"
#include "agent/webhook/webhook_agent.hpp"
#include "stt/openai/openai_stt.hpp"
#include "stt/pocketsphinx/pocketsphinx_engine.hpp"
#include "tts/espeak/espeak_engine.hpp"
#include "tts/cached_engine.hpp"
#include "tts/flite/flite_engine.hpp"
#include "tts/openai/openai_tts.hpp"
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

// The hosts outgoing requests may go to: Twilio's REST API and recording hosts, and those
// of the URLs the chosen engines use.
std::vector<std::string> allowed_hosts(const Settings& settings) {
  std::vector<std::string> hosts = settings.twilio.recording_hosts;
  std::vector<std::string> urls = {settings.twilio.api_base_url};
  if (settings.stt.engine == "openai") urls.push_back(remote_base_url(settings.stt.base_url));
  if (settings.tts.engine == "openai") urls.push_back(remote_base_url(settings.tts.base_url));
  if (settings.agent.engine == "openai") urls.push_back(remote_base_url(settings.agent.base_url));
  if (settings.agent.engine == "webhook") urls.push_back(settings.agent.url);
  for (const std::string& url : urls) {
    std::string host = http::host_and_port_of(url);
    if (!host.empty()) hosts.push_back(std::move(host));
  }
  return hosts;
}

std::chrono::milliseconds seconds(int s) { return std::chrono::milliseconds(1000LL * s); }

}  // namespace

Engines build_engines(const Settings& settings) {
  Engines engines;
  engines.http = take(http::Client::create({.allowed_hosts = allowed_hosts(settings)}), "http");
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
    engines.stt = std::make_unique<stt::OpenAiSttEngine>(
        engines.http, stt::OpenAiSttOptions{.base_url = remote_base_url(settings.stt.base_url),
                                            .api_key = settings.stt.api_key,
                                            .model = settings.stt.model,
                                            .language = settings.stt.language,
                                            .timeout = seconds(settings.stt.timeout_s)});
  }

  const std::string& voice = settings.tts.voice;
  if (settings.tts.engine == "flite") {
    tts::FliteOptions options;
    if (!voice.empty()) options.voice = voice;
    engines.tts = take(tts::make_flite_engine(options), "tts.voice");
  } else if (settings.tts.engine == "espeak") {
    tts::EspeakOptions options;
    if (!voice.empty()) options.voice = voice;
    engines.tts = take(tts::make_espeak_engine(options), "tts.voice");
  } else {
    engines.tts = std::make_unique<tts::OpenAiTtsEngine>(
        engines.http, tts::OpenAiTtsOptions{.base_url = remote_base_url(settings.tts.base_url),
                                            .api_key = settings.tts.api_key,
                                            .model = settings.tts.model,
                                            .voice = voice.empty() ? "alloy" : voice,
                                            .timeout = seconds(settings.tts.timeout_s)});
  }
  if (settings.tts.cache_mb > 0) {
    auto cache = std::make_unique<tts::CachedTtsEngine>(
        std::move(engines.tts), static_cast<std::size_t>(settings.tts.cache_mb) << 20);
    engines.tts_cache = cache.get();
    engines.tts = std::move(cache);
  }

  if (settings.agent.engine == "scripted") {
    auto dialog = agent::load_dialog(resolve_data_path(settings.agent.script));
    if (!dialog.ok()) fail("agent.script", dialog.error().message);
    engines.agent = std::make_unique<agent::ScriptedAgentEngine>(std::move(*dialog));
  } else if (settings.agent.engine == "echo") {
    engines.agent = std::make_unique<agent::EchoAgentEngine>();
  } else if (settings.agent.engine == "webhook") {
    if (settings.agent.url.empty()) {
      fail("agent.url", "must be set when agent.engine is \"webhook\" (each turn is POSTed there)");
    }
    engines.agent = std::make_unique<agent::WebhookAgentEngine>(
        engines.http, agent::WebhookAgentOptions{.url = settings.agent.url,
                                                 .bearer_token = settings.agent.api_key,
                                                 .greeting = settings.call.greeting,
                                                 .timeout = seconds(settings.agent.timeout_s)});
  } else {
    engines.agent = std::make_unique<agent::OpenAiAgentEngine>(
        engines.http,
        agent::OpenAiAgentOptions{.base_url = remote_base_url(settings.agent.base_url),
                                  .api_key = settings.agent.api_key,
                                  .model = settings.agent.model,
                                  .system_prompt = settings.agent.system_prompt,
                                  .greeting = settings.call.greeting,
                                  .transfer_number = settings.agent.transfer_number,
                                  .timeout = seconds(settings.agent.timeout_s)});
  }
  return engines;
}

}  // namespace voxgate::app
