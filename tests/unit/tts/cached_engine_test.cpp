// CachedTtsEngine over a counting stand-in engine: repeated replies skip the inner engine
// and arrive in order through the executor, cancelling stops delivery, failures and
// cancelled jobs leave nothing in the cache, and the byte budget evicts the least recently
// used sentences.
#include "tts/cached_engine.hpp"

#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>

#include <optional>

#include "run_until.hpp"

namespace voxgate::tts {
namespace {

namespace asio = boost::asio;
using test_support::run_until;

// Speaks each sentence as one byte per character (distinct audio per sentence), posted to
// the caller's executor like a real backend; or fails when told to.
class CountingEngine : public TtsEngine {
 public:
  std::string_view name() const override { return "counting"; }
  std::unique_ptr<TtsJob> synthesize(std::string text, asio::any_io_executor executor,
                                     std::function<void(SentenceAudio)> on_audio,
                                     std::function<void(util::Result<Done>)> on_done) override {
    ++calls;
    asio::post(executor, [text, fail = fail, on_audio, on_done] {
      const auto sentences = split_sentences(text);
      if (fail) return on_done(util::Error{util::ErrorCode::kUnavailable, "engine down"});
      for (std::size_t i = 0; i < sentences.size(); ++i) {
        on_audio({.index = i, .text = sentences[i],
                  .mulaw = std::vector<std::uint8_t>(sentences[i].begin(), sentences[i].end()),
                  .synth_ms = 5});
      }
      on_done(Done{sentences.size()});
    });
    return std::make_unique<NoJob>();
  }
  int calls = 0;
  bool fail = false;

 private:
  struct NoJob : TtsJob {
    void cancel() override {}
  };
};

struct Spoken {
  std::vector<SentenceAudio> audio;
  std::optional<util::Result<Done>> done;
};

class CachedTtsEngineTest : public ::testing::Test {
 protected:
  Spoken say(CachedTtsEngine& engine, const std::string& text) {
    Spoken spoken;
    auto job = engine.synthesize(
        text, io_.get_executor(), [&](SentenceAudio a) { spoken.audio.push_back(std::move(a)); },
        [&](util::Result<Done> d) { spoken.done.emplace(std::move(d)); });
    EXPECT_TRUE(run_until(io_, [&] { return spoken.done.has_value(); }));
    return spoken;
  }

