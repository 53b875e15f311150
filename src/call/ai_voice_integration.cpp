#include "call/ai_voice_integration.hpp"

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/strand.hpp>
#include <spdlog/spdlog.h>

#include <chrono>
#include <variant>

#include "audio/frames.hpp"
#include "audio/g711.hpp"
#include "audio/wav.hpp"
#include "call/call_sid.hpp"
#include "twilio/twiml.hpp"
#include "util/log.hpp"

namespace voxgate {

namespace {

double duration_s(std::size_t n_mulaw_bytes) {
  return static_cast<double>(n_mulaw_bytes) / audio::kTelephonyRateHz;
}

}  // namespace

AIVoiceIntegration::AIVoiceIntegration(AIVoiceIntegrationOptions options)
    : options_(std::move(options)),
      own_chunks_(options_.chunk_state != nullptr
                      ? nullptr
                      : std::make_unique<call::ChunkStore>(
                            static_cast<std::size_t>(options_.max_audio_per_call_s *
                                                     audio::kTelephonyRateHz),
                            options_.max_calls_with_audio)),
      chunks_(options_.chunk_state != nullptr ? *options_.chunk_state : *own_chunks_) {}

namespace {

// Runs an asynchronous member to completion on the calling thread (the blocking library
// calls).
template <class T, class Start>
T run_blocking(Start&& start) {
  boost::asio::io_context io;
  auto work = boost::asio::make_work_guard(io);
  T out{};
  start(io.get_executor(), [&](T result) {
    out = std::move(result);
    work.reset();
  });
  io.run();
  return out;
}

ChunkResult chunk_error(ChunkError error, std::string message) {
  ChunkResult result;
  result.error = error;
  result.message = std::move(message);
  return result;
}

// Checks the chunk and converts it to 8 kHz mu-law; a ChunkResult on refusal.
std::variant<std::vector<std::uint8_t>, ChunkResult> to_call_audio(
    std::string_view call_sid, std::span<const std::uint8_t> bytes, AudioEncoding encoding,
    double max_audio_s) {
  if (!call::is_valid_call_sid(call_sid)) {
    return chunk_error(ChunkError::kBadCallSid,
                       "The call sid may hold only letters, digits, '_' and '-' (1 to 64).");
  }
  if (bytes.empty()) return chunk_error(ChunkError::kEmpty, "The chunk holds no audio.");
  if (encoding == AudioEncoding::kRawMulaw8k) {
    return std::vector<std::uint8_t>(bytes.begin(), bytes.end());
  }
  const audio::DecodeResult decoded = audio::decode_audio(bytes, max_audio_s);
  if (!decoded.audio) {
    ChunkError error = ChunkError::kUnrecognized;
    switch (decoded.error.value_or(audio::AudioError::kUnrecognized)) {
      case audio::AudioError::kEmpty:
        error = ChunkError::kEmpty;
        break;
      case audio::AudioError::kUnsupported:
        error = ChunkError::kUnsupported;
        break;
      case audio::AudioError::kTooLong:
        error = ChunkError::kTooLarge;
        break;
      case audio::AudioError::kUnrecognized:
        break;
    }
    return chunk_error(error, decoded.message);
  }
  std::vector<std::uint8_t> mulaw = audio::to_call_format(*decoded.audio);
  if (mulaw.empty()) return chunk_error(ChunkError::kEmpty, "The audio file holds no samples.");
  return mulaw;
}

}  // namespace

void AIVoiceIntegration::add_audio_chunk_async(std::string_view call_sid,
                                               std::span<const std::uint8_t> bytes,
                                               AudioEncoding encoding,
                                               boost::asio::any_io_executor executor,
                                               std::function<void(ChunkResult)> done) {
  auto converted = to_call_audio(call_sid, bytes, encoding, options_.max_audio_per_call_s);
  if (auto* refused = std::get_if<ChunkResult>(&converted)) {
    boost::asio::post(executor, [done = std::move(done), result = std::move(*refused)]() mutable {
      done(std::move(result));
    });
    return;
  }
  auto& mulaw = std::get<std::vector<std::uint8_t>>(converted);
  const std::size_t chunk_bytes = mulaw.size();
  chunks_.append(
      std::string(call_sid), std::move(mulaw), executor,
      [this, sid = std::string(call_sid), chunk_bytes,
       done = std::move(done)](call::ChunkState::Appended appended) {
        switch (appended.refusal) {
          case call::ChunkState::Refusal::kNone:
            break;
          case call::ChunkState::Refusal::kCallFull:
            return done(chunk_error(
                ChunkError::kTooLarge,
                "This chunk would take the call past " +
                    std::to_string(static_cast<int>(duration_s(chunks_.max_bytes_per_call()))) +
                    " s of pending audio (or " + std::to_string(chunks_.max_chunks_per_call()) +
                    " chunks); complete the call's audio first."));
          case call::ChunkState::Refusal::kTooManyCalls:
            return done(chunk_error(ChunkError::kTooManyCalls,
                                    "Too many calls have pending audio; try again later."));
          case call::ChunkState::Refusal::kUnavailable:
            return done(chunk_error(ChunkError::kUnavailable,
                                    "The shared call store cannot be reached; nothing was "
                                    "stored. Try again."));
        }
        ChunkResult result;
        result.chunks = appended.totals.chunks;
        result.bytes = appended.totals.bytes;
        log::CallScope scope(sid);
        spdlog::info("Stored audio chunk for call {} ({:.2f} s; {} chunks, {:.2f} s pending)", sid,
                     duration_s(chunk_bytes), result.chunks, duration_s(result.bytes));
        done(std::move(result));
      });
}

ChunkResult AIVoiceIntegration::add_audio_chunk(std::string_view call_sid,
                                                std::span<const std::uint8_t> bytes,
                                                AudioEncoding encoding) {
  return run_blocking<ChunkResult>([&](auto executor, auto done) {
    add_audio_chunk_async(call_sid, bytes, encoding, executor, std::move(done));
  });
}

struct AIVoiceIntegration::Job {
  ProcessingResult result;
  std::string base_url;
  boost::asio::any_io_executor executor;
  std::function<void(ProcessingResult)> done;
  std::vector<std::uint8_t> mulaw;
  std::unique_ptr<stt::SttStream> stt;
  std::unique_ptr<agent::AgentSession> agent;
  std::unique_ptr<tts::TtsJob> tts;
  std::vector<std::uint8_t> reply_audio;
  // The conversation so far: the chunk API's (remember_turn: the new turn is added to it),
  // or recording mode's, which lives in the call history.
  std::vector<agent::Turn> history;
  bool remember_turn = false;
  std::chrono::steady_clock::time_point started, step_started;
};

namespace {

double ms_since(std::chrono::steady_clock::time_point then) {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - then)
      .count();
}

}  // namespace

