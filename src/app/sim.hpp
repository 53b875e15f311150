// `voxgate sim`: a Twilio stand-in that places calls against a voxgate server (or any
// server speaking the same webhooks and Media Streams), plays a caller's script, and
// measures what a caller would notice (DESIGN.md §4). Exit status: 0 when every call went
// as scripted and the turn-latency p95 is within --max-p95-ms, 1 otherwise, 2 for a usage
// or configuration error.
#pragma once

#include <cstddef>
#include <optional>
#include <string>

namespace voxgate::app {

struct SimCommand {
  std::string url = "http://127.0.0.1:5001";
  std::optional<std::string> auth_token;  // else TWILIO_AUTH_TOKEN; none: unsigned
  std::string public_url;                 // the URL the server signs against, if not `url`
  std::optional<std::string> config_path; // the TTS engine for `say` steps
  std::string say_text = "What are your opening hours?";
  std::string audio_path;
  std::string script_path;
  std::size_t calls = 1;
  std::size_t concurrency = 1;
  double ramp_per_s = 0;
  int duration_s = 0;
  unsigned threads = 1;
  int call_deadline_s = 120;
  std::string json_path;
  std::string report_path;
  std::optional<double> max_p95_ms;
  std::string mode = "streaming";          // | recording
  std::optional<std::string> account_sid;  // else TWILIO_ACCOUNT_SID; none: random per call
  std::string recordings_listen = "127.0.0.1:0";  // where recordings are served from
  std::string record_dir;                  // each call's two sides as a stereo WAV
  bool transcribe = false;                 // run the agent's replies through STT
};

int sim(const SimCommand& command);

}  // namespace voxgate::app
