// Speech-to-text. Shared engine, per-call stream (HOUSE-STYLE.md): the SttEngine owns
// models and worker threads and is thread-safe; each call opens an SttStream and uses it
// only on its own strand.
//
// A stream decodes one utterance at a time, *while the caller speaks*: `feed` hands audio
// to the engine's workers without waiting, so that when the endpointer says the turn is
// over, `finish` has only the last few frames left to decode. Decoding never runs on the
// caller's thread (an I/O thread).
//
//   start_utterance ─▶ feed, feed, … (8 kHz PCM, any chunk size) ─▶ finish(done)
//                                                                └▶ cancel (barge-in, hangup)
//
// Callbacks: `done` runs exactly once per finished utterance, through the executor given
// to `open` (the call's strand), never inline inside `finish`. After `cancel` or the
// stream's destruction, no callback runs.
#pragma once

#include <boost/asio/any_io_executor.hpp>

#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "util/result.hpp"

namespace voxgate::stt {

struct Transcript {
  std::string text;          // lowercase words separated by single spaces; "" for silence
  double audio_s = 0;        // length of the utterance's audio
  double decode_ms = 0;      // CPU-side time spent decoding it (for metrics)
  double finish_wait_ms = 0; // from finish() to the result: what the caller waited
};

// What the dialogue expects callers to say (the scripted agent's phrases and keywords);
// engines may use it to bias recognition. Empty: open vocabulary only.
struct SttContext {
  std::vector<std::string> expected_phrases;
};

class SttStream {
 public:
  virtual ~SttStream() = default;
  virtual void start_utterance() = 0;
  virtual void feed(std::span<const std::int16_t> pcm_8k) = 0;
  virtual void finish(std::function<void(util::Result<Transcript>)> done) = 0;
  virtual void cancel() = 0;
};

class SttEngine {
 public:
  virtual ~SttEngine() = default;
  virtual std::string_view name() const = 0;
  virtual std::unique_ptr<SttStream> open(boost::asio::any_io_executor executor,
                                          const SttContext& context) = 0;
};

}  // namespace voxgate::stt
