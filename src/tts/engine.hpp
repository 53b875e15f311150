// Text-to-speech. Shared engine, per-call job (HOUSE-STYLE.md): the TtsEngine owns voices
// and its synthesis thread(s) and is thread-safe; `synthesize` starts a job for one reply.
//
// A reply is spoken sentence by sentence: the job splits the text into sentences and
// delivers each one's audio as soon as it is made, so the first sentence plays while the
// rest is synthesized. Audio arrives in the telephony format (8 kHz mono mu-law), ready
// for the pacer.
//
// Callbacks run through the executor given to `synthesize` (the call's strand), never
// inline; `on_audio` in sentence order, then exactly one `on_done` (with an error, or
// success). After `cancel` (barge-in) or the job's destruction, no callback runs.
#pragma once

#include <boost/asio/any_io_executor.hpp>

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "util/result.hpp"
#include "util/sentences.hpp"

namespace voxgate::tts {

struct SentenceAudio {
  std::size_t index = 0;            // 0 for the reply's first sentence
  std::string text;                 // the sentence as spoken
  std::vector<std::uint8_t> mulaw;  // 8 kHz mu-law
  double synth_ms = 0;              // time to make it
};

struct Done {
  std::size_t sentences = 0;
};

class TtsJob {
 public:
  virtual ~TtsJob() = default;
  virtual void cancel() = 0;
};

class TtsEngine {
 public:
  virtual ~TtsEngine() = default;
  virtual std::string_view name() const = 0;
  virtual std::unique_ptr<TtsJob> synthesize(
      std::string text, boost::asio::any_io_executor executor,
      std::function<void(SentenceAudio)> on_audio,
      std::function<void(util::Result<Done>)> on_done) = 0;
};

// Every backend speaks a reply sentence by sentence, cut the same way.
using util::split_sentences;

}  // namespace voxgate::tts
