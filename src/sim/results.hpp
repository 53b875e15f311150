// What `voxgate sim` measured: one record per simulated call, and the run as a whole. The
// call runner fills these in; the report turns them into a terminal summary, JSON and an
// HTML page. Times are in milliseconds from the moment the call was placed (the webhook
// POST) unless a name says otherwise.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace voxgate::sim {

// Something that happened on a call, for the per-call timeline.
struct CallEvent {
  double at_ms = 0;
  std::string kind;    // "webhook", "connected", "start", "speech_start", "speech_end",
                       // "reply_start", "reply_end", "clear", "mark_played", "mark_cleared",
                       // "dtmf", "stop", "closed", "redirect", "hangup", "error"
  std::string detail;  // e.g. a mark's name, a close reason, a digit
};

struct TurnMeasure {
  std::size_t index = 0;             // 0-based caller turn
  double speech_end_ms = 0;          // the caller's last speech frame was sent
  std::optional<double> latency_ms;  // speech end -> the first reply frame received
  std::optional<double> barge_in_ms; // speech start over a reply -> `clear` received
  std::optional<double> answer_ms;   // recording mode: the <Record> action POST -> its TwiML
};

struct FrameTiming {
  std::size_t frames = 0;        // outbound media frames received
  std::size_t underruns = 0;     // frames that arrived after they should have started playing
  double max_gap_ms = 0;         // the longest audible gap inside an utterance
  std::size_t bursts = 0;        // frames arriving more than 200 ms ahead of playout
};

struct CallResult {
  std::string call_sid;
  bool ok = false;          // the call went as scripted and ended cleanly
  std::string error;        // why not, when !ok
  std::string outcome;      // how it ended: "caller_hangup", "hangup", "transferred",
                            // "fallback", "ended" (TwiML ran out), or "" when it failed early
  bool fell_back = false;   // a streaming call the server carried on in recording mode
  std::optional<std::uint16_t> close_code;
  std::string close_reason;
  std::optional<double> time_to_greeting_ms;  // webhook POST -> first reply frame
  std::vector<TurnMeasure> turns;
  FrameTiming frames;
  std::size_t marks_played = 0;
  std::size_t marks_cleared = 0;
  std::size_t clears = 0;
  double duration_ms = 0;
  std::vector<CallEvent> events;
  std::string transcript;   // what the agent said, with --transcribe
  // With CallRunnerOptions::keep_audio: each side as 8 kHz mu-law on one time line from the
  // webhook POST (silence where that side was quiet; the agent's audio as played, cut at a
  // `clear`).
  std::vector<std::uint8_t> caller_audio, agent_audio;
};

struct Percentiles {
  std::size_t count = 0;
  double p50 = 0, p95 = 0, p99 = 0, max = 0;
};

struct RunSummary {
  std::size_t calls = 0, succeeded = 0, failed = 0;
  double wall_s = 0;
  Percentiles turn_latency_ms, time_to_greeting_ms, barge_in_ms, answer_ms;
  std::size_t underruns = 0, frames = 0;
  std::size_t fallbacks = 0;  // streaming calls carried on in recording mode
  std::vector<std::pair<std::string, std::size_t>> errors;  // message -> count
};

RunSummary summarize(const std::vector<CallResult>& calls, double wall_s);
Percentiles percentiles(std::vector<double> values);

}  // namespace voxgate::sim