ProcessingResult AIVoiceIntegration::complete_audio(std::string_view call_sid) {
  return run_blocking<ProcessingResult>([&](auto executor, auto done) {
    complete_audio_async(call_sid, {}, executor, std::move(done));
  });
}

void AIVoiceIntegration::complete_audio_async(std::string_view call_sid, std::string base_url,
                                              boost::asio::any_io_executor executor,
                                              std::function<void(ProcessingResult)> done) {
  auto job = std::make_shared<Job>();
  job->started = std::chrono::steady_clock::now();
  job->result.call_sid = std::string(call_sid);
  job->base_url = base_url.empty() ? options_.public_base_url : std::move(base_url);
  // The engines call back from their own threads, and one reply's callbacks (TTS audio,
  // then done) must not run at once: a strand serializes them, whatever `executor` is.
  job->executor = boost::asio::make_strand(executor);
  job->done = std::move(done);
  job->remember_turn = true;
  // The history first: if the store cannot give it, nothing has been taken yet.
  chunks_.history(job->result.call_sid, job->executor, [this, job](call::ChunkState::History history) {
    if (history.unavailable) {
      job->result.unavailable = true;
      return finish(job);
    }
    job->history = std::move(history.turns);
    chunks_.take(job->result.call_sid, job->executor, [this, job](call::ChunkState::Taken taken) {
      if (taken.unavailable) {
        job->result.unavailable = true;
        return finish(job);
      }
      job->mulaw = std::move(taken.mulaw);
      job->result.chunks = taken.chunks;
      job->result.audio_duration_s = duration_s(job->mulaw.size());
      log::CallScope scope(job->result.call_sid);
      spdlog::info("Processing streamed audio for call {} ({:.2f} s in {} chunks)",
                   job->result.call_sid, job->result.audio_duration_s, job->result.chunks);
      start(job);
    });
  });
}

