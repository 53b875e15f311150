// The Media Streams WebSocket, `GET /phone/stream-audio/{call_sid}`: accepts Twilio's
// upgrade on the HTTP listener, checks who is calling, admits the call under the
// concurrency limit, and runs one CallSession per connection on the connection's strand,
// with a timer that sends paced audio when it is due.
//
// Refusals (DESIGN.md §2) accept the upgrade and then close with a reason: 1008 for a
// bad signature, token or callSid, or a second stream for the same call; 1013 when the
// worker is at max_concurrent_calls.
#pragma once

#include <chrono>
#include <cstddef>
#include <memory>
#include <optional>
#include <string>

#include "call/call_history.hpp"
#include "call/audio_store.hpp"
#include "call/conversation.hpp"
#include "call/live_calls.hpp"
#include "call/stream_metrics.hpp"
#include "net/http_server.hpp"
#include "twilio/signature.hpp"
#include "twilio/stream_token.hpp"

namespace voxgate::net {

struct MediaStreamOptions {
  std::string public_base_url;  // "https://…"; the upgrade is signed over its wss:// form
  std::string auth_token;       // "" = development mode: no signature, token optional
  std::size_t inbound_buffer_bytes = 60 * 8000;
  std::size_t frames_per_message = 1;  // outbound 20 ms frames per media message (call/)
  std::chrono::seconds idle_timeout{30};      // no message from Twilio for this long: close
  // No `start` this long after the upgrade: close, so Twilio's <Redirect> lets stream-ended
  // carry the call on in recording mode.
  std::chrono::milliseconds start_timeout{5000};
  std::size_t max_message_bytes = 64 * 1024;  // a media message is ~300 bytes
  std::size_t max_queued_messages = 1024;     // outbound backlog before the stream is closed
  // The turn loop of every stream; without engines a stream only carries audio.
  call::ConversationEngines engines;
  call::ConversationOptions conversation;
  call::TurnMetrics* turn_metrics = nullptr;
  // Hybrid mode: where each turn's reply waits for stream-ended's <Play>.
  call::AudioStore* replies = nullptr;
};

class MediaStreamEndpoint final : public UpgradeHandler {
 public:
  // Everything passed by reference must outlive the endpoint and its connections.
  MediaStreamEndpoint(MediaStreamOptions options, const twilio::StreamTokenIssuer& tokens,
                      call::CallHistory& history, call::LiveCalls& live_calls,
                      call::StreamMetrics& metrics);

  bool accepts(const Request& request) const override;
  void upgrade(Request request, boost::beast::tcp_stream stream) override;
  std::size_t open_connections() const override;

  struct Shared;  // what every connection of this endpoint reaches

 private:
  std::shared_ptr<Shared> shared_;
};

}  // namespace voxgate::net