  asio::io_context io_;
};

TEST_F(CachedTtsEngineTest, ASecondReplyComesFromTheCacheInOrder) {
  auto inner = std::make_unique<CountingEngine>();
  CountingEngine& counting = *inner;
  CachedTtsEngine engine(std::move(inner), 1 << 20);
  const std::string greeting = "Hello! How can I help you today?";
  const Spoken first = say(engine, greeting);
  const Spoken second = say(engine, greeting);
  EXPECT_EQ(counting.calls, 1);
  ASSERT_TRUE(second.done->ok());
  EXPECT_EQ((*second.done)->sentences, 2u);
  ASSERT_EQ(second.audio.size(), 2u);
  for (std::size_t i = 0; i < 2; ++i) {
    EXPECT_EQ(second.audio[i].index, i);
    EXPECT_EQ(second.audio[i].mulaw, first.audio[i].mulaw);
    EXPECT_EQ(second.audio[i].text, first.audio[i].text);
    EXPECT_EQ(second.audio[i].synth_ms, 0);
  }
  EXPECT_EQ(engine.stats().hits, 1u);
  EXPECT_EQ(engine.stats().misses, 1u);
  EXPECT_EQ(engine.stats().sentences, 2u);
  std::vector<bool> lookups;
  engine.set_lookup_listener([&](bool hit) { lookups.push_back(hit); });
  say(engine, greeting);
  say(engine, "Something new.");
  EXPECT_EQ(lookups, (std::vector<bool>{true, false}));
}

TEST_F(CachedTtsEngineTest, AReplyWithANewSentenceGoesToTheEngineWhole) {
  auto inner = std::make_unique<CountingEngine>();
  CountingEngine& counting = *inner;
  CachedTtsEngine engine(std::move(inner), 1 << 20);
  say(engine, "We open at nine.");
  const Spoken mixed = say(engine, "We open at nine. We close at five.");
  EXPECT_EQ(counting.calls, 2);
  ASSERT_EQ(mixed.audio.size(), 2u);
  say(engine, "We close at five.");  // learnt from the mixed reply
  EXPECT_EQ(counting.calls, 2);
}

TEST_F(CachedTtsEngineTest, CallbacksArePostedNeverInline) {
  CachedTtsEngine engine(std::make_unique<CountingEngine>(), 1 << 20);
  say(engine, "Once.");
  bool called = false;
  auto job = engine.synthesize("Once.", io_.get_executor(), [&](SentenceAudio) { called = true; },
                               [&](util::Result<Done>) { called = true; });
  EXPECT_FALSE(called);
  EXPECT_TRUE(run_until(io_, [&] { return called; }));
}

TEST_F(CachedTtsEngineTest, CancellingInsideOnAudioStopsTheRest) {
  CachedTtsEngine engine(std::make_unique<CountingEngine>(), 1 << 20);
  const std::string reply = "One. Two. Three.";
  say(engine, reply);
  std::vector<std::size_t> delivered;
  bool done = false;
  std::unique_ptr<TtsJob> job;
  job = engine.synthesize(
      reply, io_.get_executor(),
      [&](SentenceAudio a) {
        delivered.push_back(a.index);
        job->cancel();  // barge-in
      },
      [&](util::Result<Done>) { done = true; });
  run_until(io_, [] { return false; }, std::chrono::milliseconds(50));
  EXPECT_EQ(delivered, std::vector<std::size_t>{0});
  EXPECT_FALSE(done);

  // A job destroyed before its handler ran delivers nothing.
  bool anything = false;
  engine.synthesize(reply, io_.get_executor(), [&](SentenceAudio) { anything = true; },
                    [&](util::Result<Done>) { anything = true; });
  run_until(io_, [] { return false; }, std::chrono::milliseconds(50));
  EXPECT_FALSE(anything);
}

TEST_F(CachedTtsEngineTest, AFailedReplyIsNotRemembered) {
  auto inner = std::make_unique<CountingEngine>();
  CountingEngine& counting = *inner;
  CachedTtsEngine engine(std::move(inner), 1 << 20);
  counting.fail = true;
  EXPECT_FALSE(say(engine, "Sorry.").done->ok());
  counting.fail = false;
  EXPECT_TRUE(say(engine, "Sorry.").done->ok());
  EXPECT_EQ(counting.calls, 2);
}

TEST_F(CachedTtsEngineTest, TheByteBudgetDropsTheLeastRecentlyUsed) {
  auto inner = std::make_unique<CountingEngine>();
  CountingEngine& counting = *inner;
  // Each sentence below is 10 bytes of "audio": room for two.
  CachedTtsEngine engine(std::move(inner), 25);
  say(engine, "Sentence1.");
  say(engine, "Sentence2.");
  say(engine, "Sentence1.");  // hit: now the most recently used
  EXPECT_EQ(counting.calls, 2);
  say(engine, "Sentence3.");  // evicts Sentence2
  EXPECT_EQ(engine.stats().sentences, 2u);
  EXPECT_LE(engine.stats().bytes, 25u);
  say(engine, "Sentence1.");
  EXPECT_EQ(counting.calls, 3);
  say(engine, "Sentence2.");
  EXPECT_EQ(counting.calls, 4);
}

TEST_F(CachedTtsEngineTest, ZeroBudgetKeepsNothing) {
  auto inner = std::make_unique<CountingEngine>();
  CountingEngine& counting = *inner;
  CachedTtsEngine engine(std::move(inner), 0);
  say(engine, "Hello.");
  say(engine, "Hello.");
  EXPECT_EQ(counting.calls, 2);
}

}  // namespace
}  // namespace voxgate::tts
