#include "net/recording_routes.hpp"

#include <boost/asio/steady_timer.hpp>
#include <boost/url/parse.hpp>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <optional>
#include <utility>

#include "audio/wav.hpp"
#include "call/call_sid.hpp"
#include "util/log.hpp"

namespace voxgate::net {

namespace {

constexpr std::string_view kPleaseRepeat = "Sorry, I didn't catch that. Could you say it again?";
constexpr std::string_view kGiveUp = "Sorry, I can't hear you. Please call again. Goodbye.";
constexpr std::string_view kAgentFailed = "Sorry, I had a problem there. Could you say that again?";

std::string param_or_empty(const FormParams& params, std::string_view name) {
  const std::string* value = find_first(params, name);
  return value != nullptr ? *value : std::string{};
}

bool is_loopback(std::string_view host) {
  return host == "127.0.0.1" || host == "localhost" || host == "[::1]" || host == "::1";
}

std::string lowercase(std::string_view text) {
  std::string out(text);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

}  // namespace

struct RecordingRoutes::Turn {
  std::string call_sid;
  std::string base_url;
  std::string recording_url;
  std::chrono::steady_clock::time_point started = std::chrono::steady_clock::now();
  // The request waiting for this turn's TwiML (the first one, then each poll) and the
  // TwiML once made. Requests, the budget timer and processing may each run on another
  // thread, so both sit behind the mutex.
  std::mutex mutex;
  Router::Responder respond;
  std::optional<std::string> twiml;
  std::unique_ptr<boost::asio::steady_timer> wait_timer;
};

RecordingRoutes::RecordingRoutes(RecordingRoutesOptions options, const WebhookAuth& auth,
                                 AIVoiceIntegration& ai, call::CallHistory& history,
                                 observe::Registry& metrics, RecordingServices services)
    : options_(std::move(options)),
      auth_(auth),
      ai_(ai),
      history_(history),
      services_(std::move(services)),
      turn_seconds_(metrics
                        .histogram("voxgate_recording_turn_seconds",
                                   "Recording mode: process-voice request to the turn's TwiML "
                                   "(download, STT, agent, TTS).",
                                   {}, observe::latency_buckets_s())
                        .with({})),
      stage_seconds_(metrics.histogram("voxgate_recording_stage_seconds",
                                       "Recording mode, each stage of a turn: download (with "
                                       "retries and decoding), stt, agent, tts.",
                                       {"stage"}, observe::latency_buckets_s())),
      turns_total_(metrics.counter("voxgate_recording_turns_total",
                                   "Recording-mode turns by outcome: replied, unheard (no "
                                   "usable recording or speech), hung_up.",
                                   {"outcome"})),
      said_instead_of_played_total_(
          metrics
              .counter("voxgate_twiml_say_fallback_total",
                       "Replies spoken with <Say> because synthesis for <Play> failed.")
              .with({})),
      budget_exceeded_total_(metrics
                                 .counter("voxgate_recording_turn_over_budget_total",
                                          "Turns not ready within the answer budget: answered "
                                          "with <Pause> and <Redirect> to the poll route.")
                                 .with({})) {}

void RecordingRoutes::register_routes(Router& router) {
  // Each turn continues from the history any worker last stored (shared state).
  router.add_async(
      Method::post, "/phone/process-voice/{call_sid}",
      [this](const Request& request, const PathParams& params, Router::Responder respond) {
        process_voice(request, params.get("call_sid"), std::move(respond));
      },
      {.acts_on_call = true});
  router.add_async(Method::post, "/phone/process-voice/{call_sid}/poll",
                   [this](const Request& request, const PathParams& params, Router::Responder respond) {
                     poll(request, params.get("call_sid"), std::move(respond));
                   });
}

void RecordingRoutes::append_record_turn(twilio::TwimlResponse& twiml, const std::string& base_url,
                                         const std::string& call_sid) {
  const std::string turn_url = base_url + "/phone/process-voice/" + call_sid;
  twiml.record({.action = turn_url, .method = "POST", .timeout_s = 2, .max_length_s = 30,
                .play_beep = false});
  // Twilio may skip the action for an empty recording (twilio-protocol.md §2.2).
  twiml.redirect(turn_url, "POST");
}

bool RecordingRoutes::recording_url_allowed(std::string_view url,
                                            const std::vector<std::string>& hosts) {
  const auto parsed = boost::urls::parse_absolute_uri(url);
  if (!parsed || !parsed->has_authority() || parsed->has_userinfo()) return false;
  const std::string host = lowercase(parsed->encoded_host());
  const bool https = parsed->scheme_id() == boost::urls::scheme::https;
  const bool http = parsed->scheme_id() == boost::urls::scheme::http;
  if (!https && !(http && is_loopback(host))) return false;
  const std::string host_port = parsed->has_port() ? host + ":" + std::string(parsed->port()) : host;
  for (const std::string& allowed : hosts) {
    const std::string entry = lowercase(allowed);
    if (entry == host_port || entry == host) return true;
  }
  return false;
}

void RecordingRoutes::process_voice(const Request& request, const std::string& call_sid,
                                    Router::Responder respond) {
  auto checked = auth_.check_twilio(request, "/phone/process-voice");
  if (auto* refusal = std::get_if<Response>(&checked)) return respond(std::move(*refusal));
  const auto& webhook = std::get<WebhookRequest>(checked);
  if (!call::is_valid_call_sid(call_sid)) {
    return respond(error_response(Status::bad_request, "bad_call_sid",
                                  "The call sid may hold only letters, digits, '_' and '-'."));
  }
  log::CallScope scope(call_sid);
  auto turn = std::make_shared<Turn>();
  turn->call_sid = call_sid;
  turn->base_url = webhook.base_url;
  turn->recording_url = param_or_empty(webhook.params, "RecordingUrl");
  turn->respond = std::move(respond);
  if (!history_.find(call_sid)) {
    // Another worker answered the call, or this one restarted: keep the call going.
    history_.record_incoming({.call_sid = call_sid,
                              .from = param_or_empty(webhook.params, "From"),
                              .to = param_or_empty(webhook.params, "To"),
                              .mode = call::CallMode::kRecording,
                              .started_at = std::chrono::system_clock::now(),
                              .updated_at = std::chrono::system_clock::now()});
  }
  {
    std::lock_guard lock(mutex_);
    // Turns whose TwiML nobody collected (the call ended during a poll pause) go with time.
    std::erase_if(running_, [&](const auto& entry) {
      return turn->started - entry.second->started > 2 * options_.max_turn_time;
    });
    running_[call_sid] = turn;
  }
  // Twilio gives up after 15 s: answer within the budget whatever the engines do.
  wait_within_budget(turn);

  const std::string digits = param_or_empty(webhook.params, "Digits");
  if (digits == "hangup") {
    spdlog::info("The caller hung up during the recording");
    turns_total_.with({"hung_up"}).inc();
    if (options_.delete_recordings && !turn->recording_url.empty()) {
      services_.delete_recording(turn->recording_url);
    }
    twilio::TwimlResponse twiml;
    twiml.hangup();
    return deliver(turn, twiml.str());
  }
  if (turn->recording_url.empty()) return answer_unheard(turn, "no RecordingUrl");
  if (!recording_url_allowed(turn->recording_url, options_.recording_hosts)) {
    // Never fetch a URL a forged or misconfigured request points anywhere else.
    return answer_unheard(turn, "RecordingUrl is not on an allowed host (twilio.recording_hosts)");
  }
  if (param_or_empty(webhook.params, "RecordingDuration") == "0") {
    if (options_.delete_recordings) services_.delete_recording(turn->recording_url);
    return answer_unheard(turn, "an empty recording");
  }
  process_recording(turn, turn->recording_url);
}

void RecordingRoutes::process_recording(const std::shared_ptr<Turn>& turn,
                                        std::string recording_url) {
  const auto download_started = std::chrono::steady_clock::now();
  services_.download(
      std::move(recording_url), options_.executor,
      [this, turn, download_started](util::Result<std::string> bytes) {
        log::CallScope scope(turn->call_sid);
        if (!bytes.ok()) {
          return answer_unheard(turn, "the recording could not be downloaded: " +
                                          bytes.error().message);
        }
        const audio::DecodeResult decoded = audio::decode_audio(
            {reinterpret_cast<const std::uint8_t*>(bytes->data()), bytes->size()});
        std::vector<std::uint8_t> mulaw;
        if (decoded.audio) mulaw = audio::to_call_format(*decoded.audio);
        if (mulaw.empty()) {
          if (options_.delete_recordings) services_.delete_recording(turn->recording_url);
          return answer_unheard(turn, "the recording holds no audio we can read: " +
                                          (decoded.message.empty() ? "empty" : decoded.message));
        }
        stage_seconds_.with({"download"})
            .observe(std::chrono::duration<double>(std::chrono::steady_clock::now() -
                                                   download_started)
                         .count());
        std::vector<agent::Turn> history;
        if (const auto record = history_.find(turn->call_sid)) {
          for (const auto& past : record->turns) history.push_back({past.caller, past.agent, past.heard});
        }
        ai_.process_utterance_async(turn->call_sid, std::move(mulaw), std::move(history),
                                    turn->base_url, options_.executor,
                                    [this, turn](ProcessingResult result) {
                                      on_processed(turn, std::move(result));
                                    });
      });
}

void RecordingRoutes::on_processed(const std::shared_ptr<Turn>& turn, ProcessingResult result) {
  log::CallScope scope(turn->call_sid);
  // Stages that ran (a turn without speech stops after STT).
  if (result.transcript) stage_seconds_.with({"stt"}).observe(result.timings_ms.stt / 1000);
  if (result.reply) stage_seconds_.with({"agent"}).observe(result.timings_ms.agent / 1000);
  if (result.reply_audio_url) stage_seconds_.with({"tts"}).observe(result.timings_ms.tts / 1000);
  // The caller's voice is not kept once it has been transcribed (twilio.delete_recordings).
  if (options_.delete_recordings) services_.delete_recording(turn->recording_url);
  if (!result.transcript || result.transcript->empty()) {
    return answer_unheard(turn, "no words in the recording");
  }
  history_.count_unheard_turn(turn->call_sid, /*heard=*/true);
  spdlog::info("Caller said: \"{}\"", *result.transcript);
  if (!result.reply) {
    // The agent failed (the facade logged why): an apology, and the caller tries again.
    history_.append_turn(turn->call_sid, {*result.transcript, "", ""});
    return answer_with_speech(turn, std::string(kAgentFailed),
                              [this, turn](twilio::TwimlResponse& twiml) {
                                append_record_turn(twiml, turn->base_url, turn->call_sid);
                              });
  }
  history_.append_turn(turn->call_sid, {*result.transcript, *result.reply, *result.reply});
  turns_total_.with({"replied"}).inc();
  twilio::TwimlResponse twiml;
  if (result.reply_audio_url) {
    twiml.play(*result.reply_audio_url);
  } else {
    spdlog::warn("No synthesized reply to play: saying it with <Say>");
    said_instead_of_played_total_.inc();
    twiml.say(*result.reply);
  }
  switch (result.action.kind) {
    case agent::ActionKind::kHangup:
      history_.record_end_action(turn->call_sid, "hangup");
      twiml.hangup();
      break;
    case agent::ActionKind::kTransfer:
      history_.record_end_action(turn->call_sid, "transfer:" + result.action.transfer_to);
      twiml.dial(result.action.transfer_to);
      break;
    case agent::ActionKind::kNone:
      append_record_turn(twiml, turn->base_url, turn->call_sid);
      break;
  }
  deliver(turn, twiml.str());
}

void RecordingRoutes::answer_unheard(const std::shared_ptr<Turn>& turn, std::string_view why) {
  log::CallScope scope(turn->call_sid);
  turns_total_.with({"unheard"}).inc();
  const int in_a_row = history_.count_unheard_turn(turn->call_sid, /*heard=*/false);
  spdlog::warn("Nothing to answer in this turn ({}); {} in a row", why, in_a_row);
  if (in_a_row >= options_.max_unheard_turns) {
    history_.record_end_action(turn->call_sid, "hangup");
    return answer_with_speech(turn, std::string(kGiveUp),
                              [](twilio::TwimlResponse& twiml) { twiml.hangup(); });
  }
  answer_with_speech(turn, std::string(kPleaseRepeat), [this, turn](twilio::TwimlResponse& twiml) {
    append_record_turn(twiml, turn->base_url, turn->call_sid);
  });
}

void RecordingRoutes::answer_with_speech(const std::shared_ptr<Turn>& turn, std::string text,
                                         std::function<void(twilio::TwimlResponse&)> finish) {
  ai_.synthesize_async(text, turn->base_url, options_.executor,
                       [this, turn, text, finish = std::move(finish)](std::optional<std::string> url) {
                         twilio::TwimlResponse twiml;
                         if (url) {
                           twiml.play(*url);
                         } else {
                           log::CallScope scope(turn->call_sid);
                           spdlog::warn("Could not synthesize a prompt: saying it with <Say>");
                           said_instead_of_played_total_.inc();
                           twiml.say(text);
                         }
                         finish(twiml);
                         deliver(turn, twiml.str());
                       });
}

void RecordingRoutes::deliver(const std::shared_ptr<Turn>& turn, std::string twiml) {
  turn_seconds_.observe(
      std::chrono::duration<double>(std::chrono::steady_clock::now() - turn->started).count());
  Router::Responder waiting;
  {
    std::lock_guard lock(turn->mutex);
    turn->twiml = std::move(twiml);
    waiting = std::move(turn->respond);
    turn->respond = nullptr;
    if (turn->wait_timer) turn->wait_timer->cancel();
  }
  if (!waiting) return;  // a poll will collect it
  {
    std::lock_guard lock(mutex_);
    const auto it = running_.find(turn->call_sid);
    if (it != running_.end() && it->second == turn) running_.erase(it);
  }
  std::string answer;
  {
    std::lock_guard lock(turn->mutex);
    answer = *turn->twiml;
  }
  waiting(twiml_response(std::move(answer)));
}

void RecordingRoutes::poll(const Request& request, const std::string& call_sid,
                           Router::Responder respond) {
  auto checked = auth_.check_twilio(request, "/phone/process-voice/poll");
  if (auto* refusal = std::get_if<Response>(&checked)) return respond(std::move(*refusal));
  const auto& webhook = std::get<WebhookRequest>(checked);
  log::CallScope scope(call_sid);
  std::shared_ptr<Turn> turn;
  {
    std::lock_guard lock(mutex_);
    const auto it = running_.find(call_sid);
    if (it != running_.end()) turn = it->second;
  }
  if (!turn) {
    // Nothing running (already answered, or this worker restarted): take the next turn.
    spdlog::info("Poll without a turn in progress: recording the next turn");
    twilio::TwimlResponse twiml;
    append_record_turn(twiml, webhook.base_url, call_sid);
    return respond(twiml_response(twiml.str()));
  }
  std::optional<std::string> ready;
  {
    std::lock_guard lock(turn->mutex);
    if (turn->twiml) {
      ready = turn->twiml;
    } else {
      turn->respond = std::move(respond);
    }
  }
  if (ready) {
    {
      std::lock_guard lock(mutex_);
      const auto it = running_.find(call_sid);
      if (it != running_.end() && it->second == turn) running_.erase(it);
    }
    return respond(twiml_response(std::move(*ready)));
  }
  if (std::chrono::steady_clock::now() - turn->started > options_.max_turn_time) {
    spdlog::warn("The turn has run for over {} s: giving up on it",
                 std::chrono::duration_cast<std::chrono::seconds>(options_.max_turn_time).count());
    return answer_with_speech(turn, std::string(kAgentFailed),
                              [this, turn](twilio::TwimlResponse& twiml) {
                                append_record_turn(twiml, turn->base_url, turn->call_sid);
                              });
  }
  wait_within_budget(turn);
}

void RecordingRoutes::wait_within_budget(const std::shared_ptr<Turn>& turn) {
  auto timer = std::make_unique<boost::asio::steady_timer>(options_.executor);
  timer->expires_after(options_.answer_budget);
  timer->async_wait([this, turn](boost::system::error_code ec) {
    if (ec) return;
    Router::Responder waiting;
    {
      std::lock_guard lock(turn->mutex);
      if (turn->twiml || !turn->respond) return;
      waiting = std::move(turn->respond);
      turn->respond = nullptr;
    }
    budget_exceeded_total_.inc();
    log::CallScope scope(turn->call_sid);
    spdlog::info("The turn is not ready within {} ms: asking Twilio to poll",
                 options_.answer_budget.count());
    twilio::TwimlResponse twiml;
    twiml.pause(options_.poll_pause_s);
    twiml.redirect(turn->base_url + "/phone/process-voice/" + turn->call_sid + "/poll", "POST");
    waiting(twiml_response(twiml.str()));
  });
  std::lock_guard lock(turn->mutex);
  turn->wait_timer = std::move(timer);
}

}  // namespace voxgate::net
