#include "call/ai_voice_integration.hpp"

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/strand.hpp>
#include <spdlog/spdlog.h>

#include <chrono>

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
      chunks_(static_cast<std::size_t>(options_.max_audio_per_call_s * audio::kTelephonyRateHz),
              options_.max_calls_with_audio) {}

ChunkResult AIVoiceIntegration::add_audio_chunk(std::string_view call_sid,
                                                std::span<const std::uint8_t> bytes,
                                                AudioEncoding encoding) {
  ChunkResult result;
  if (!call::is_valid_call_sid(call_sid)) {
    result.error = ChunkError::kBadCallSid;
    result.message = "The call sid may hold only letters, digits, '_' and '-' (1 to 64).";
    return result;
  }
  const auto before = chunks_.totals(call_sid);
  result.chunks = before.chunks;
  result.bytes = before.bytes;
  if (bytes.empty()) {
    result.error = ChunkError::kEmpty;
    result.message = "The chunk holds no audio.";
    return result;
  }

  std::vector<std::uint8_t> mulaw;
  if (encoding == AudioEncoding::kRawMulaw8k) {
    mulaw.assign(bytes.begin(), bytes.end());
  } else {
    const audio::DecodeResult decoded =
        audio::decode_audio(bytes, options_.max_audio_per_call_s);
    if (!decoded.audio) {
      switch (decoded.error.value_or(audio::AudioError::kUnrecognized)) {
        case audio::AudioError::kEmpty:
          result.error = ChunkError::kEmpty;
          break;
        case audio::AudioError::kUnsupported:
          result.error = ChunkError::kUnsupported;
          break;
        case audio::AudioError::kTooLong:
          result.error = ChunkError::kTooLarge;
          break;
        case audio::AudioError::kUnrecognized:
          result.error = ChunkError::kUnrecognized;
          break;
      }
      result.message = decoded.message;
      return result;
    }
    mulaw = audio::to_call_format(*decoded.audio);
    if (mulaw.empty()) {
      result.error = ChunkError::kEmpty;
      result.message = "The audio file holds no samples.";
      return result;
    }
  }

  const auto appended = chunks_.append(call_sid, mulaw);
  switch (appended.refusal) {
    case call::ChunkStore::Refusal::kNone:
      break;
    case call::ChunkStore::Refusal::kCallFull:
      result.error = ChunkError::kTooLarge;
      result.message = "This chunk would take the call past " +
                       std::to_string(static_cast<int>(options_.max_audio_per_call_s)) +
                       " s of pending audio; complete the call's audio first.";
      return result;
    case call::ChunkStore::Refusal::kTooManyCalls:
      result.error = ChunkError::kTooManyCalls;
      result.message = "Too many calls have pending audio; try again later.";
      return result;
  }
  result.chunks = appended.totals.chunks;
  result.bytes = appended.totals.bytes;
  log::CallScope scope(call_sid);
  spdlog::info("Stored audio chunk for call {} ({:.2f} s; {} chunks, {:.2f} s pending)",
               call_sid, duration_s(mulaw.size()), result.chunks, duration_s(result.bytes));
  return result;
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
  // Recording mode: the conversation so far, from the call history; the facade's own
  // per-call history is neither read nor written.
  std::optional<std::vector<agent::Turn>> given_history;
  std::chrono::steady_clock::time_point started, step_started;
};

namespace {

double ms_since(std::chrono::steady_clock::time_point then) {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - then)
      .count();
}

}  // namespace

ProcessingResult AIVoiceIntegration::complete_audio(std::string_view call_sid) {
  boost::asio::io_context io;
  auto work = boost::asio::make_work_guard(io);
  ProcessingResult result;
  complete_audio_async(call_sid, {}, io.get_executor(), [&](ProcessingResult r) {
    result = std::move(r);
    work.reset();
  });
  io.run();
  return result;
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
  call::ChunkStore::Totals totals;
  job->mulaw = chunks_.take(call_sid, &totals);
  job->result.chunks = totals.chunks;
  job->result.audio_duration_s = duration_s(job->mulaw.size());
  log::CallScope scope(call_sid);
  spdlog::info("Processing streamed audio for call {} ({:.2f} s in {} chunks)", call_sid,
               job->result.audio_duration_s, job->result.chunks);
  start(job);
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
  job->given_history = std::move(history);
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
  auto history = std::make_shared<std::vector<agent::Turn>>();
  if (job->given_history) {
    *history = *job->given_history;
  } else {
    std::lock_guard lock(history_mutex_);
    const auto it = history_.find(job->result.call_sid);
    if (it != history_.end()) *history = it->second;
  }
  job->agent = options_.agent->open(job->executor, {.call_sid = job->result.call_sid});
  // The agent may read the history until it is done: it lives as long as the callback.
  job->agent->respond(
      {.transcript = *job->result.transcript, .history = history.get()},
      [](std::string) {},  // the reply is spoken whole below
      [this, job, history](util::Result<agent::Reply> reply) {
        job->result.timings_ms.agent = ms_since(job->step_started);
        if (!reply.ok()) {
          log::CallScope scope(job->result.call_sid);
          spdlog::warn("The agent failed: {}", reply.error().message);
          return finish(job);
        }
        job->result.reply = reply->text;
        job->result.action = reply->action;
        job->result.ended = reply->action.kind != agent::ActionKind::kNone;
        if (!job->given_history) {
          std::lock_guard lock(history_mutex_);
          if (history_.size() >= options_.max_calls_with_audio &&
              !history_.contains(job->result.call_sid)) {
            history_.erase(history_.begin());  // bounded: forget some other call's history
          }
          history_[job->result.call_sid].push_back(
              {*job->result.transcript, reply->text, reply->text});
        }
        run_tts(job);
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
