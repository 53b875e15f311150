#include "call/call_session.hpp"

#include <spdlog/spdlog.h>

#include <type_traits>

#include "audio/frames.hpp"
#include "audio/g711.hpp"
#include "util/base64.hpp"
#include "util/log.hpp"

namespace voxgate::call {

namespace {

std::string_view event_label(const twilio::InboundMessage& message) {
  return std::visit(
      [](const auto& m) -> std::string_view {
        using T = std::decay_t<decltype(m)>;
        if constexpr (std::is_same_v<T, twilio::ConnectedMessage>) return "connected";
        if constexpr (std::is_same_v<T, twilio::StartMessage>) return "start";
        if constexpr (std::is_same_v<T, twilio::MediaMessage>) return "media";
        if constexpr (std::is_same_v<T, twilio::DtmfMessage>) return "dtmf";
        if constexpr (std::is_same_v<T, twilio::MarkMessage>) return "mark";
        if constexpr (std::is_same_v<T, twilio::StopMessage>) return "stop";
        return "unknown";
      },
      message);
}

double seconds_between(Clock::time_point from, Clock::time_point to) {
  return std::chrono::duration<double>(to - from).count();
}

}  // namespace

CallSession::CallSession(CallSessionOptions options, StreamSink& sink, CallHistory& history,
                         StreamMetrics& metrics, Clock::time_point now)
    : options_(std::move(options)),
      sink_(sink),
      history_(history),
      metrics_(metrics),
      opened_at_(now),
      inbound_(options_.inbound_buffer_bytes),
      pacer_(options_.pacer),
      frames_per_message_(std::clamp<std::size_t>(options_.frames_per_message, 1, 5)),
      batch_ahead_(options_.pacer.frame * static_cast<int>(frames_per_message_ - 1)) {
  metrics_.active_streams.inc();
  metrics_.streams_total.inc();
}

CallSession::~CallSession() { metrics_.active_streams.dec(); }

void CallSession::on_text(std::string_view text, Clock::time_point now) {
  if (state_ == State::kEnded) return;
  const twilio::ParseResult parsed = parser_.parse(text);
  if (!parsed.message) {
    ++stats_.malformed_messages;
    metrics_.malformed_messages_total.inc();
    // Once per stream at warning level: a broken peer would otherwise flood the log.
    if (stats_.malformed_messages == 1) {
      log::CallScope scope(call_sid());
      spdlog::warn("Ignoring a malformed Media Streams message: {}", parsed.error);
    }
    return;
  }
  if (parsed.unknown_fields > 0) metrics_.unknown_fields_total.inc(parsed.unknown_fields);
  const twilio::InboundMessage& message = *parsed.message;
  metrics_.messages_in_total.with({event_label(message)}).inc();

  std::visit(
      [&](const auto& m) {
        using T = std::decay_t<decltype(m)>;
        if constexpr (std::is_same_v<T, twilio::ConnectedMessage>) {
          // Nothing to do: `connected` only says the socket is Twilio's.
        } else if constexpr (std::is_same_v<T, twilio::StartMessage>) {
          handle(m, now);
        } else if constexpr (std::is_same_v<T, twilio::UnknownMessage>) {
          ++stats_.unknown_events;
        } else {
          if (state_ != State::kStreaming) {
            ++stats_.unexpected_messages;  // before `start`: no stream to attach it to
            return;
          }
          note_sequence(m.sequence_number);
          if constexpr (std::is_same_v<T, twilio::StopMessage>) {
            handle(m, now);
          } else {
            handle(m);
          }
        }
      },
      message);
}

void CallSession::note_sequence(const std::optional<std::uint64_t>& sequence_number) {
  if (!sequence_number) return;
  sequence_.on_sequence(*sequence_number);
  const auto& seq = sequence_.stats();
  if (seq.gaps > reported_gaps_) metrics_.sequence_gaps_total.inc(seq.gaps - reported_gaps_);
  if (seq.reordered > reported_reordered_) {
    metrics_.sequence_reordered_total.inc(seq.reordered - reported_reordered_);
  }
  reported_gaps_ = seq.gaps;
  reported_reordered_ = seq.reordered;
}

void CallSession::handle(const twilio::StartMessage& message, Clock::time_point now) {
  if (state_ != State::kAwaitingStart) {
    ++stats_.unexpected_messages;  // a second `start`: the first one stands
    return;
  }
  log::CallScope scope(call_sid());
  if (message.call_sid != options_.expected_call_sid) {
    return refuse("call_sid_mismatch", "start.callSid does not match the stream URL");
  }
  if (options_.tokens != nullptr) {
    const auto token = message.custom_parameters.find("token");
    if (token == message.custom_parameters.end()) {
      if (options_.require_token) return refuse("missing_token", "the stream token is missing");
      spdlog::warn("Stream has no token parameter; accepted in development mode only");
    } else if (!options_.tokens->verify(message.call_sid, token->second)) {
      return refuse("bad_token", "the stream token does not match this call");
    }
  }
  start_ = message;
  if (message.sequence_number) sequence_.on_sequence(*message.sequence_number);
  state_ = State::kStreaming;
  history_.record_stream_start(call_sid(), message.stream_sid);
  spdlog::info("Media stream {} started ({} {} Hz, {} channel{}) after {:.0f} ms",
               message.stream_sid, message.media_format.encoding,
               message.media_format.sample_rate_hz, message.media_format.channels,
               message.media_format.channels == 1 ? "" : "s",
               seconds_between(opened_at_, now) * 1000);
  const ConversationEngines& engines = options_.engines;
  if (engines.vad != nullptr && engines.stt != nullptr && engines.tts != nullptr &&
      engines.agent != nullptr && options_.turn_metrics != nullptr) {
    agent::CallInfo info{.call_sid = call_sid()};
    ConversationOptions conversation = options_.conversation;
    std::vector<agent::Turn> resumed;
    if (const auto record = history_.find(call_sid())) {
      info.from = record->from;
      info.to = record->to;
      // Hybrid calls stream turn by turn; a later stream of the call picks up its history.
      conversation.hybrid = record->mode == CallMode::kHybrid && options_.replies != nullptr;
      if (conversation.hybrid) {
        for (const auto& turn : record->turns) resumed.push_back({turn.caller, turn.agent, turn.heard});
      }
    }
    conversation_.emplace(engines, conversation, options_.executor, std::move(info),
                          static_cast<ConversationOutput&>(*this), *options_.turn_metrics);
    conversation_->start(now, std::move(resumed));
  }
}

void CallSession::handle(const twilio::MediaMessage& message) {
  sequence_.on_media(message.chunk, message.timestamp_ms);
  if (!util::base64_decode(message.payload, payload_)) {
    ++stats_.bad_payloads;
    metrics_.bad_payloads_total.inc();
    return;
  }
  ++stats_.frames_in;
  stats_.bytes_in += payload_.size();
  metrics_.frames_in_total.inc();
  metrics_.bytes_in_total.inc(static_cast<double>(payload_.size()));
  if (conversation_) {
    // The turn loop works on whole 20 ms frames; Twilio's payloads are usually exactly
    // that, but the protocol does not promise it (twilio-protocol.md §1.4).
    audio::decode_ulaw(payload_, pcm_pending_);
    std::size_t used = 0;
    const auto now = Clock::now();
    while (pcm_pending_.size() - used >= audio::kFrameSamples) {
      conversation_->on_audio(
          std::span<const std::int16_t>(pcm_pending_).subspan(used, audio::kFrameSamples), now);
      used += audio::kFrameSamples;
    }
    pcm_pending_.erase(pcm_pending_.begin(),
                       pcm_pending_.begin() + static_cast<std::ptrdiff_t>(used));
  }
  const std::uint64_t dropped_before = inbound_.dropped_bytes();
  inbound_.append(payload_);
  if (inbound_.dropped_bytes() > dropped_before) {
    metrics_.inbound_dropped_bytes_total.inc(
        static_cast<double>(inbound_.dropped_bytes() - dropped_before));
  }
}

void CallSession::handle(const twilio::DtmfMessage& message) {
  ++stats_.dtmf;
  metrics_.dtmf_total.inc();
  history_.record_dtmf(call_sid(), message.digit, std::chrono::system_clock::now());
  log::CallScope scope(call_sid());
  spdlog::info("Caller pressed {}", message.digit);
  if (conversation_) conversation_->on_dtmf(message.digit, Clock::now());
}

void CallSession::handle(const twilio::MarkMessage& message) {
  switch (pacer_.on_mark_echo(message.name)) {
    case audio::MarkFate::kPlayed:
      ++stats_.marks_played;
      metrics_.marks_total.with({"played"}).inc();
      if (conversation_) conversation_->on_mark_played(message.name);
      break;
    case audio::MarkFate::kDiscarded:
      ++stats_.marks_discarded;
      metrics_.marks_total.with({"discarded"}).inc();
      break;
    case audio::MarkFate::kUnknown:
      ++stats_.unexpected_messages;
      metrics_.marks_total.with({"unknown"}).inc();
      break;
  }
}

void CallSession::handle(const twilio::StopMessage& message, Clock::time_point now) {
  (void)message;
  log::CallScope scope(call_sid());
  spdlog::info("Twilio stopped the stream after {:.1f} s", seconds_between(opened_at_, now));
  state_ = State::kEnded;
  if (conversation_) conversation_->stop();
  sink_.close(kCloseNormal, "stream stopped");
}

void CallSession::refuse(std::string_view reason_label, std::string reason) {
  spdlog::warn("Refusing media stream: {}", reason);
  metrics_.streams_refused_total.with({reason_label}).inc();
  state_ = State::kEnded;
  sink_.close(kClosePolicyViolation, std::move(reason));
}

void CallSession::on_closed(Clock::time_point now) {
  if (closed_) return;
  closed_ = true;
  state_ = State::kEnded;
  if (conversation_) conversation_->stop();
  metrics_.stream_duration_s.observe(seconds_between(opened_at_, now));
  inbound_.clear();
  log::CallScope scope(call_sid());
  spdlog::info("Media stream closed: {} frames in, {} frames out, {} marks played, {} discarded",
               stats_.frames_in, stats_.frames_out, stats_.marks_played, stats_.marks_discarded);
}

bool CallSession::speak(std::span<const std::uint8_t> mulaw, std::string mark_name,
                        Clock::time_point now) {
  if (state_ != State::kStreaming) return false;
  if (!pacer_.enqueue(mulaw, std::move(mark_name), now)) return false;
  last_enqueue_ = now;
  pump(now);
  return true;
}

audio::InterruptResult CallSession::interrupt(Clock::time_point now) {
  audio::InterruptResult result = pacer_.interrupt(now);
  if (state_ != State::kStreaming) return result;
  // Twilio keeps playing what it buffered until told otherwise (twilio-protocol.md §6.2).
  sink_.send_text(twilio::clear_message(start_.stream_sid));
  ++stats_.clears;
  metrics_.clears_total.inc();
  return result;
}

void CallSession::pump(Clock::time_point now) {
  if (state_ != State::kStreaming) return;
  const Clock::time_point due = pacer_.next_due();
  if (due > now) return;
  // Frames due before they were queued (the lead at the start of a run) are not late.
  const double lateness_s = seconds_between(std::max(due, last_enqueue_), now);
  metrics_.frame_lateness_s.observe(lateness_s);
  if (lateness_s > 0.005) metrics_.late_frames_total.inc();
  // Woken when the next frame is due, it takes the frames due within the next
  // frames_per_message - 1 frames along, in one media message.
  pacer_.poll(now + batch_ahead_, due_items_);
  const auto flush = [this] {
    if (batch_.empty()) return;
    sink_.send_text(twilio::media_message(start_.stream_sid, batch_));
    batch_.clear();
  };
  // The shared counters are added to once per wake-up, not per frame: every call's session
  // updates them.
  std::size_t frames = 0, bytes = 0;
  for (auto& item : due_items_) {
    if (const auto* frame = std::get_if<audio::OutFrame>(&item)) {
      batch_.insert(batch_.end(), frame->mulaw.begin(), frame->mulaw.end());
      if (batch_.size() >= frames_per_message_ * frame->mulaw.size()) flush();
      ++frames;
      bytes += frame->mulaw.size();
    } else if (const auto* mark = std::get_if<audio::OutMark>(&item)) {
      flush();
      sink_.send_text(twilio::mark_message(start_.stream_sid, mark->name));
      ++stats_.marks_sent;
      metrics_.marks_total.with({"sent"}).inc();
    }
  }
  flush();
  if (frames > 0) {
    stats_.frames_out += frames;
    metrics_.frames_out_total.inc(static_cast<double>(frames));
    metrics_.bytes_out_total.inc(static_cast<double>(bytes));
  }
}

Clock::time_point CallSession::next_due() const {
  if (state_ != State::kStreaming) return Clock::time_point::max();
  return pacer_.next_due();
}

bool CallSession::play(std::span<const std::uint8_t> mulaw, std::string mark_name) {
  const bool queued = speak(mulaw, std::move(mark_name), Clock::now());
  sink_.reschedule();
  return queued;
}

audio::InterruptResult CallSession::interrupt() {
  audio::InterruptResult heard = interrupt(Clock::now());
  sink_.reschedule();
  return heard;
}

void CallSession::end_call(const agent::Action& action) {
  std::string decided = "hangup";
  if (action.kind == agent::ActionKind::kTransfer) decided = "transfer:" + action.transfer_to;
  history_.record_end_action(call_sid(), decided);
  log::CallScope scope(call_sid());
  spdlog::info("The agent ended the call ({})", decided);
  // Closing the stream makes Twilio continue after </Connect>: its <Redirect> asks
  // /phone/stream-ended, which answers <Hangup/> or <Dial> from the decision above.
  state_ = State::kEnded;
  if (conversation_) conversation_->stop();
  sink_.close(kCloseNormal, "call ended by the agent");
}

void CallSession::hand_over_reply(std::vector<std::uint8_t> reply_mulaw,
                                  const agent::Action& action) {
  log::CallScope scope(call_sid());
  history_.record_pending_reply(
      call_sid(), reply_mulaw.empty() ? std::string{} : options_.replies->put(std::move(reply_mulaw)));
  if (action.kind == agent::ActionKind::kHangup) history_.record_end_action(call_sid(), "hangup");
  if (action.kind == agent::ActionKind::kTransfer) {
    history_.record_end_action(call_sid(), "transfer:" + action.transfer_to);
  }
  spdlog::info("Hybrid turn: closing the stream so that TwiML plays the reply");
  // Twilio goes on after </Connect>: stream-ended plays the reply and reconnects.
  state_ = State::kEnded;
  if (conversation_) conversation_->stop();
  sink_.close(kCloseNormal, "turn handed to TwiML");
}

void CallSession::history_changed(const std::vector<agent::Turn>& history) {
  std::vector<TurnRecord> turns;
  turns.reserve(history.size());
  for (const auto& turn : history) turns.push_back({turn.caller, turn.agent, turn.heard});
  history_.record_turns(call_sid(), std::move(turns));
}

}  // namespace voxgate::call
