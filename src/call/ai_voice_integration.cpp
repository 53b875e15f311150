#include "call/ai_voice_integration.hpp"

#include <spdlog/spdlog.h>

#include <chrono>

#include "audio/frames.hpp"
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

ProcessingResult AIVoiceIntegration::complete_audio(std::string_view call_sid) {
  const auto started = std::chrono::steady_clock::now();
  ProcessingResult result;
  result.call_sid = std::string(call_sid);
  call::ChunkStore::Totals totals;
  const std::vector<std::uint8_t> audio = chunks_.take(call_sid, &totals);
  result.chunks = totals.chunks;
  result.audio_duration_s = duration_s(audio.size());
  log::CallScope scope(call_sid);
  spdlog::info("Processing streamed audio for call {} ({:.2f} s in {} chunks)", call_sid,
               result.audio_duration_s, result.chunks);
  result.timings_ms.total =
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - started)
          .count();
  return result;
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
