#include "call/conversation.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <sstream>

#include "audio/frames.hpp"
#include "util/log.hpp"

namespace voxgate::call {

namespace {

double seconds_since(Conversation::Clock::time_point then) {
  return std::chrono::duration<double>(Conversation::Clock::now() - then).count();
}

// The first `n` words of `text`.
std::string first_words(const std::string& text, std::size_t n) {
  std::istringstream in(text);
  std::string word, out;
  for (std::size_t i = 0; i < n && in >> word; ++i) {
    if (!out.empty()) out += ' ';
    out += word;
  }
  return out;
}

std::size_t word_count(const std::string& text) {
  std::istringstream in(text);
  std::string word;
  std::size_t n = 0;
  while (in >> word) ++n;
  return n;
}

}  // namespace

TurnMetrics::TurnMetrics(observe::Registry& r)
    : turn_latency_s(r.histogram("voxgate_turn_latency_seconds",
                                 "Last caller speech frame to the first reply audio queued "
                                 "(includes the endpoint silence).",
                                 {}, {0.25, 0.4, 0.5, 0.6, 0.7, 0.8, 1, 1.5, 2, 3, 5, 10})
                         .with({})),
      turn_response_s(r.histogram("voxgate_turn_response_seconds",
                                  "Turn latency minus the configured endpoint silence: the time "
                                  "voxgate itself takes to answer (VAD lag, STT, agent, TTS).",
                                  {},
                                  {0.01, 0.025, 0.05, 0.075, 0.1, 0.125, 0.15, 0.2, 0.25, 0.3, 0.4,
                                   0.5, 0.75, 1, 2, 5})
                          .with({})),
      stt_finish_s(r.histogram("voxgate_stt_finish_seconds",
                               "End of the caller's utterance to its transcript.", {},
                               observe::latency_buckets_s())
                       .with({})),
      agent_first_s(r.histogram("voxgate_agent_first_sentence_seconds",
                                "Transcript to the agent's first sentence.", {},
                                observe::latency_buckets_s())
                        .with({})),
      tts_first_audio_s(r.histogram("voxgate_tts_sentence_seconds",
                                    "Synthesis time of one reply sentence.", {},
                                    observe::latency_buckets_s())
                            .with({})),
      turns_total(r.counter("voxgate_turns_total", "Replies the agent started.").with({})),
      barge_ins_total(
          r.counter("voxgate_barge_ins_total", "Replies the caller interrupted.").with({})),
      agent_first_token_s(r.histogram("voxgate_agent_first_token_seconds",
                                      "Transcript to the first token of a streaming agent's "
                                      "reply.",
                                      {}, observe::latency_buckets_s())
                              .with({})),
      engine_errors_total(r.counter("voxgate_engine_errors_total",
                                    "Engine failures by stage (stt, agent, tts), engine and "
                                    "reason (timeout or error).",
                                    {"stage", "engine", "reason"})) {}

Conversation::Conversation(ConversationEngines engines, ConversationOptions options,
                           boost::asio::any_io_executor executor, agent::CallInfo call,
                           ConversationOutput& output, TurnMetrics& metrics)
    : engines_(engines),
      options_(options),
      executor_(std::move(executor)),
      call_(std::move(call)),
      output_(output),
      metrics_(metrics),
      vad_(engines.vad->open()),
      endpointer_(options.endpointer),
      stt_(engines.stt->open(executor_, {.expected_phrases = engines.agent->expected_phrases()})),
      agent_(engines.agent->open(executor_, call_)) {
  agent_->set_first_token_listener(
      [this] { metrics_.agent_first_token_s.observe(seconds_since(asked_at_)); });
}

Conversation::~Conversation() { stop(); }

bool Conversation::agent_talking() const {
  return unplayed_ > 0 || tts_in_flight_ > 0 || !agent_done_;
}

void Conversation::start(Clock::time_point now, std::vector<agent::Turn> resumed) {
  (void)now;
  if (!resumed.empty()) {
    history_ = std::move(resumed);
    turn_ = history_.size();  // mark names stay unique across the call's streams
    return;
  }
  speak(agent_->greeting());
}

void Conversation::on_audio(std::span<const std::int16_t> frame_8k, Clock::time_point now) {
  if (stopped_) return;
  remember(frame_8k);

  const bool speech = vad_->is_speech(frame_8k);
  if (utterance_open_) stt_->feed(frame_8k);
  const vad::EndpointerUpdate update = endpointer_.push(speech, now);
  switch (update.event) {
    case vad::EndpointEvent::kSpeechStart:
      begin_utterance();
      break;
    case vad::EndpointEvent::kBargeIn:
      if (utterance_open_ && utterance_started_while_talking_ && agent_talking()) barge_in();
      break;
    case vad::EndpointEvent::kEndOfUtterance:
      end_utterance(update.last_speech, now);
      break;
    case vad::EndpointEvent::kNone:
      break;
  }
}

void Conversation::remember(std::span<const std::int16_t> frame_8k) {
  const auto capacity = std::max<std::size_t>(
      audio::kFrameSamples,
      static_cast<std::size_t>(options_.pre_speech.count()) * audio::kTelephonyRateHz / 1000);
  // Every 20 ms of every call comes through here: copy in blocks, not sample by sample
  // (a modulo per sample showed up in profiles at a few hundred calls).
  if (recent_samples_.size() < capacity) {
    const std::size_t n = std::min(capacity - recent_samples_.size(), frame_8k.size());
    recent_samples_.insert(recent_samples_.end(), frame_8k.begin(), frame_8k.begin() + n);
    frame_8k = frame_8k.subspan(n);
  }
  if (frame_8k.size() > capacity) frame_8k = frame_8k.last(capacity);
  while (!frame_8k.empty()) {
    const std::size_t n = std::min(frame_8k.size(), capacity - recent_start_);
    std::copy_n(frame_8k.begin(), n, recent_samples_.begin() + static_cast<std::ptrdiff_t>(recent_start_));
    recent_start_ = (recent_start_ + n) % capacity;
    frame_8k = frame_8k.subspan(n);
  }
}

void Conversation::begin_utterance() {
  // While a transcript is being finished or answered, more speech is not a new turn yet.
  if (phase_ != Phase::kListening) return;
  utterance_open_ = true;
  utterance_started_while_talking_ = agent_talking();
  barged_in_ = false;
  stt_->start_utterance();
  // The ring in time order: from the oldest sample to the end, then the start.
  const std::span<const std::int16_t> ring(recent_samples_);
  stt_->feed(ring.subspan(recent_start_));
  if (recent_start_ > 0) stt_->feed(ring.first(recent_start_));
}

void Conversation::barge_in() {
  barged_in_ = true;
  metrics_.barge_ins_total.inc();
  const audio::InterruptResult heard = output_.interrupt();
  truncate_to_heard(heard);
  cancel_reply();
  log::CallScope scope(call_.call_sid);
  spdlog::info("Caller interrupted the reply after {} ms", heard.played.count());
}

void Conversation::end_utterance(Clock::time_point last_speech, Clock::time_point now) {
  if (!utterance_open_) return;
  utterance_open_ = false;
  if (utterance_started_while_talking_ && !barged_in_) {
    // A short "mm-hm" or a cough over the agent: not a turn.
    stt_->cancel();
    return;
  }
  phase_ = Phase::kRecognizing;
  heard_at_ = last_speech;
  const std::uint64_t round = ++stt_round_;
  stt_->finish([this, round, ended = now](util::Result<stt::Transcript> transcript) {
    if (stopped_ || round != stt_round_) return;
    metrics_.stt_finish_s.observe(seconds_since(ended));
    phase_ = Phase::kListening;
    if (!transcript.ok()) {
      count_engine_error("stt", engines_.stt->name(), transcript.error());
      log::CallScope scope(call_.call_sid);
      spdlog::warn("Speech recognition failed: {}", transcript.error().message);
      return;
    }
    if (transcript->text.empty()) return;  // noise, not words
    log::CallScope scope(call_.call_sid);
    spdlog::info("Caller said: \"{}\"", transcript->text);
    ask_agent(transcript->text, {}, heard_at_);
  });
}

void Conversation::on_dtmf(const std::string& digit, Clock::time_point now) {
  if (stopped_) return;
  if (agent_talking()) barge_in();  // a key press skips what is being said
  if (phase_ == Phase::kRecognizing) ++stt_round_;  // the key answers instead of the words
  if (utterance_open_) {
    stt_->cancel();
    utterance_open_ = false;
  }
  ask_agent({}, digit, now);
}

void Conversation::ask_agent(std::string transcript, std::string digits,
                             Clock::time_point heard_at) {
  phase_ = Phase::kThinking;
  ++turn_;
  sentence_ = 0;
  turn_audio_.clear();
  hybrid_reply_.clear();
  unplayed_ = 0;
  agent_done_ = false;
  pending_action_.reset();
  first_audio_of_turn_ = true;
  heard_at_ = heard_at;
  asked_at_ = Clock::now();
  metrics_.turns_total.inc();

  agent::Turn turn;
  turn.caller = transcript.empty() ? "[pressed " + digits + "]" : transcript;
  agent::Input input{.transcript = std::move(transcript),
                     .digits = std::move(digits),
                     .history = &history_};
  const std::uint64_t my_turn = turn_;
  agent_->respond(
      std::move(input),
      [this, my_turn](std::string sentence) {
        if (stopped_ || my_turn != turn_) return;
        if (sentence_ == 0) metrics_.agent_first_s.observe(seconds_since(asked_at_));
        speak(sentence);
      },
      [this, my_turn](util::Result<agent::Reply> reply) {
        if (stopped_ || my_turn != turn_) return;
        agent_done_ = true;
        phase_ = Phase::kListening;
        if (!reply.ok()) {
          count_engine_error("agent", engines_.agent->name(), reply.error());
          log::CallScope scope(call_.call_sid);
          spdlog::warn("The agent failed: {}", reply.error().message);
          // A spoken apology, never silence.
          speak("Sorry, I had a problem there. Could you say that again?");
          return;
        }
        history_.back().agent = reply->text;
        history_.back().heard = reply->text;
        output_.history_changed(history_);
        if (reply->action.kind != agent::ActionKind::kNone) pending_action_ = reply->action;
        maybe_end_call();
      });
  history_.push_back(std::move(turn));
  output_.history_changed(history_);
}

void Conversation::count_engine_error(std::string_view stage, std::string_view engine,
                                      const util::Error& error) {
  metrics_.engine_errors_total
      .with({stage, engine, error.code == util::ErrorCode::kTimeout ? "timeout" : "error"})
      .inc();
}

void Conversation::speak(const std::string& text) {
  ++tts_in_flight_;
  const std::uint64_t my_turn = turn_;
  tts_jobs_.push_back(engines_.tts->synthesize(
      text, executor_,
      [this, my_turn](tts::SentenceAudio audio) {
        if (stopped_ || my_turn != turn_) return;
        on_sentence_audio(std::move(audio));
      },
      [this, my_turn](util::Result<tts::Done> done) {
        if (stopped_ || my_turn != turn_) return;
        if (tts_in_flight_ > 0) --tts_in_flight_;
        if (!done.ok()) {
          count_engine_error("tts", engines_.tts->name(), done.error());
          log::CallScope scope(call_.call_sid);
          spdlog::warn("Speech synthesis failed: {}", done.error().message);
        }
        maybe_end_call();
      }));
}

void Conversation::on_sentence_audio(tts::SentenceAudio audio) {
  metrics_.tts_first_audio_s.observe(audio.synth_ms / 1000.0);
  if (first_audio_of_turn_ && turn_ > 0) {
    const double latency_s = seconds_since(heard_at_);
    metrics_.turn_latency_s.observe(latency_s);
    metrics_.turn_response_s.observe(
        std::max(0.0, latency_s - options_.endpointer.endpoint_silence_ms / 1000.0));
    first_audio_of_turn_ = false;
  }
  if (options_.hybrid && turn_ > 0) {
    // Played by TwiML once the reply is whole (maybe_end_call hands it over).
    hybrid_reply_.insert(hybrid_reply_.end(), audio.mulaw.begin(), audio.mulaw.end());
    ++sentence_;
    return;
  }
  std::string mark = "t" + std::to_string(turn_) + "-" + std::to_string(sentence_++);
  if (!output_.play(audio.mulaw, mark)) return;
  turn_audio_.push_back({std::move(mark), std::move(audio.text), audio.mulaw.size()});
  ++unplayed_;
}

void Conversation::on_mark_played(const std::string& name) {
  const auto it = std::find_if(turn_audio_.begin(), turn_audio_.end(),
                               [&](const Spoken& spoken) { return spoken.mark == name; });
  if (it == turn_audio_.end()) return;
  // Marks come back in the order sent: everything up to this one has played.
  const auto played = static_cast<std::size_t>(it - turn_audio_.begin()) + 1;
  unplayed_ = turn_audio_.size() - played;
  maybe_end_call();
}

void Conversation::maybe_end_call() {
  if (options_.hybrid && turn_ > 0 && !stopped_) {
    if (agent_talking()) return;
    const agent::Action action = pending_action_.value_or(agent::Action{});
    pending_action_.reset();
    stopped_ = true;  // this stream's part of the call is over
    output_.hand_over_reply(std::move(hybrid_reply_), action);
    return;
  }
  if (!pending_action_ || agent_talking()) return;
  const agent::Action action = *pending_action_;
  pending_action_.reset();
  output_.end_call(action);
}

void Conversation::cancel_reply() {
  agent_->cancel();
  for (auto& job : tts_jobs_) job->cancel();
  tts_jobs_.clear();
  tts_in_flight_ = 0;
  agent_done_ = true;
  pending_action_.reset();
  unplayed_ = 0;
  phase_ = Phase::kListening;
  ++turn_;  // callbacks of the cancelled reply are stale from now on
}

void Conversation::truncate_to_heard(const audio::InterruptResult& heard) {
  if (history_.empty() || turn_audio_.empty()) return;
  // Whole sentences up to the played time, then the share of the next one's words.
  std::size_t played_bytes =
      static_cast<std::size_t>(heard.played.count()) * audio::kTelephonyRateHz / 1000;
  std::string text_heard, text_said;
  bool cut = false;
  for (const Spoken& spoken : turn_audio_) {
    if (!text_said.empty()) text_said += ' ';
    text_said += spoken.text;
    if (cut) continue;
    if (played_bytes >= spoken.n_bytes) {
      played_bytes -= spoken.n_bytes;
      if (!text_heard.empty()) text_heard += ' ';
      text_heard += spoken.text;
      continue;
    }
    const std::size_t n_words = word_count(spoken.text) * played_bytes / spoken.n_bytes;
    const std::string partial = first_words(spoken.text, n_words);
    if (!partial.empty()) {
      if (!text_heard.empty()) text_heard += ' ';
      text_heard += partial + "…";
    }
    cut = true;
  }
  agent::Turn& last = history_.back();
  if (last.agent.empty()) last.agent = text_said;
  last.heard = text_heard;
  output_.history_changed(history_);
}

void Conversation::stop() {
  if (stopped_) return;
  stopped_ = true;
  stt_->cancel();
  agent_->cancel();
  for (auto& job : tts_jobs_) job->cancel();
  tts_jobs_.clear();
}

}  // namespace voxgate::call
