// The library facade of DESIGN.md §5, the seed's API: a C++ application can hand it a
// call's audio and ask where Twilio should stream to, without the HTTP layer. The
// server's HTTP chunk API goes through it too.
//
//   voxgate::AIVoiceIntegration ai{{.twilio_account_sid = sid, .twilio_auth_token = token}};
//   voxgate::ProcessingResult r = ai.process_realtime_audio(bytes, call_sid);
//   std::optional<std::string> url = ai.get_streaming_audio_url(call_sid);  // nullopt: use recording
//
// Processing an utterance: speech-to-text, the agent, text-to-speech, with the engines
// given at construction (the server gives its own); the reply's audio is kept for
// GET /audio/{id}.wav. Without engines a result carries the duration and a null
// transcript.
//
//   chunks ─▶ 8 kHz PCM ─▶ STT ─▶ transcript ─▶ agent (with the call's history) ─▶ reply
//          ─▶ TTS ─▶ mu-law ─▶ AudioStore ─▶ reply_audio_url
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include <boost/asio/any_io_executor.hpp>

#include <functional>
#include <memory>
#include <vector>

#include "agent/engine.hpp"
#include "call/audio_store.hpp"
#include "call/chunk_state.hpp"
#include "call/chunk_store.hpp"
#include "stt/engine.hpp"
#include "tts/engine.hpp"

namespace voxgate {

struct AIVoiceIntegrationOptions {
  std::string twilio_account_sid;
  std::string twilio_auth_token;
  // "https://voice.example.com": where Twilio reaches the server; "" = not reachable.
  std::string public_base_url;
  double max_audio_per_call_s = 120;   // pending audio a call may accumulate
  std::size_t max_calls_with_audio = 2000;
  // Where pending chunks and the chunk API's conversations live (call/chunk_state.hpp):
  // nullptr keeps them in this process, bounded by the two settings above; a shared one
  // (call::SharedChunks) lets several workers serve one call. Must outlive the facade.
  call::ChunkState* chunk_state = nullptr;
  // The engines that process an utterance; all three, or none (no processing). They
  // must outlive the facade.
  stt::SttEngine* stt = nullptr;
  agent::AgentEngine* agent = nullptr;
  tts::TtsEngine* tts = nullptr;
};

// DESIGN.md §2 "Processing result JSON".
struct ProcessingResult {
  std::string call_sid;
  std::optional<std::string> transcript;
  std::optional<std::string> reply;
  std::optional<std::string> reply_audio_url;
  bool ended = false;
  agent::Action action;  // why it ended: hang up, or transfer to action.transfer_to
  double audio_duration_s = 0;
  std::size_t chunks = 0;
  struct {
    double stt = 0, agent = 0, tts = 0, total = 0;
  } timings_ms;
  // complete: the call's audio could not be read (the shared store is down); nothing was
  // taken, and the chunks are still pending.
  bool unavailable = false;
};

// How the bytes of one chunk are encoded.
enum class AudioEncoding {
  kFile,       // a file libsndfile reads: WAV (PCM 8/16-bit, mu-law, …), AU, …; any rate
  kRawMulaw8k  // headerless 8 kHz mu-law (audio/x-mulaw, audio/basic)
};

enum class ChunkError {
  kNone,
  kBadCallSid,    // not letters, digits, '_' or '-' (1–64)
  kEmpty,         // no audio in it
  kUnrecognized,  // not an audio file
  kUnsupported,   // an audio file of a kind we cannot convert
  kTooLarge,      // would take the call past max_audio_per_call_s
  kTooManyCalls,  // max_calls_with_audio calls already have pending audio
  kUnavailable    // the shared store cannot be reached; nothing was stored
};

struct ChunkResult {
  ChunkError error = ChunkError::kNone;
  std::string message;      // a human sentence when error != kNone
  std::size_t chunks = 0;   // the call's pending chunks after this one (0 on error)
  std::size_t bytes = 0;    // and their size as 8 kHz mu-law
};

// Thread-safe: calls for different (or the same) call sids may come from any thread.
class AIVoiceIntegration {
 public:
  explicit AIVoiceIntegration(AIVoiceIntegrationOptions options);

  // Converts one chunk to the call's format (8 kHz mono mu-law) and stores it. A chunk
  // that fails leaves the call's earlier audio intact. `bytes` is read before the call
  // returns; `done` runs once through `executor`.
  void add_audio_chunk_async(std::string_view call_sid, std::span<const std::uint8_t> bytes,
                             AudioEncoding encoding, boost::asio::any_io_executor executor,
                             std::function<void(ChunkResult)> done);
  // The same, blocking the calling thread until the chunk is stored: for library use, not
  // for I/O threads.
  ChunkResult add_audio_chunk(std::string_view call_sid, std::span<const std::uint8_t> bytes,
                              AudioEncoding encoding = AudioEncoding::kFile);
  // Processes everything stored for the call as one utterance, with the call's earlier
  // turns, and frees it. Blocks the calling thread until the engines are done: for library
  // use, not for I/O threads.
  ProcessingResult complete_audio(std::string_view call_sid);
  // The same without blocking: `done` runs once through `executor`. `base_url` is where
  // /audio/{id}.wav is reachable ("" = options().public_base_url).
  void complete_audio_async(std::string_view call_sid, std::string base_url,
                            boost::asio::any_io_executor executor,
                            std::function<void(ProcessingResult)> done);
  // One utterance whose conversation lives elsewhere (recording mode keeps it in the call
  // history): `history` is the call so far, and is not remembered by the facade. `done`
  // runs once through `executor`.
  void process_utterance_async(std::string call_sid, std::vector<std::uint8_t> mulaw_8k,
                               std::vector<agent::Turn> history, std::string base_url,
                               boost::asio::any_io_executor executor,
                               std::function<void(ProcessingResult)> done);
  // Synthesizes `text` for <Play>: `done` gets the /audio/{id}.wav URL under `base_url`,
  // or nullopt when there is no TTS engine or synthesis failed (the caller falls back to
  // <Say>). Runs once through `executor`.
  void synthesize_async(std::string text, std::string base_url,
                        boost::asio::any_io_executor executor,
                        std::function<void(std::optional<std::string> url)> done);

  // The seed's one call: add a chunk, then process what the call has. A chunk that fails
  // gives a result with zero duration; use add_audio_chunk to learn why.
  ProcessingResult process_realtime_audio(std::span<const std::uint8_t> bytes,
                                          std::string_view call_sid);

  // wss://…/phone/stream-audio/{call_sid} when a public base URL is configured (Twilio
  // can only stream to a public wss:// URL); nullopt otherwise: use recording mode.
  std::optional<std::string> get_streaming_audio_url(std::string_view call_sid) const;

  // Synthesized replies, for GET /audio/{id}.wav.
  const call::AudioStore& replies() const { return replies_; }
  call::AudioStore& replies() { return replies_; }
  const AIVoiceIntegrationOptions& options() const { return options_; }

 private:
  struct Job;
  void start(const std::shared_ptr<Job>& job);
  void run_stt(const std::shared_ptr<Job>& job);
  void run_agent(const std::shared_ptr<Job>& job);
  void run_tts(const std::shared_ptr<Job>& job);
  void finish(const std::shared_ptr<Job>& job);

  const AIVoiceIntegrationOptions options_;
  std::unique_ptr<call::ChunkStore> own_chunks_;  // when no chunk_state was given
  call::ChunkState& chunks_;
  call::AudioStore replies_;
};

}  // namespace voxgate