void AIVoiceIntegration::process_utterance_async(std::string call_sid,
                                                 std::vector<std::uint8_t> mulaw_8k,
                                                 std::vector<agent::Turn> history,
                                                 std::string base_url,
                                                 boost::asio::any_io_executor executor,
                                                 std::function<void(ProcessingResult)> done) {
  auto job = std::make_shared<Job>();
  job->started = std::chrono::steady_clock::now();
  job->result.call_sid = std::move(call_sid);
  job->base_url = base_url.empty() ? options_.public_base_url : std::move(base_url);
  job->executor = boost::asio::make_strand(executor);
  job->done = std::move(done);
  job->mulaw = std::move(mulaw_8k);
  job->result.chunks = 1;
  job->result.audio_duration_s = duration_s(job->mulaw.size());
  job->history = std::move(history);
  start(job);
}

void AIVoiceIntegration::start(const std::shared_ptr<Job>& job) {
  if (options_.stt == nullptr || options_.agent == nullptr || options_.tts == nullptr ||
      job->mulaw.empty()) {
    return finish(job);
  }
  run_stt(job);
}

void AIVoiceIntegration::synthesize_async(std::string text, std::string base_url,
                                          boost::asio::any_io_executor executor,
                                          std::function<void(std::optional<std::string>)> done) {
  if (options_.tts == nullptr) {
    boost::asio::post(executor, [done = std::move(done)] { done(std::nullopt); });
    return;
  }
  struct Synthesis {
    std::vector<std::uint8_t> mulaw;
    std::unique_ptr<tts::TtsJob> job;
    std::function<void(std::optional<std::string>)> done;
  };
  auto synthesis = std::make_shared<Synthesis>();
  synthesis->done = std::move(done);
  const auto strand = boost::asio::make_strand(executor);
  const std::string base = base_url.empty() ? options_.public_base_url : std::move(base_url);
  synthesis->job = options_.tts->synthesize(
      std::move(text), strand,
      [synthesis](tts::SentenceAudio sentence) {
        synthesis->mulaw.insert(synthesis->mulaw.end(), sentence.mulaw.begin(),
                                sentence.mulaw.end());
      },
      [this, synthesis, base, strand](util::Result<tts::Done> made) {
        std::optional<std::string> url;
        if (!made.ok()) {
          spdlog::warn("Speech synthesis failed: {}", made.error().message);
        } else if (!synthesis->mulaw.empty()) {
          url = base + "/audio/" + replies_.put(std::move(synthesis->mulaw)) + ".wav";
        }
        // The engine's thread may hold this callback, and with it `synthesis`, a while
        // longer: `done` (which may hold an HTTP connection) must not go with it there. It is
        // called, and destroyed, on the strand; the job's handle is released there too.
        auto done = std::move(synthesis->done);
        synthesis->done = nullptr;
        boost::asio::post(strand, [synthesis, url = std::move(url), done = std::move(done)] {
          synthesis->job.reset();
          done(url);
        });
      });
}

void AIVoiceIntegration::run_stt(const std::shared_ptr<Job>& job) {
  job->step_started = std::chrono::steady_clock::now();
  job->stt = options_.stt->open(job->executor,
                                {.expected_phrases = options_.agent->expected_phrases()});
  job->stt->start_utterance();
  std::vector<std::int16_t> pcm;
  audio::decode_ulaw(job->mulaw, pcm);
  for (std::size_t at = 0; at < pcm.size(); at += audio::kFrameSamples) {
    const std::size_t n = std::min(audio::kFrameSamples, pcm.size() - at);
    job->stt->feed(std::span<const std::int16_t>(pcm).subspan(at, n));
  }
  job->stt->finish([this, job](util::Result<stt::Transcript> transcript) {
    job->result.timings_ms.stt = ms_since(job->step_started);
    if (!transcript.ok()) {
      log::CallScope scope(job->result.call_sid);
      spdlog::warn("Speech recognition failed: {}", transcript.error().message);
      return finish(job);
    }
    job->result.transcript = transcript->text;
    if (transcript->text.empty()) return finish(job);
    run_agent(job);
  });
}

