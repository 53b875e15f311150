#include "net/phone_routes.hpp"

#include <boost/url/parse.hpp>
#include <spdlog/spdlog.h>

#include <array>
#include <chrono>

#include "twilio/twiml.hpp"
#include "util/log.hpp"

namespace voxgate::net {

namespace {

// Twilio's CallSids are "CA" + 32 hex digits, but test tools and the seed's own curl
// example use short ones ("test123"). Anything in this alphabet is accepted; nothing
// else is, because the sid goes into URLs, TwiML and log lines.
bool is_valid_call_sid(std::string_view sid) {
  if (sid.empty() || sid.size() > 64) return false;
  for (const char c : sid) {
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '_' && c != '-') return false;
  }
  return true;
}

std::string param_or_empty(const FormParams& params, std::string_view name) {
  const std::string* value = find_first(params, name);
  return value != nullptr ? *value : std::string{};
}

// The WebSocket URL under a base URL: wss:// under https, ws:// under plain http
// (development mode); Twilio itself only connects to wss:// (twilio-protocol.md §1.5).
std::string websocket_base(const std::string& base_url) {
  if (base_url.starts_with("https://")) return "wss://" + base_url.substr(8);
  if (base_url.starts_with("http://")) return "ws://" + base_url.substr(7);
  return base_url;
}

call::CallMode requested_mode(const Request& request, call::CallMode configured) {
  const auto target = boost::urls::parse_origin_form(request.target());
  if (!target) return configured;
  const auto params = target->params();
  const auto mode = params.find("mode");
  if (mode == params.end() || !(*mode).has_value) return configured;
  if ((*mode).value == "hybrid") return call::CallMode::kHybrid;
  if ((*mode).value == "streaming") return call::CallMode::kStreaming;
  return configured;
}

// Bounded label values for the status counter: Twilio's documented statuses.
std::string_view status_label(std::string_view status) {
  static constexpr std::array<std::string_view, 8> kKnown = {
      "queued", "ringing", "in-progress", "completed", "busy", "failed", "no-answer", "canceled"};
  for (const auto known : kKnown) {
    if (status == known) return known;
  }
  return "other";
}

Response missing_call_sid() {
  return error_response(Status::bad_request, "missing_call_sid",
                        "The webhook needs a CallSid field (letters, digits, '_' or '-').");
}

}  // namespace

PhoneRoutes::PhoneRoutes(PhoneRoutesOptions options, const WebhookAuth& auth,
                         call::CallHistory& history, observe::Registry& metrics)
    : options_(std::move(options)),
      auth_(auth),
      tokens_(options_.stream_secret),
      history_(history),
      calls_started_total_(metrics.counter("voxgate_calls_started_total",
                                           "Calls answered by an incoming-call webhook, by mode.",
                                           {"mode"})),
      call_status_total_(metrics.counter("voxgate_call_status_callbacks_total",
                                         "Call status callbacks received, by CallStatus.",
                                         {"status"})) {}

void PhoneRoutes::register_routes(Router& router) {
  router.add(Method::post, "/phone/incoming-call",
             [this](const Request& request, const PathParams&) { return incoming_call(request); });
  router.add(Method::post, "/phone/incoming-call-streaming",
             [this](const Request& request, const PathParams&) {
               return incoming_call_streaming(request);
             });
  router.add(Method::post, "/phone/call-status",
             [this](const Request& request, const PathParams&) { return call_status(request); });

  // Routes that later stages fill in. They already check their callers, so that what
  // a caller learns from a 501 is only that the feature is missing.
  const struct {
    Method method;
    const char* pattern;
    Caller caller;
    const char* what;
    const char* arrives_with;
  } pending[] = {
      {Method::get, "/phone/stream-audio/{call_sid}", Caller::kAnyone,
       "The Media Streams WebSocket", "the Media Streams stage (issue #3)"},
      {Method::post, "/phone/stream-audio/{call_sid}", Caller::kAdmin,
       "The HTTP audio chunk API", "the Media Streams stage (issue #3)"},
      {Method::post, "/phone/stream-audio/{call_sid}/complete", Caller::kAdmin,
       "The HTTP audio chunk API", "the Media Streams stage (issue #3)"},
      {Method::post, "/phone/stream-ended/{call_sid}", Caller::kTwilio,
       "Continuing a call after its stream", "the recording and fallback stage (issue #5)"},
      {Method::post, "/phone/process-voice/{call_sid}", Caller::kTwilio,
       "Recording-mode turns", "the recording and fallback stage (issue #5)"},
  };
  for (const auto& route : pending) {
    router.add(route.method, route.pattern,
               [this, route](const Request& request, const PathParams&) {
                 return not_implemented(request, route.caller, route.pattern, route.what,
                                        route.arrives_with);
               });
  }
}

