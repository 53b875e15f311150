// The Twilio-facing webhook routes of DESIGN.md §2: the two incoming-call webhooks
// (recording and streaming mode), the call status callback, and the routes later
// stages fill in. Every webhook is signature-checked when an auth token is configured.
//
//   Twilio ──POST form──▶ check signature ─▶ parse CallSid ─▶ record the call ─▶ TwiML
//
// It also serves the seed's plain-HTTP chunk API (an admin API): audio uploaded in
// chunks, accumulated per call, processed on /complete, all through AIVoiceIntegration.
#pragma once

#include <boost/asio/any_io_executor.hpp>

#include <functional>

#include <string>
#include <string_view>
#include <variant>

#include "call/ai_voice_integration.hpp"
#include "call/call_history.hpp"
#include "call/shared_calls.hpp"
#include "net/router.hpp"
#include "net/webhook_auth.hpp"
#include "observe/metrics.hpp"
#include "twilio/stream_token.hpp"
#include "twilio/twiml.hpp"

namespace voxgate::net {

struct PhoneRoutesOptions {
  std::string greeting = "Hello! How can I help you today?";
  // What /phone/incoming-call-streaming answers: kStreaming or kHybrid.
  call::CallMode streaming_mode = call::CallMode::kStreaming;
  // Where speech processing (the chunk API's /complete) delivers its results.
  boost::asio::any_io_executor executor;
  // Shared state across workers (REDIS_URL): reply audio made elsewhere is served from it.
  call::SharedCalls* shared = nullptr;
};

class PhoneRoutes {
 public:
  // Everything passed by reference must outlive the routes. `tokens` issues the
  // per-call stream token the WebSocket endpoint later checks.
  PhoneRoutes(PhoneRoutesOptions options, const WebhookAuth& auth,
              const twilio::StreamTokenIssuer& tokens, AIVoiceIntegration& ai,
              call::CallHistory& history, observe::Registry& metrics);

  void register_routes(Router& router);

 private:
  struct IncomingCall {
    std::string call_sid;
    std::string base_url;
  };
  // The common start of both incoming-call webhooks: check the request, read the call,
  // record it. Returns the refusal to send when the request does not pass.
  std::variant<IncomingCall, Response> accept_incoming(const Request& request,
                                                       std::string_view route,
                                                       call::CallMode mode);
  void incoming_call(const Request& request, Router::Responder respond);
  Response incoming_call_streaming(const Request& request);
  Response call_status(const Request& request);
  void stream_ended(const Request& request, const std::string& call_sid,
                    Router::Responder respond);
  Response stream_status(const Request& request, const std::string& call_sid);
  // <Connect><Stream> with a fresh token and the stream-status callback, then the
  // <Redirect> to stream-ended that follows every stream.
  void connect_stream(twilio::TwimlResponse& twiml, const std::string& base_url,
                      const std::string& call_sid) const;
  // Answers with `text` synthesized for <Play> (<Say> if synthesis fails), then the verbs
  // `finish` adds.
  void speak_then(const std::string& base_url, std::string text,
                  std::function<void(twilio::TwimlResponse&)> finish, Router::Responder respond);
  void upload_chunk(const Request& request, const std::string& call_sid,
                    Router::Responder respond);
  void complete_chunks(const Request& request, const std::string& call_sid,
                       Router::Responder respond);
  void reply_audio(const std::string& id, Router::Responder respond);
  static Response reply_audio_response(std::optional<std::vector<std::uint8_t>> mulaw);

  const PhoneRoutesOptions options_;
  const WebhookAuth& auth_;
  const twilio::StreamTokenIssuer& tokens_;
  AIVoiceIntegration& ai_;
  call::CallHistory& history_;
  observe::Family<observe::Counter>& calls_started_total_;
  observe::Family<observe::Counter>& call_status_total_;
  observe::Family<observe::Counter>& fallbacks_total_;
  observe::Counter& stream_errors_total_;
};

}  // namespace voxgate::net
