// Recording mode (DESIGN.md §1, the seed's Option B): each turn is a TwiML <Record>; Twilio
// POSTs /phone/process-voice/{call_sid} with the recording's URL, and the answer plays our
// reply and records again.
//
//   Twilio ──POST RecordingUrl──▶ check signature ─▶ host allowed? ─▶ download (Basic auth,
//        404 retried) ─▶ decode (WAV/MP3) ─▶ STT ─▶ agent (the call's history) ─▶ TTS
//        ◀── <Play>/audio/{id}.wav</Play> + <Record> again | <Hangup/> | <Dial>
//
// Twilio waits at most 15 s for an answer (twilio-protocol.md §2.1). When a turn is not
// done within `answer_budget`, the route answers <Pause> + <Redirect> to
// /phone/process-voice/{call_sid}/poll, which serves the turn's TwiML once it is ready
// (and pauses again until then): a slow engine never makes the caller hit the timeout.
//
// Nothing a caller or a recording does ends in silence or a 500: no recording, an empty
// or corrupt one, a download that fails, a RecordingUrl on a host outside
// `recording_hosts` (refused without a fetch) each get a spoken "please say that again"
// and another <Record>; after `max_unheard_turns` such turns in a row the call says
// goodbye and hangs up. Spoken prompts are synthesized for <Play>; <Say> is the degraded
// path when synthesis fails (logged and counted). Recordings are deleted after use when
// `delete_recordings` is set.
#pragma once

#include <boost/asio/any_io_executor.hpp>

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "call/ai_voice_integration.hpp"
#include "call/call_history.hpp"
#include "net/router.hpp"
#include "net/webhook_auth.hpp"
#include "observe/metrics.hpp"
#include "twilio/twiml.hpp"
#include "util/result.hpp"

namespace voxgate::net {

struct RecordingRoutesOptions {
  std::vector<std::string> recording_hosts = {"api.twilio.com"};  // "host" or "host:port"
  bool delete_recordings = true;
  std::chrono::milliseconds answer_budget{10'000};
  int poll_pause_s = 2;  // <Pause length> before each poll
  std::chrono::milliseconds max_turn_time{120'000};  // a turn still running then is given up
  int max_unheard_turns = 3;
  boost::asio::any_io_executor executor;  // where downloads and processing call back
};

// How recordings are fetched and deleted (Twilio's REST API in the server; stand-ins in
// tests). `download` calls `done` once through `executor`; `delete_recording` reports
// nothing (failures are logged by whoever implements it).
struct RecordingServices {
  std::function<void(std::string url, boost::asio::any_io_executor executor,
                     std::function<void(util::Result<std::string>)> done)>
      download;
  std::function<void(std::string recording_url)> delete_recording;
};

class RecordingRoutes {
 public:
  // Everything passed by reference must outlive the routes.
  RecordingRoutes(RecordingRoutesOptions options, const WebhookAuth& auth,
                  AIVoiceIntegration& ai, call::CallHistory& history, observe::Registry& metrics,
                  RecordingServices services);

  void register_routes(Router& router);

  // The verbs that take the caller's next turn: <Record> with process-voice as its action,
  // then a <Redirect> there in case Twilio skips the action for an empty recording.
  static void append_record_turn(twilio::TwimlResponse& twiml, const std::string& base_url,
                                 const std::string& call_sid);

  // Whether a RecordingUrl may be fetched: https on an allowed host[:port], or http(s) on
  // an allowed loopback host (local stand-ins).
  static bool recording_url_allowed(std::string_view url, const std::vector<std::string>& hosts);

 private:
  struct Turn;
  void process_voice(const Request& request, const std::string& call_sid,
                     Router::Responder respond);
  void poll(const Request& request, const std::string& call_sid, Router::Responder respond);
  void process_recording(const std::shared_ptr<Turn>& turn, std::string recording_url);
  void on_processed(const std::shared_ptr<Turn>& turn, ProcessingResult result);
  // Speaks `text` (synthesized for <Play>, <Say> if that fails), then `finish` adds the
  // verbs after it; the TwiML goes to the turn's answer.
  void answer_with_speech(const std::shared_ptr<Turn>& turn, std::string text,
                          std::function<void(twilio::TwimlResponse&)> finish);
  void answer_unheard(const std::shared_ptr<Turn>& turn, std::string_view why);
  void deliver(const std::shared_ptr<Turn>& turn, std::string twiml);
  // Answers the waiting request with <Pause> + <Redirect> to the poll route if the turn's
  // TwiML is not ready within the budget.
  void wait_within_budget(const std::shared_ptr<Turn>& turn);

  const RecordingRoutesOptions options_;
  const WebhookAuth& auth_;
  AIVoiceIntegration& ai_;
  call::CallHistory& history_;
  const RecordingServices services_;
  observe::Histogram& turn_seconds_;
  observe::Family<observe::Histogram>& stage_seconds_;
  observe::Family<observe::Counter>& turns_total_;
  observe::Counter& said_instead_of_played_total_;
  observe::Counter& budget_exceeded_total_;

  std::mutex mutex_;
  std::map<std::string, std::shared_ptr<Turn>, std::less<>> running_;  // by call sid
};

}  // namespace voxgate::net