std::variant<PhoneRoutes::IncomingCall, Response> PhoneRoutes::accept_incoming(
    const Request& request, std::string_view route, call::CallMode mode) {
  auto checked = auth_.check_twilio(request, route);
  if (auto* refusal = std::get_if<Response>(&checked)) return std::move(*refusal);
  auto& webhook = std::get<WebhookRequest>(checked);
  const std::string call_sid = param_or_empty(webhook.params, "CallSid");
  if (!is_valid_call_sid(call_sid)) return missing_call_sid();

  log::CallScope scope(call_sid);
  const auto now = std::chrono::system_clock::now();
  call::CallRecord record{.call_sid = call_sid,
                          .account_sid = param_or_empty(webhook.params, "AccountSid"),
                          .from = param_or_empty(webhook.params, "From"),
                          .to = param_or_empty(webhook.params, "To"),
                          .mode = mode,
                          .status = param_or_empty(webhook.params, "CallStatus"),
                          .started_at = now,
                          .updated_at = now};
  spdlog::info("Received {}call from {} to {} ({} mode)",
               mode == call::CallMode::kRecording ? "" : "streaming ", record.from, record.to,
               call::to_string(mode));
  history_.record_incoming(std::move(record));
  calls_started_total_.with({std::string(call::to_string(mode))}).inc();
  return IncomingCall{call_sid, std::move(webhook.base_url)};
}

Response PhoneRoutes::incoming_call(const Request& request) {
  auto accepted = accept_incoming(request, "/phone/incoming-call", call::CallMode::kRecording);
  if (auto* refusal = std::get_if<Response>(&accepted)) return std::move(*refusal);
  const auto& call = std::get<IncomingCall>(accepted);

  const std::string turn_url = call.base_url + "/phone/process-voice/" + call.call_sid;
  twilio::TwimlResponse twiml;
  twiml.say(options_.greeting);
  twiml.record({.action = turn_url, .method = "POST", .timeout_s = 3, .max_length_s = 30,
                .play_beep = false});
  // Twilio may skip the action for an empty recording (twilio-protocol.md §2.2); the
  // call then falls through to here and the turn route handles "no recording".
  twiml.redirect(turn_url, "POST");
  return twiml_response(twiml.str());
}

Response PhoneRoutes::incoming_call_streaming(const Request& request) {
  auto accepted = accept_incoming(request, "/phone/incoming-call-streaming",
                                  requested_mode(request, options_.streaming_mode));
  if (auto* refusal = std::get_if<Response>(&accepted)) return std::move(*refusal);
  const auto& call = std::get<IncomingCall>(accepted);

  twilio::TwimlResponse twiml;
  twiml.connect_stream(
      {.url = websocket_base(call.base_url) + "/phone/stream-audio/" + call.call_sid,
       .parameters = {{"token", tokens_.issue(call.call_sid)}}});
  // <Connect> returns here when the WebSocket closes; the server then decides how the
  // call goes on (DESIGN.md §1, fallback).
  twiml.redirect(call.base_url + "/phone/stream-ended/" + call.call_sid, "POST");
  return twiml_response(twiml.str());
}

Response PhoneRoutes::call_status(const Request& request) {
  auto checked = auth_.check_twilio(request, "/phone/call-status");
  if (auto* refusal = std::get_if<Response>(&checked)) return std::move(*refusal);
  const auto& webhook = std::get<WebhookRequest>(checked);
  const std::string call_sid = param_or_empty(webhook.params, "CallSid");
  if (!is_valid_call_sid(call_sid)) return missing_call_sid();
  const std::string status = param_or_empty(webhook.params, "CallStatus");
  if (status.empty()) {
    return error_response(Status::bad_request, "missing_call_status",
                          "The status callback needs a CallStatus field.");
  }

  log::CallScope scope(call_sid);
  const bool known = history_.update_status(call_sid, status, std::chrono::system_clock::now());
  call_status_total_.with({std::string(status_label(status))}).inc();
  if (call::is_terminal_status(status)) {
    const std::string duration = param_or_empty(webhook.params, "CallDuration");
    spdlog::info("Call ended: {}{}{}", status, duration.empty() ? "" : " after ",
                 duration.empty() ? "" : duration + " s");
  } else {
    spdlog::info("Call status: {}", status);
  }
  if (!known) spdlog::debug("Status for a call this worker did not answer");
  return empty_response(Status::no_content);
}

Response PhoneRoutes::not_implemented(const Request& request, Caller caller,
                                      std::string_view route, std::string_view what,
                                      std::string_view arrives_with) {
  if (caller == Caller::kTwilio) {
    auto checked = auth_.check_twilio(request, route);
    if (auto* refusal = std::get_if<Response>(&checked)) return std::move(*refusal);
  } else if (caller == Caller::kAdmin) {
    if (auto refusal = auth_.check_admin(request)) return std::move(*refusal);
  }
  return error_response(Status::not_implemented, "not_implemented",
                        std::string(what) + " is not implemented yet; it arrives with " +
                            std::string(arrives_with) + ".");
}

}  // namespace voxgate::net
