// A caller's script for `voxgate sim --script FILE.toml`: what the simulated caller does, in
// order. Each [[step]] has exactly one action:
//
//   [[step]]
//   say = "What are your opening hours?"   # spoken with the configured TTS
//   # or: audio = "question.wav"           # any WAV (converted to 8 kHz mu-law)
//   while_talking_after_ms = 800            # optional: speak over the agent's reply, this
//                                           # long after it started (barge-in)
//   [[step]]
//   wait_for_reply = true                   # until the agent has spoken and finished
//   timeout_ms = 10000                      # optional, default 10000
//   [[step]]
//   pause_ms = 1500                         # silence
//   [[step]]
//   dtmf = "3"                              # one key: 0-9, *, #
//   [[step]]
//   hangup = true                           # stop + close, like a caller hanging up
//
// Relative audio paths are taken from the script's folder. Unknown keys, a step with no
// action or two, and out-of-range values are errors that name the step.
#pragma once

#include <string>
#include <vector>

#include "util/result.hpp"

namespace voxgate::sim {

struct ScriptStep {
  enum class Kind { kSay, kWaitForReply, kPause, kDtmf, kHangup };
  Kind kind = Kind::kPause;
  std::string text;        // kSay with TTS
  std::string audio_path;  // kSay with a file
  int while_talking_after_ms = -1;  // kSay: barge-in delay; -1 = speak when it is our turn
  int ms = 0;              // kPause length, kWaitForReply timeout
  std::string digit;       // kDtmf
};

util::Result<std::vector<ScriptStep>> parse_script(std::string_view toml_text,
                                                   const std::string& base_dir);
util::Result<std::vector<ScriptStep>> load_script(const std::string& path);

// The script used without --script: say the --say text or --audio file, wait for the
// answer, hang up.
std::vector<ScriptStep> default_script(std::string text, std::string audio_path);

}  // namespace voxgate::sim
