// One call's Media Stream, as protocol and state: it reads Twilio's messages, keeps the
// caller's audio, paces the audio we send back, and accounts for every mark. It knows
// nothing of sockets: the WebSocket session feeds it text and time, and it answers
// through a StreamSink, so all of it is tested with a manual clock and no network.
//
//   Twilio ─text─▶ on_text ─▶ parse ─▶ start: check callSid + token ─▶ streaming
//                                      media: base64 ─▶ mu-law ─▶ inbound buffer
//                                      dtmf ─▶ history     mark ─▶ pacer (played/discarded)
//   speak(mu-law) ─▶ pacer ─▶ pump(now) ─▶ media frames + marks ─▶ sink ─▶ Twilio
//   interrupt() ─▶ pacer emptied ─▶ `clear` ─▶ sink
//
// Threading: not thread-safe. Every method runs on the call's strand.
#pragma once

#include <boost/asio/any_io_executor.hpp>

#include <chrono>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "audio/pacer.hpp"
#include "call/audio_store.hpp"
#include "call/call_history.hpp"
#include "call/conversation.hpp"
#include "call/inbound_audio_buffer.hpp"
#include "call/stream_metrics.hpp"
#include "twilio/media_stream.hpp"
#include "twilio/sequence_tracker.hpp"
#include "twilio/stream_token.hpp"

namespace voxgate::call {

using Clock = std::chrono::steady_clock;

// WebSocket close codes of DESIGN.md §2.
inline constexpr std::uint16_t kCloseNormal = 1000;
inline constexpr std::uint16_t kCloseGoingAway = 1001;
inline constexpr std::uint16_t kClosePolicyViolation = 1008;
inline constexpr std::uint16_t kCloseTryAgainLater = 1013;

// Where a session's output goes; implemented by the WebSocket session.
class StreamSink {
 public:
  virtual ~StreamSink() = default;
  virtual void send_text(std::string message) = 0;
  // Ends the stream; the session sends nothing after it.
  virtual void close(std::uint16_t code, std::string reason) = 0;
  // The session queued audio outside of a transport event (an engine callback): the
  // transport must look at next_due() again.
  virtual void reschedule() = 0;
};

struct CallSessionOptions {
  std::string expected_call_sid;  // from the stream URL's path
  // The issuer of the <Parameter name="token"> this server put in the streaming TwiML.
  const twilio::StreamTokenIssuer* tokens = nullptr;
  // Production: the token must be present and valid. Development: checked when present.
  bool require_token = false;
  std::size_t inbound_buffer_bytes = 60 * 8000;  // 60 s of 8 kHz mu-law
  audio::PacerOptions pacer;
  // Outbound 20 ms frames per `media` message (1..5). Twilio plays a payload of any size
  // (twilio-protocol.md §1.3); more per message means fewer messages and wake-ups per call
  // (capacity), at the price of sending up to (n - 1) × 20 ms more ahead of real time.
  std::size_t frames_per_message = 1;
  // The turn loop. Without engines (any null) the stream only carries audio.
  ConversationEngines engines;
  ConversationOptions conversation;
  TurnMetrics* turn_metrics = nullptr;
  // Hybrid mode: where a turn's reply is kept for stream-ended's <Play>.
  AudioStore* replies = nullptr;
  // The call's strand: engine callbacks come back through it.
  boost::asio::any_io_executor executor;
};

struct CallSessionStats {
  std::uint64_t frames_in = 0, bytes_in = 0, bad_payloads = 0, malformed_messages = 0;
  std::uint64_t unknown_events = 0, unexpected_messages = 0;
  std::uint64_t frames_out = 0, marks_sent = 0, marks_played = 0, marks_discarded = 0;
  std::uint64_t clears = 0, dtmf = 0;
};

class CallSession final : private ConversationOutput {
 public:
  enum class State { kAwaitingStart, kStreaming, kEnded };

  // `sink`, `history` and `metrics` must outlive the session.
  CallSession(CallSessionOptions options, StreamSink& sink, CallHistory& history,
              StreamMetrics& metrics, Clock::time_point now);
  ~CallSession();

  // One text frame from Twilio. Malformed or unexpected messages are counted and
  // ignored; a `start` that fails its checks closes the stream with 1008.
  void on_text(std::string_view text, Clock::time_point now);
  // The transport closed (after `stop`, or abruptly). Idempotent.
  void on_closed(Clock::time_point now);

  // Queues speech for the caller: 8 kHz mu-law, then a mark named `mark_name`.
  // False when the stream is not started, has ended, or the queue is full.
  bool speak(std::span<const std::uint8_t> mulaw, std::string mark_name, Clock::time_point now);
  // Barge-in: empties the queue and sends `clear`; reports what the caller heard.
  audio::InterruptResult interrupt(Clock::time_point now);
  // Sends the frames and marks that are due. The transport calls it at next_due().
  void pump(Clock::time_point now);
  Clock::time_point next_due() const;

  State state() const { return state_; }
  const std::string& call_sid() const { return options_.expected_call_sid; }
  const twilio::StartMessage& start() const { return start_; }
  InboundAudioBuffer& inbound_audio() { return inbound_; }
  const CallSessionStats& stats() const { return stats_; }
  const twilio::SequenceStats& sequence_stats() const { return sequence_.stats(); }

 private:
  // ConversationOutput
  bool play(std::span<const std::uint8_t> mulaw, std::string mark_name) override;
  audio::InterruptResult interrupt() override;
  void end_call(const agent::Action& action) override;
  void history_changed(const std::vector<agent::Turn>& history) override;
  void hand_over_reply(std::vector<std::uint8_t> reply_mulaw, const agent::Action& action) override;

  void handle(const twilio::StartMessage& message, Clock::time_point now);
  void handle(const twilio::MediaMessage& message);
  void handle(const twilio::DtmfMessage& message);
  void handle(const twilio::MarkMessage& message);
  void handle(const twilio::StopMessage& message, Clock::time_point now);
  void refuse(std::string_view reason_label, std::string reason);
  void note_sequence(const std::optional<std::uint64_t>& sequence_number);

  const CallSessionOptions options_;
  StreamSink& sink_;
  CallHistory& history_;
  StreamMetrics& metrics_;
  const Clock::time_point opened_at_;
  State state_ = State::kAwaitingStart;
  bool closed_ = false;

  twilio::InboundParser parser_;
  twilio::StartMessage start_;
  twilio::SequenceTracker sequence_;
  InboundAudioBuffer inbound_;
  audio::Pacer pacer_;
  // options_.frames_per_message within 1..5, and how far ahead of its due time a frame may
  // leave to fill a message of that many.
  const std::size_t frames_per_message_;
  const Clock::duration batch_ahead_;
  std::vector<std::uint8_t> payload_;  // decode buffer, reused for every frame
  std::vector<audio::PacerItem> due_items_;  // reused by every pump
  std::vector<std::uint8_t> batch_;          // frames going out in one media message
  Clock::time_point last_enqueue_;
  std::vector<std::int16_t> pcm_pending_;  // decoded caller audio not yet a whole 20 ms frame
  std::optional<Conversation> conversation_;
  CallSessionStats stats_;
  std::uint64_t reported_gaps_ = 0, reported_reordered_ = 0;
};

}  // namespace voxgate::call
