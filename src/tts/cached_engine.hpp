// A TtsEngine that remembers what it has said: a decorator over any backend (HOUSE-STYLE.md,
// "wrappers that decorate an interface") keeping each reply's sentences, least recently used
// dropped first beyond a byte budget.
//
// Why: most of what a voice agent says is said again and again. Every call starts with the
// same greeting, a scripted dialog has a fixed set of replies, and the apologies and
// "please say that again" prompts repeat. Synthesizing them once makes them free on later
// calls (no synthesis thread queue, no network request for a remote voice, first audio
// within one executor hop), which matters most when many calls start at once.
//
//   synthesize(text) ─▶ every sentence cached? ─yes─▶ post them in order, then on_done
//                                 │ no
//                                 ▼
//                       inner->synthesize(text) ─▶ each sentence: remember, forward
//
// Contract: the TtsEngine contract (engine.hpp), unchanged. Cached sentences arrive with
// synth_ms 0. A sentence is remembered only once its audio is complete and not empty, so a
// cancelled or failed job leaves nothing half made in the cache. Thread-safe.
#pragma once

#include <cstddef>
#include <functional>
#include <list>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "tts/engine.hpp"

namespace voxgate::tts {

class CachedTtsEngine : public TtsEngine {
 public:
  // `max_bytes` of mu-law audio at most (8,000 bytes a second); 0 keeps nothing.
  CachedTtsEngine(std::unique_ptr<TtsEngine> inner, std::size_t max_bytes);

  std::string_view name() const override { return inner_->name(); }
  std::unique_ptr<TtsJob> synthesize(std::string text, boost::asio::any_io_executor executor,
                                     std::function<void(SentenceAudio)> on_audio,
                                     std::function<void(util::Result<Done>)> on_done) override;

  struct Stats {
    std::size_t hits = 0;    // replies served wholly from the cache
    std::size_t misses = 0;  // replies the inner engine made
    std::size_t sentences = 0, bytes = 0;
  };
  Stats stats() const;

  // Called after each lookup with whether the whole reply was found (for a metric). Set it
  // once, before the engine is shared between threads.
  void set_lookup_listener(std::function<void(bool hit)> listener) {
    lookup_listener_ = std::move(listener);
  }

 private:
  // The audio of every sentence of `sentences`, refreshed as recently used; empty if any
  // one is missing.
  std::vector<std::shared_ptr<const std::vector<std::uint8_t>>> lookup(
      const std::vector<std::string>& sentences);
  void remember(const std::string& sentence, std::vector<std::uint8_t> mulaw);

  struct Entry {
    std::shared_ptr<const std::vector<std::uint8_t>> mulaw;
    std::list<std::string>::iterator age;  // position in lru_
  };

  const std::unique_ptr<TtsEngine> inner_;
  const std::size_t max_bytes_;
  mutable std::mutex mutex_;
  std::unordered_map<std::string, Entry> entries_;
  std::list<std::string> lru_;  // most recently used first
  std::size_t bytes_ = 0;
  std::size_t hits_ = 0, misses_ = 0;
  std::function<void(bool hit)> lookup_listener_;
};

}  // namespace voxgate::tts
