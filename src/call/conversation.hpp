// The turn loop of a streaming call: it listens, decides when the caller has finished,
// asks the agent, and speaks the answer sentence by sentence, and it lets the caller
// interrupt (barge-in). It sees the engines only through their interfaces.
//
//   frame (8 kHz) ─▶ VAD ─▶ endpointer ─┬─ speech start ─▶ STT: start + the last 300 ms
//                                        ├─ (each frame) ─▶ STT: feed       (decodes while
//                                        │                                   the caller talks)
//                                        ├─ barge-in while the agent talks ─▶ interrupt:
//                                        │     `clear`, cancel agent + TTS, note what was heard
//                                        └─ end of utterance ─▶ STT: finish ─▶ transcript
//   transcript / DTMF ─▶ agent ─▶ sentence ─▶ TTS ─▶ mu-law ─▶ play (pacer, a mark per sentence)
//   last mark echoed ─▶ the agent's action: hang up or transfer
//
// Threading: not thread-safe; every method runs on the call's strand, and every engine
// callback comes back through that strand (the `executor` given here).
#pragma once

#include <boost/asio/any_io_executor.hpp>

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "agent/engine.hpp"
#include "audio/pacer.hpp"
#include "observe/metrics.hpp"
#include "stt/engine.hpp"
#include "tts/engine.hpp"
#include "vad/endpointer.hpp"
#include "vad/engine.hpp"

namespace voxgate::call {

struct ConversationEngines {
  const vad::VadEngine* vad = nullptr;
  stt::SttEngine* stt = nullptr;
  tts::TtsEngine* tts = nullptr;
  agent::AgentEngine* agent = nullptr;
};

// What the conversation needs from the stream it talks over (CallSession provides it).
class ConversationOutput {
 public:
  virtual ~ConversationOutput() = default;
  // Queues speech (8 kHz mu-law) followed by a mark. False if it could not be queued.
  virtual bool play(std::span<const std::uint8_t> mulaw, std::string mark_name) = 0;
  // Stops what is playing (sends `clear`) and reports what was heard.
  virtual audio::InterruptResult interrupt() = 0;
  // The agent's last words have been heard: hang up or transfer.
  virtual void end_call(const agent::Action& action) = 0;
  // The conversation's history changed (a turn added, a reply truncated by barge-in).
  virtual void history_changed(const std::vector<agent::Turn>& history) { (void)history; }
  // Hybrid mode: the turn's whole reply (8 kHz mu-law, maybe empty) and the agent's action
  // are ready; they are to be played with TwiML after this stream closes.
  virtual void hand_over_reply(std::vector<std::uint8_t> reply_mulaw,
                               const agent::Action& action) {
    (void)reply_mulaw;
    (void)action;
  }
};

// The Prometheus series of the turn loop, registered once and shared by every call.
struct TurnMetrics {
  explicit TurnMetrics(observe::Registry& registry);
  observe::Histogram& turn_latency_s;     // last caller speech frame -> first reply audio queued
  observe::Histogram& turn_response_s;    // the same minus the endpoint silence: our own work
  observe::Histogram& stt_finish_s;       // end of utterance -> transcript
  observe::Histogram& agent_first_s;      // transcript -> agent's first sentence
  observe::Histogram& tts_first_audio_s;  // sentence -> its audio
  observe::Counter& turns_total;
  observe::Counter& barge_ins_total;
  observe::Histogram& agent_first_token_s;  // transcript -> a streaming agent's first token
  observe::Family<observe::Counter>& engine_errors_total;  // stage, engine, reason
};

struct ConversationOptions {
  vad::EndpointerOptions endpointer;
  // Audio kept from before the endpointer is sure speech started (it needs min_speech_ms),
  // handed to the recognizer so the first syllable is not lost.
  std::chrono::milliseconds pre_speech{300};
  // Hybrid mode (DESIGN.md §1): replies are not streamed but handed over whole
  // (ConversationOutput::hand_over_reply) to be played by TwiML between two streams.
  bool hybrid = false;
};

class Conversation {
 public:
  using Clock = std::chrono::steady_clock;

