// The one place that names concrete engine backends (HOUSE-STYLE.md: only app/ does):
// builds the VAD, STT, TTS and agent engines the settings ask for, once, at start.
#pragma once

#include <memory>

#include "agent/engine.hpp"
#include "app/settings.hpp"
#include "http/client.hpp"
#include "stt/engine.hpp"
#include "tts/cached_engine.hpp"
#include "tts/engine.hpp"
#include "vad/engine.hpp"

namespace voxgate::app {

struct Engines {
  // Outgoing HTTP for the network engines (and, later, Twilio's REST API); it may fetch only
  // the hosts of the URLs in the settings.
  std::shared_ptr<http::Client> http;
  std::unique_ptr<vad::VadEngine> vad;
  std::unique_ptr<stt::SttEngine> stt;
  std::unique_ptr<tts::TtsEngine> tts;
  tts::CachedTtsEngine* tts_cache = nullptr;  // `tts` itself when tts.cache_mb > 0
  std::unique_ptr<agent::AgentEngine> agent;
};

// Throws std::runtime_error naming the setting when an engine cannot be built: a backend
// that is not available in this build ("unavailable: …"), a missing model, a dialog file
// that does not load. Start-up only.
Engines build_engines(const Settings& settings);

}  // namespace voxgate::app
