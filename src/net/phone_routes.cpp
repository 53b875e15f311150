#include "net/phone_routes.hpp"

#include <boost/beast/http/field.hpp>
#include <boost/url/parse.hpp>
#include <spdlog/spdlog.h>

#include <array>
#include <chrono>

#include "audio/wav.hpp"
#include "call/audio_store.hpp"
#include "call/call_sid.hpp"
#include "net/multipart.hpp"
#include "net/recording_routes.hpp"
#include "twilio/twiml.hpp"
#include "util/log.hpp"

namespace voxgate::net {

namespace {

std::string param_or_empty(const FormParams& params, std::string_view name) {
  const std::string* value = find_first(params, name);
  return value != nullptr ? *value : std::string{};
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
                         const twilio::StreamTokenIssuer& tokens, AIVoiceIntegration& ai,
                         call::CallHistory& history, observe::Registry& metrics)
    : options_(std::move(options)),
      auth_(auth),
      tokens_(tokens),
      ai_(ai),
      history_(history),
      calls_started_total_(metrics.counter("voxgate_calls_started_total",
                                           "Calls answered by an incoming-call webhook, by mode.",
                                           {"mode"})),
      call_status_total_(metrics.counter("voxgate_call_status_callbacks_total",
                                         "Call status callbacks received, by CallStatus.",
                                         {"status"})),
      fallbacks_total_(metrics.counter("voxgate_stream_fallbacks_total",
                                       "Streaming calls that went on in recording mode, by "
                                       "whether their stream had started.",
                                       {"stream"})),
      stream_errors_total_(metrics
                               .counter("voxgate_stream_errors_total",
                                        "stream-error events from Twilio's stream status "
                                        "callback.")
                               .with({})) {}

void PhoneRoutes::register_routes(Router& router) {
  // A draining worker takes no new calls (Router::set_draining); every other route
  // belongs to a call in progress and is served until the process exits.
  const RouteOptions new_call{.starts_call = true};
  router.add_async(
      Method::post, "/phone/incoming-call",
      [this](const Request& request, const PathParams&, Router::Responder respond) {
        incoming_call(request, std::move(respond));
      },
      new_call);
  router.add(
      Method::post, "/phone/incoming-call-streaming",
      [this](const Request& request, const PathParams&) { return incoming_call_streaming(request); },
      new_call);
  // These read or change a call another worker may have moved on (shared state).
  const RouteOptions of_a_call{.acts_on_call = true};
  router.add_async(
      Method::post, "/phone/stream-ended/{call_sid}",
      [this](const Request& request, const PathParams& params, Router::Responder respond) {
        stream_ended(request, params.get("call_sid"), std::move(respond));
      },
      of_a_call);
  router.add(
      Method::post, "/phone/stream-status/{call_sid}",
      [this](const Request& request, const PathParams& params) {
        return stream_status(request, params.get("call_sid"));
      },
      of_a_call);
  router.add(
      Method::post, "/phone/call-status",
      [this](const Request& request, const PathParams&) { return call_status(request); },
      of_a_call);
  router.add_async(Method::post, "/phone/stream-audio/{call_sid}",
                   [this](const Request& request, const PathParams& params,
                          Router::Responder respond) {
                     upload_chunk(request, params.get("call_sid"), std::move(respond));
                   });
  router.add_async(Method::post, "/phone/stream-audio/{call_sid}/complete",
                   [this](const Request& request, const PathParams& params,
                          Router::Responder respond) {
                     complete_chunks(request, params.get("call_sid"), std::move(respond));
                   });
  router.add_async(Method::get, "/audio/{id}.wav",
                   [this](const Request&, const PathParams& params, Router::Responder respond) {
                     reply_audio(params.get("id"), std::move(respond));
                   });
  // Upgrades are taken over by the WebSocket endpoint before routing; a plain GET here
  // is a client that did not ask for one.
  router.add(Method::get, "/phone/stream-audio/{call_sid}", [](const Request&, const PathParams&) {
    Response response = error_response(Status::upgrade_required, "upgrade_required",
                                       "This is the Media Streams WebSocket: connect with "
                                       "'Upgrade: websocket'.");
    response.set(boost::beast::http::field::upgrade, "websocket");
    return response;
  });
}

void PhoneRoutes::speak_then(const std::string& base_url, std::string text,
                             std::function<void(twilio::TwimlResponse&)> finish,
                             Router::Responder respond) {
  ai_.synthesize_async(text, base_url, options_.executor,
                       [text, finish = std::move(finish),
                        respond = std::move(respond)](std::optional<std::string> url) {
                         twilio::TwimlResponse twiml;
                         if (url) {
                           twiml.play(*url);
                         } else {
                           spdlog::warn("Could not synthesize a prompt: saying it with <Say>");
                           twiml.say(text);
                         }
                         finish(twiml);
                         respond(twiml_response(twiml.str()));
                       });
}

std::variant<PhoneRoutes::IncomingCall, Response> PhoneRoutes::accept_incoming(
    const Request& request, std::string_view route, call::CallMode mode) {
  auto checked = auth_.check_twilio(request, route);
  if (auto* refusal = std::get_if<Response>(&checked)) return std::move(*refusal);
  auto& webhook = std::get<WebhookRequest>(checked);
  const std::string call_sid = param_or_empty(webhook.params, "CallSid");
  if (!call::is_valid_call_sid(call_sid)) return missing_call_sid();

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

void PhoneRoutes::incoming_call(const Request& request, Router::Responder respond) {
  auto accepted = accept_incoming(request, "/phone/incoming-call", call::CallMode::kRecording);
  if (auto* refusal = std::get_if<Response>(&accepted)) return respond(std::move(*refusal));
  const auto call = std::get<IncomingCall>(std::move(accepted));
  speak_then(call.base_url, options_.greeting,
             [call](twilio::TwimlResponse& twiml) {
               RecordingRoutes::append_record_turn(twiml, call.base_url, call.call_sid);
             },
             std::move(respond));
}

Response PhoneRoutes::incoming_call_streaming(const Request& request) {
  auto accepted = accept_incoming(request, "/phone/incoming-call-streaming",
                                  requested_mode(request, options_.streaming_mode));
  if (auto* refusal = std::get_if<Response>(&accepted)) return std::move(*refusal);
  const auto& call = std::get<IncomingCall>(accepted);

  twilio::TwimlResponse twiml;
  connect_stream(twiml, call.base_url, call.call_sid);
  return twiml_response(twiml.str());
}

void PhoneRoutes::connect_stream(twilio::TwimlResponse& twiml, const std::string& base_url,
                                 const std::string& call_sid) const {
  // The configured public wss:// URL when there is one; in development, the Host's.
  const std::string stream_url =
      ai_.get_streaming_audio_url(call_sid).value_or(twilio::websocket_url_of(base_url) +
                                                     "/phone/stream-audio/" + call_sid);
  twiml.connect_stream({.url = stream_url,
                        .status_callback = base_url + "/phone/stream-status/" + call_sid,
                        .parameters = {{"token", tokens_.issue(call_sid)}}});
  // <Connect> returns here when the WebSocket closes; the server then decides how the
  // call goes on (DESIGN.md §1, fallback).
  twiml.redirect(base_url + "/phone/stream-ended/" + call_sid, "POST");
}

void PhoneRoutes::stream_ended(const Request& request, const std::string& call_sid,
                               Router::Responder respond) {
  auto checked = auth_.check_twilio(request, "/phone/stream-ended");
  if (auto* refusal = std::get_if<Response>(&checked)) return respond(std::move(*refusal));
  const auto& webhook = std::get<WebhookRequest>(checked);
  if (!call::is_valid_call_sid(call_sid)) return respond(missing_call_sid());
  log::CallScope scope(call_sid);
  const auto record = history_.find(call_sid);
  twilio::TwimlResponse twiml;
  const std::string action = record ? record->end_action : std::string{};
  // Hybrid mode: the stream closed at the end of a turn; its reply plays here.
  const std::optional<std::string> handed_over = history_.take_pending_reply(call_sid);
  if (handed_over && !handed_over->empty()) {
    twiml.play(webhook.base_url + "/audio/" + *handed_over + ".wav");
  }
  if (handed_over && action.empty()) {
    spdlog::info("Hybrid turn played: reconnecting the stream");
    connect_stream(twiml, webhook.base_url, call_sid);
    return respond(twiml_response(twiml.str()));
  }
  if (action == "hangup") {
    spdlog::info("Stream ended: hanging up as the agent decided");
    twiml.hangup();
    return respond(twiml_response(twiml.str()));
  }
  if (action.starts_with("transfer:")) {
    spdlog::info("Stream ended: transferring the call to {}", action.substr(9));
    twiml.dial(action.substr(9));
    return respond(twiml_response(twiml.str()));
  }
  // The caller is still on the line but the stream is gone: it never started, failed, or
  // the worker holding it went away. The call goes on in recording mode, with the
  // conversation so far (DESIGN.md §1, fallback).
  const char* why = !record || record->stream_sid.empty() ? "the stream never started"
                    : !record->stream_error.empty()       ? "the stream failed"
                                                          : "the stream closed";
  spdlog::warn("Stream ended without the agent ending the call ({}{}{}): continuing in "
               "recording mode",
               why, record && !record->stream_error.empty() ? ": " : "",
               record ? record->stream_error : "");
  fallbacks_total_.with({!record || record->stream_sid.empty() ? "never_started" : "ended"}).inc();
  if (!record) {
    history_.record_incoming({.call_sid = call_sid,
                              .from = param_or_empty(webhook.params, "From"),
                              .to = param_or_empty(webhook.params, "To"),
                              .mode = call::CallMode::kRecording,
                              .started_at = std::chrono::system_clock::now(),
                              .updated_at = std::chrono::system_clock::now()});
  }
  history_.record_mode(call_sid, call::CallMode::kRecording);
  const std::string prompt = record && !record->turns.empty()
                                 ? "Sorry, the line dropped for a moment. Please go on."
                                 : options_.greeting;
  speak_then(webhook.base_url, prompt,
             [base_url = webhook.base_url, call_sid](twilio::TwimlResponse& next) {
               RecordingRoutes::append_record_turn(next, base_url, call_sid);
             },
             std::move(respond));
}

// Twilio's <Stream statusCallback>: stream-started, stream-stopped, stream-error (with
// StreamError). An error is kept so that stream-ended can say why it falls back.
Response PhoneRoutes::stream_status(const Request& request, const std::string& call_sid) {
  auto checked = auth_.check_twilio(request, "/phone/stream-status");
  if (auto* refusal = std::get_if<Response>(&checked)) return std::move(*refusal);
  const auto& webhook = std::get<WebhookRequest>(checked);
  if (!call::is_valid_call_sid(call_sid)) return missing_call_sid();
  log::CallScope scope(call_sid);
  const std::string event = param_or_empty(webhook.params, "StreamEvent");
  if (event == "stream-error") {
    const std::string error = param_or_empty(webhook.params, "StreamError");
    spdlog::warn("Twilio reports a stream error: {}", error.empty() ? "(no reason given)" : error);
    history_.record_stream_error(call_sid, error.empty() ? "stream-error" : error);
    stream_errors_total_.inc();
  } else {
    spdlog::debug("Stream status: {}", event);
  }
  return empty_response(Status::no_content);
}

Response PhoneRoutes::call_status(const Request& request) {
  auto checked = auth_.check_twilio(request, "/phone/call-status");
  if (auto* refusal = std::get_if<Response>(&checked)) return std::move(*refusal);
  const auto& webhook = std::get<WebhookRequest>(checked);
  const std::string call_sid = param_or_empty(webhook.params, "CallSid");
  if (!call::is_valid_call_sid(call_sid)) return missing_call_sid();
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

namespace {

bool media_type_is(std::string_view content_type, std::string_view type) {
  const std::string_view bare = content_type.substr(0, content_type.find(';'));
  return boost::beast::iequals(bare.substr(0, bare.find_last_not_of(' ') + 1), type);
}

bool is_raw_mulaw_type(std::string_view content_type) {
  return media_type_is(content_type, "audio/x-mulaw") || media_type_is(content_type, "audio/basic") ||
         media_type_is(content_type, "audio/mulaw") || media_type_is(content_type, "audio/pcmu");
}

bool is_wav_type(std::string_view content_type) {
  return media_type_is(content_type, "audio/wav") || media_type_is(content_type, "audio/x-wav") ||
         media_type_is(content_type, "audio/wave") || media_type_is(content_type, "audio/vnd.wave");
}

Response chunk_error_response(const ChunkResult& result) {
  switch (result.error) {
    case ChunkError::kBadCallSid:
      return error_response(Status::bad_request, "bad_call_sid", result.message);
    case ChunkError::kEmpty:
      return error_response(Status::bad_request, "empty_audio", result.message);
    case ChunkError::kUnrecognized:
      return error_response(Status::bad_request, "invalid_audio", result.message);
    case ChunkError::kUnsupported:
      return error_response(Status::unsupported_media_type, "unsupported_audio", result.message);
    case ChunkError::kTooLarge:
      return error_response(Status::payload_too_large, "audio_too_large", result.message);
    case ChunkError::kTooManyCalls:
      return error_response(Status::service_unavailable, "too_many_calls", result.message);
    case ChunkError::kUnavailable:
      return error_response(Status::service_unavailable, "store_unavailable", result.message);
    case ChunkError::kNone:
      break;
  }
  return error_response(Status::internal_server_error, "internal_error", "Unexpected state.");
}

}  // namespace

void PhoneRoutes::upload_chunk(const Request& request, const std::string& call_sid,
                               Router::Responder respond) {
  if (auto refusal = auth_.check_admin(request)) return respond(std::move(*refusal));
  const auto header = request[boost::beast::http::field::content_type];
  const std::string_view content_type(header.data(), header.size());
  const std::string& body = request.body();
  const auto* bytes = reinterpret_cast<const std::uint8_t*>(body.data());

  std::span<const std::uint8_t> audio;
  AudioEncoding encoding = AudioEncoding::kFile;
  if (media_type_is(content_type, "multipart/form-data")) {
    const MultipartResult form = parse_multipart(content_type, body);
    if (form.error) {
      return respond(error_response(Status::bad_request, "malformed_multipart", form.message));
    }
    const MultipartPart* part = find_part(form, "audio");
    if (part == nullptr) {
      return respond(error_response(Status::bad_request, "missing_audio_field",
                                    "The multipart body needs a part named 'audio'."));
    }
    audio = {reinterpret_cast<const std::uint8_t*>(part->data.data()), part->data.size()};
    if (is_raw_mulaw_type(part->content_type)) encoding = AudioEncoding::kRawMulaw8k;
  } else if (is_wav_type(content_type)) {
    audio = {bytes, body.size()};
  } else if (is_raw_mulaw_type(content_type)) {
    audio = {bytes, body.size()};
    encoding = AudioEncoding::kRawMulaw8k;
  } else {
    return respond(error_response(Status::unsupported_media_type, "unsupported_media_type",
                                  "Send multipart/form-data with an 'audio' part, or a raw "
                                  "audio/wav, audio/x-wav, audio/x-mulaw or audio/basic body."));
  }
  // The chunk is converted before this returns: `audio` may point into the request.
  ai_.add_audio_chunk_async(
      call_sid, audio, encoding, options_.executor,
      [call_sid, respond = std::move(respond)](ChunkResult result) {
        if (result.error != ChunkError::kNone) return respond(chunk_error_response(result));
        respond(json_response(Status::ok, {{"call_sid", call_sid},
                                           {"chunks", result.chunks},
                                           {"bytes", result.bytes}}));
      });
}

void PhoneRoutes::complete_chunks(const Request& request, const std::string& call_sid,
                                  Router::Responder respond) {
  if (auto refusal = auth_.check_admin(request)) return respond(std::move(*refusal));
  const std::string base_url = auth_.base_url(request).value_or("");
  ai_.complete_audio_async(
      call_sid, base_url, options_.executor,
      [respond = std::move(respond)](ProcessingResult result) {
        if (result.unavailable) {
          return respond(error_response(Status::service_unavailable, "store_unavailable",
                                        "The shared call store cannot be reached; the call's "
                                        "audio is still pending. Try again."));
        }
        if (result.chunks == 0) {
          return respond(error_response(Status::not_found, "no_pending_audio",
                                        "No audio chunks are stored for this call."));
        }
        auto optional_string = [](const std::optional<std::string>& value) {
          return value ? boost::json::value(*value) : boost::json::value(nullptr);
        };
        respond(json_response(
            Status::ok,
            {{"call_sid", result.call_sid},
             {"transcript", optional_string(result.transcript)},
             {"reply", optional_string(result.reply)},
             {"reply_audio_url", optional_string(result.reply_audio_url)},
             {"ended", result.ended},
             {"audio_duration_s", result.audio_duration_s},
             {"chunks", result.chunks},
             {"timings_ms", {{"stt", result.timings_ms.stt},
                             {"agent", result.timings_ms.agent},
                             {"tts", result.timings_ms.tts},
                             {"total", result.timings_ms.total}}}}));
      });
}

void PhoneRoutes::reply_audio(const std::string& id, Router::Responder respond) {
  if (!call::AudioStore::is_valid_id(id)) return respond(reply_audio_response(std::nullopt));
  auto mulaw = ai_.replies().get(id);
  if (mulaw || options_.shared == nullptr) return respond(reply_audio_response(std::move(mulaw)));
  // Made by another worker: Twilio's <Play> fetch may land anywhere behind the balancer.
  options_.shared->load_audio(id, options_.executor,
                              [respond = std::move(respond)](auto shared_audio) {
                                respond(reply_audio_response(std::move(shared_audio)));
                              });
}

Response PhoneRoutes::reply_audio_response(std::optional<std::vector<std::uint8_t>> mulaw) {
  if (!mulaw) {
    return error_response(Status::not_found, "unknown_audio",
                          "No audio with that id, or it has expired.");
  }
  const std::vector<std::uint8_t> wav = audio::encode_wav_ulaw(*mulaw);
  Response response{Status::ok, 11};
  response.set(boost::beast::http::field::content_type, "audio/wav");
  // Ids are single-use in practice and unguessable; a cache in between may keep them.
  response.set(boost::beast::http::field::cache_control, "private, max-age=900");
  response.body().assign(wav.begin(), wav.end());
  return response;
}

}  // namespace voxgate::net
