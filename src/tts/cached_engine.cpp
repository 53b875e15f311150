#include "tts/cached_engine.hpp"

#include <boost/asio/post.hpp>

#include <atomic>

namespace voxgate::tts {

namespace {

// A reply served from the cache: one handler on the caller's executor delivers it all,
// re-checking the flag around every callback (a barge-in cancels from inside on_audio).
class CachedJob : public TtsJob {
 public:
  CachedJob() : cancelled_(std::make_shared<std::atomic<bool>>(false)) {}
  ~CachedJob() override { cancelled_->store(true); }
  void cancel() override { cancelled_->store(true); }
  std::shared_ptr<std::atomic<bool>> flag() const { return cancelled_; }

 private:
  std::shared_ptr<std::atomic<bool>> cancelled_;
};

}  // namespace

CachedTtsEngine::CachedTtsEngine(std::unique_ptr<TtsEngine> inner, std::size_t max_bytes)
    : inner_(std::move(inner)), max_bytes_(max_bytes) {}

std::unique_ptr<TtsJob> CachedTtsEngine::synthesize(
    std::string text, boost::asio::any_io_executor executor,
    std::function<void(SentenceAudio)> on_audio,
    std::function<void(util::Result<Done>)> on_done) {
  std::vector<std::string> sentences = split_sentences(text);
  auto cached = lookup(sentences);
  const bool hit = !sentences.empty() && cached.size() == sentences.size();
  if (lookup_listener_ && !sentences.empty()) lookup_listener_(hit);
  if (hit) {
    auto job = std::make_unique<CachedJob>();
    boost::asio::post(executor, [cancelled = job->flag(), sentences = std::move(sentences),
                                 cached = std::move(cached), on_audio = std::move(on_audio),
                                 on_done = std::move(on_done)] {
      for (std::size_t i = 0; i < sentences.size(); ++i) {
        if (cancelled->load()) return;
        on_audio(SentenceAudio{.index = i, .text = sentences[i], .mulaw = *cached[i]});
      }
      if (!cancelled->load()) on_done(Done{.sentences = sentences.size()});
    });
    return job;
  }
  // Made by the inner engine: each finished sentence is remembered under its text (every
  // backend cuts with split_sentences, so it is the key lookup uses).
  auto remember_and_forward = [this, on_audio = std::move(on_audio)](SentenceAudio audio) {
    if (!audio.mulaw.empty()) remember(audio.text, audio.mulaw);
    on_audio(std::move(audio));
  };
  return inner_->synthesize(std::move(text), std::move(executor), std::move(remember_and_forward),
                            std::move(on_done));
}

std::vector<std::shared_ptr<const std::vector<std::uint8_t>>> CachedTtsEngine::lookup(
    const std::vector<std::string>& sentences) {
  std::vector<std::shared_ptr<const std::vector<std::uint8_t>>> found;
  std::vector<decltype(entries_)::iterator> hits;  // refreshed only when every sentence is in
  std::lock_guard lock(mutex_);
  for (const std::string& sentence : sentences) {
    const auto entry = entries_.find(sentence);
    if (entry == entries_.end()) {
      ++misses_;
      return {};
    }
    found.push_back(entry->second.mulaw);
    hits.push_back(entry);
  }
  for (const auto entry : hits) lru_.splice(lru_.begin(), lru_, entry->second.age);
  if (!sentences.empty()) ++hits_;
  return found;
}

void CachedTtsEngine::remember(const std::string& sentence, std::vector<std::uint8_t> mulaw) {
  if (mulaw.size() > max_bytes_) return;
  std::lock_guard lock(mutex_);
  if (entries_.contains(sentence)) return;  // two calls made it at once: keep the first
  bytes_ += mulaw.size();
  lru_.push_front(sentence);
  entries_.emplace(sentence,
                   Entry{std::make_shared<const std::vector<std::uint8_t>>(std::move(mulaw)),
                         lru_.begin()});
  while (bytes_ > max_bytes_ && !lru_.empty()) {
    const auto oldest = entries_.find(lru_.back());
    bytes_ -= oldest->second.mulaw->size();
    entries_.erase(oldest);
    lru_.pop_back();
  }
}

CachedTtsEngine::Stats CachedTtsEngine::stats() const {
  std::lock_guard lock(mutex_);
  return {.hits = hits_, .misses = misses_, .sentences = entries_.size(), .bytes = bytes_};
}

}  // namespace voxgate::tts