void AIVoiceIntegration::run_agent(const std::shared_ptr<Job>& job) {
  job->step_started = std::chrono::steady_clock::now();
  job->agent = options_.agent->open(job->executor, {.call_sid = job->result.call_sid});
  // The agent may read the history until it is done: it lives as long as the callback.
  job->agent->respond(
      {.transcript = *job->result.transcript, .history = &job->history},
      [](std::string) {},  // the reply is spoken whole below
      [this, job](util::Result<agent::Reply> reply) {
        job->result.timings_ms.agent = ms_since(job->step_started);
        if (!reply.ok()) {
          log::CallScope scope(job->result.call_sid);
          spdlog::warn("The agent failed: {}", reply.error().message);
          return finish(job);
        }
        job->result.reply = reply->text;
        job->result.action = reply->action;
        job->result.ended = reply->action.kind != agent::ActionKind::kNone;
        if (!job->remember_turn) return run_tts(job);
        // Stored before the reply goes out, so that the call's next complete, on whichever
        // worker, has it.
        chunks_.add_turn(job->result.call_sid, {*job->result.transcript, reply->text, reply->text},
                         job->executor, [this, job] { run_tts(job); });
      });
}

void AIVoiceIntegration::run_tts(const std::shared_ptr<Job>& job) {
  job->step_started = std::chrono::steady_clock::now();
  job->tts = options_.tts->synthesize(
      *job->result.reply, job->executor,
      [job](tts::SentenceAudio sentence) {
        job->reply_audio.insert(job->reply_audio.end(), sentence.mulaw.begin(),
                                sentence.mulaw.end());
      },
      [this, job](util::Result<tts::Done> done) {
        job->result.timings_ms.tts = ms_since(job->step_started);
        if (!done.ok()) {
          log::CallScope scope(job->result.call_sid);
          spdlog::warn("Speech synthesis failed: {}", done.error().message);
        } else if (!job->reply_audio.empty()) {
          const std::string id = replies_.put(std::move(job->reply_audio));
          job->result.reply_audio_url = job->base_url + "/audio/" + id + ".wav";
        }
        finish(job);
      });
}

void AIVoiceIntegration::finish(const std::shared_ptr<Job>& job) {
  job->result.timings_ms.total = ms_since(job->started);
  // The engines' handles hold callbacks that hold the job: let them go.
  auto done = std::move(job->done);
  ProcessingResult result = std::move(job->result);
  boost::asio::post(job->executor, [done = std::move(done), result = std::move(result),
                                    job]() mutable {
    job->stt.reset();
    job->agent.reset();
    job->tts.reset();
    done(std::move(result));
  });
}

ProcessingResult AIVoiceIntegration::process_realtime_audio(std::span<const std::uint8_t> bytes,
                                                            std::string_view call_sid) {
  const ChunkResult added = add_audio_chunk(call_sid, bytes);
  if (added.error != ChunkError::kNone) {
    ProcessingResult result;
    result.call_sid = std::string(call_sid);
    return result;
  }
  return complete_audio(call_sid);
}

std::optional<std::string> AIVoiceIntegration::get_streaming_audio_url(
    std::string_view call_sid) const {
  // Twilio streams only to wss:// (twilio-protocol.md §1.5): an https base or nothing.
  if (!options_.public_base_url.starts_with("https://")) return std::nullopt;
  if (!call::is_valid_call_sid(call_sid)) return std::nullopt;
  return twilio::websocket_url_of(options_.public_base_url) + "/phone/stream-audio/" +
         std::string(call_sid);
}

}  // namespace voxgate
