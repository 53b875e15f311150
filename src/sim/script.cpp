#include "sim/script.hpp"

#include <toml++/toml.h>

#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

namespace voxgate::sim {

namespace {

util::Error bad(std::size_t step, const std::string& message) {
  return util::Error{util::ErrorCode::kInvalidInput,
                     "script step " + std::to_string(step + 1) + ": " + message};
}

}  // namespace

util::Result<std::vector<ScriptStep>> parse_script(std::string_view toml_text,
                                                   const std::string& base_dir) {
  toml::table root;
  try {
    root = toml::parse(toml_text);
  } catch (const toml::parse_error& e) {
    return util::Error{util::ErrorCode::kInvalidInput,
                       std::string("script: ") + std::string(e.description())};
  }
  for (const auto& [key, value] : root) {
    if (key.str() != "step") {
      return util::Error{util::ErrorCode::kInvalidInput,
                         "script: unknown key '" + std::string(key.str()) + "' (steps are [[step]])"};
    }
  }
  const toml::array* steps = root["step"].as_array();
  if (steps == nullptr || steps->empty()) {
    return util::Error{util::ErrorCode::kInvalidInput, "script: no [[step]]"};
  }
  static const std::set<std::string> kKnown = {"say", "audio", "while_talking_after_ms",
                                               "wait_for_reply", "timeout_ms", "pause_ms",
                                               "dtmf", "hangup"};
  std::vector<ScriptStep> script;
  for (std::size_t i = 0; i < steps->size(); ++i) {
    const toml::table* table = steps->get(i)->as_table();
    if (table == nullptr) return bad(i, "not a table");
    for (const auto& [key, value] : *table) {
      if (!kKnown.contains(std::string(key.str()))) {
        return bad(i, "unknown key '" + std::string(key.str()) + "'");
      }
    }
    ScriptStep step;
    int actions = 0;
    if (auto say = (*table)["say"].value<std::string>()) {
      step.kind = ScriptStep::Kind::kSay;
      step.text = *say;
      ++actions;
    }
    if (auto audio = (*table)["audio"].value<std::string>()) {
      step.kind = ScriptStep::Kind::kSay;
      const std::filesystem::path path(*audio);
      step.audio_path = path.is_absolute() ? path.string() : (std::filesystem::path(base_dir) / path).string();
      ++actions;
    }
    if ((*table)["wait_for_reply"].value_or(false)) {
      step.kind = ScriptStep::Kind::kWaitForReply;
      step.ms = static_cast<int>((*table)["timeout_ms"].value_or<std::int64_t>(10000));
      if (step.ms < 100 || step.ms > 600000) return bad(i, "timeout_ms must be 100..600000");
      ++actions;
    }
    if (auto pause = (*table)["pause_ms"].value<std::int64_t>()) {
      step.kind = ScriptStep::Kind::kPause;
      if (*pause < 20 || *pause > 3600000) return bad(i, "pause_ms must be 20..3600000");
      step.ms = static_cast<int>(*pause);
      ++actions;
    }
    if (auto digit = (*table)["dtmf"].value<std::string>()) {
      step.kind = ScriptStep::Kind::kDtmf;
      if (digit->size() != 1 || std::string("0123456789*#").find((*digit)[0]) == std::string::npos) {
        return bad(i, "dtmf must be one of 0-9, * or #");
      }
      step.digit = *digit;
      ++actions;
    }
    if ((*table)["hangup"].value_or(false)) {
      step.kind = ScriptStep::Kind::kHangup;
      ++actions;
    }
    if (actions != 1) return bad(i, "needs exactly one of say, audio, wait_for_reply, pause_ms, dtmf, hangup");
    if (auto after = (*table)["while_talking_after_ms"].value<std::int64_t>()) {
      if (step.kind != ScriptStep::Kind::kSay) return bad(i, "while_talking_after_ms goes with say or audio");
      if (*after < 0 || *after > 60000) return bad(i, "while_talking_after_ms must be 0..60000");
      step.while_talking_after_ms = static_cast<int>(*after);
    }
    if (step.kind == ScriptStep::Kind::kSay && step.text.empty() && step.audio_path.empty()) {
      return bad(i, "say needs some text");
    }
    script.push_back(std::move(step));
  }
  return script;
}

util::Result<std::vector<ScriptStep>> load_script(const std::string& path) {
  std::ifstream in(path);
  if (!in) return util::Error{util::ErrorCode::kInvalidInput, path + ": cannot open"};
  std::stringstream text;
  text << in.rdbuf();
  auto script = parse_script(text.str(), std::filesystem::path(path).parent_path().string());
  if (!script.ok()) return util::Error{script.error().code, path + ": " + script.error().message};
  return script;
}

std::vector<ScriptStep> default_script(std::string text, std::string audio_path) {
  std::vector<ScriptStep> script;
  script.push_back({.kind = ScriptStep::Kind::kWaitForReply, .ms = 15000});  // the greeting
  script.push_back({.kind = ScriptStep::Kind::kSay, .text = std::move(text),
                    .audio_path = std::move(audio_path)});
  script.push_back({.kind = ScriptStep::Kind::kWaitForReply, .ms = 15000});
  script.push_back({.kind = ScriptStep::Kind::kHangup});
  return script;
}

}  // namespace voxgate::sim
