// `voxgate transcribe FILE` and `voxgate say TEXT -o FILE.wav`: one engine, offline, with
// the same settings (and so the same backends) as `voxgate serve` (DESIGN.md §4).
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "stt/engine.hpp"
#include "tts/engine.hpp"
#include "util/result.hpp"

namespace voxgate::app {

// Prints the transcript of an audio file (any format libsndfile reads) heard as a phone
// call hears it: converted to 8 kHz, fed in 20 ms chunks. Returns the exit code.
int transcribe(const std::optional<std::string>& config_path, const std::string& audio_path);

// Writes `text` spoken by the configured TTS engine as an 8 kHz mu-law WAV (what a call
// plays). Returns the exit code.
int say(const std::optional<std::string>& config_path, const std::string& text,
        const std::string& out_path);

// What `stt` hears in 8 kHz audio, as one utterance; blocks (offline use only).
util::Result<std::string> transcribe_offline(stt::SttEngine& stt,
                                             std::span<const std::int16_t> pcm_8k);

// `text` spoken by `tts`, as 8 kHz mu-law; blocks until it is made (offline use only).
util::Result<std::vector<std::uint8_t>> speak_offline(tts::TtsEngine& tts, const std::string& text);

}  // namespace voxgate::app