  // Engines and `output`, `metrics` must outlive the conversation.
  Conversation(ConversationEngines engines, ConversationOptions options,
               boost::asio::any_io_executor executor, agent::CallInfo call,
               ConversationOutput& output, TurnMetrics& metrics);
  ~Conversation();

  // The stream has started: greet the caller, or, when `resumed` holds the turns of an
  // earlier stream of the same call (hybrid mode, a reconnect), go on listening.
  void start(Clock::time_point now, std::vector<agent::Turn> resumed = {});
  // One 20 ms frame of the caller's audio, 8 kHz PCM.
  void on_audio(std::span<const std::int16_t> frame_8k, Clock::time_point now);
  void on_dtmf(const std::string& digit, Clock::time_point now);
  // Twilio echoed a mark of ours as played.
  void on_mark_played(const std::string& name);
  // The call is over: cancel everything in flight.
  void stop();

  const std::vector<agent::Turn>& history() const { return history_; }
  bool agent_talking() const;

 private:
  enum class Phase { kListening, kRecognizing, kThinking };

  void remember(std::span<const std::int16_t> frame_8k);
  void begin_utterance();
  void end_utterance(Clock::time_point last_speech, Clock::time_point now);
  void barge_in();
  void ask_agent(std::string transcript, std::string digits, Clock::time_point heard_at);
  void speak(const std::string& text);
  void count_engine_error(std::string_view stage, std::string_view engine,
                          const util::Error& error);
  void on_sentence_audio(tts::SentenceAudio audio);
  void maybe_end_call();
  void cancel_reply();
  void truncate_to_heard(const audio::InterruptResult& heard);

  const ConversationEngines engines_;
  const ConversationOptions options_;
  boost::asio::any_io_executor executor_;
  const agent::CallInfo call_;
  ConversationOutput& output_;
  TurnMetrics& metrics_;

  std::unique_ptr<vad::VadDetector> vad_;
  vad::Endpointer endpointer_;
  std::unique_ptr<stt::SttStream> stt_;
  std::unique_ptr<agent::AgentSession> agent_;
  std::vector<std::unique_ptr<tts::TtsJob>> tts_jobs_;

  Phase phase_ = Phase::kListening;
  bool utterance_open_ = false;
  bool utterance_started_while_talking_ = false;
  bool barged_in_ = false;
  // Pre-speech audio: the last pre_speech of samples, oldest first. Kept as one sample
  // ring so the 20 ms path allocates nothing.
  std::vector<std::int16_t> recent_samples_;
  std::size_t recent_start_ = 0;  // index of the oldest sample once the ring is full
  std::uint64_t turn_ = 0;       // counts replies; names marks
  std::uint64_t stt_round_ = 0;  // retires stale STT results
  std::size_t sentence_ = 0;     // sentences queued for the current reply

  // The reply being spoken.
  struct Spoken {
    std::string mark;
    std::string text;
    std::size_t n_bytes = 0;
  };
  std::vector<Spoken> turn_audio_;  // every sentence queued for the current reply, in order
  std::size_t unplayed_ = 0;        // how many of them Twilio has not echoed as played
  std::optional<agent::Action> pending_action_;
  bool agent_done_ = true;
  std::size_t tts_in_flight_ = 0;  // synthesis jobs not yet done
  Clock::time_point heard_at_{};     // the last caller speech of the turn being answered
  Clock::time_point asked_at_{};
  bool first_audio_of_turn_ = false;
  bool stopped_ = false;
  std::vector<agent::Turn> history_;
  std::vector<std::uint8_t> hybrid_reply_;  // hybrid mode: the reply's audio so far
};

}  // namespace voxgate::call
