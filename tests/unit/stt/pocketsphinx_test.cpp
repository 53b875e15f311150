// PocketsphinxEngine against the real model and the speech test set (VOXGATE_SPEECH_SET_DIR):
// accuracy ceilings measured with stt_bench, the stream contract of engine.hpp (one callback
// per finished utterance via the executor, none after cancel or destruction), concurrent
// streams, and the start-up errors. Audio is fed in 20 ms chunks, as a call delivers it.
#include <gtest/gtest.h>

#include <algorithm>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "audio/g711.hpp"
#include "speech_set.hpp"
#include "stt/pocketsphinx/context_grammar.hpp"
#include "stt/pocketsphinx/pocketsphinx_engine.hpp"
#include "stt/wer.hpp"

namespace voxgate::stt {
namespace {

using namespace std::chrono_literals;

constexpr std::size_t kChunkSamples = 160;  // 20 ms at 8 kHz

using Utterance = test_support::SpeechUtterance;

const std::vector<Utterance>& speech_set() {
  static const std::vector<Utterance> set = test_support::load_speech_set(VOXGATE_SPEECH_SET_DIR);
  return set;
}

const Utterance& utterance(const std::string& id) {
  const auto& set = speech_set();
  const auto it = std::find_if(set.begin(), set.end(), [&](const auto& u) { return u.id == id; });
  EXPECT_NE(it, set.end()) << id;
  return *it;
}

void feed_all(SttStream& stream, const std::vector<std::int16_t>& pcm_8k) {
  for (std::size_t pos = 0; pos < pcm_8k.size(); pos += kChunkSamples) {
    stream.feed(std::span(pcm_8k).subspan(pos, std::min(kChunkSamples, pcm_8k.size() - pos)));
  }
}

PocketsphinxOptions test_options() {
  PocketsphinxOptions options;
  options.cache_dir = testing::TempDir() + "voxgate-stt-test";
  // Two workers and two decoders: the 2-core budget, and four voices' streams must wait.
  options.worker_threads = 2;
  options.max_decoders = 2;
  return options;
}

// Runs `io` until `done()` or `timeout`; the work guard keeps run_one_for() waiting for results
// that the engine's workers have not posted yet.
template <class Done>
void run_until(boost::asio::io_context& io, Done done, std::chrono::milliseconds timeout) {
  auto guard = boost::asio::make_work_guard(io);
  io.restart();
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!done() && std::chrono::steady_clock::now() < deadline) {
    io.run_one_until(deadline);
  }
}

class PocketsphinxTest : public testing::Test {
 protected:
  static void SetUpTestSuite() {
    ASSERT_EQ(speech_set().size(), 128u) << "speech test set missing: " VOXGATE_SPEECH_SET_DIR;
    auto created = PocketsphinxEngine::create(test_options());
    ASSERT_TRUE(created.ok()) << created.error().message;
    engine_ = std::move(created.value()).release();
  }
  static void TearDownTestSuite() {
    delete engine_;
    engine_ = nullptr;
  }

  // Decodes one utterance on `stream` and waits (on the io_context) for the transcript.
  Transcript decode(SttStream& stream, const std::vector<std::int16_t>& pcm_8k) {
    std::optional<util::Result<Transcript>> result;
    stream.start_utterance();
    feed_all(stream, pcm_8k);
    stream.finish([&](util::Result<Transcript> r) { result.emplace(std::move(r)); });
    run_until(
        io_, [&] { return result.has_value(); }, 30s);
    EXPECT_TRUE(result.has_value());
    if (!result || !result->ok()) return {};
    return result->value();
  }

  static PocketsphinxEngine* engine_;
  boost::asio::io_context io_;
};

PocketsphinxEngine* PocketsphinxTest::engine_ = nullptr;

struct SetResult {
  WerCounter all;
  std::map<std::string, WerCounter> by_voice;
  std::vector<double> finish_waits_ms;  // sorted
  std::size_t delivered = 0;
};

// Decodes the utterances `select` picks, one stream ("caller") per voice, all four decoding at
// once over the engine's pool: accuracy, the pool's waiting path and per-stream CMN together.
template <class Select>
SetResult decode_set(PocketsphinxEngine& engine, boost::asio::io_context& io, Select select) {
  struct Caller {
    std::vector<const Utterance*> queue;
    std::size_t next = 0;
    std::unique_ptr<SttStream> stream;
  };
  SetResult result;
  std::map<std::string, Caller> callers;
  std::size_t expected = 0;
  for (const auto& u : speech_set()) {
    if (!select(u)) continue;
    auto& caller = callers[u.voice];
    if (!caller.stream) caller.stream = engine.open(io.get_executor(), {});
    caller.queue.push_back(&u);
    ++expected;
  }
  std::function<void(Caller&)> send_next = [&](Caller& caller) {
    if (caller.next == caller.queue.size()) return;
    const Utterance& u = *caller.queue[caller.next++];
    caller.stream->start_utterance();
    feed_all(*caller.stream, u.pcm_8k);
    caller.stream->finish([&, &u = u](util::Result<Transcript> r) {
      ++result.delivered;
      ASSERT_TRUE(r.ok()) << r.error().message;
      result.by_voice[u.voice].add(u.text, r->text);
      result.all.add(u.text, r->text);
      result.finish_waits_ms.push_back(r->finish_wait_ms);
      EXPECT_GT(r->audio_s, 0.5);
      EXPECT_GT(r->decode_ms, 0);
      send_next(caller);
    });
  };
  for (auto& [voice, caller] : callers) send_next(caller);
  run_until(
      io, [&] { return result.delivered == expected; }, 300s);
  EXPECT_EQ(result.delivered, expected);
  std::sort(result.finish_waits_ms.begin(), result.finish_waits_ms.end());
  std::printf("WER all %.1f %%", result.all.wer_percent());
  for (const auto& [voice, wer] : result.by_voice) {
    std::printf("  %s %.1f", voice.c_str(), wer.wer_percent());
  }
  if (!result.finish_waits_ms.empty()) {
    std::printf("\nfinish wait (unpaced, includes queued audio): p50 %.0f max %.0f ms\n",
                result.finish_waits_ms[result.finish_waits_ms.size() / 2],
                result.finish_waits_ms.back());
  }
  return result;
}

// The shipped default (open LM, full dictionary, telcmn, single pass) costs about 0.25 s of CPU
// per second of audio, 100 s for the whole set: too slow for the unit suite, so it decodes
// every fourth phrase in all four voices (32 utterances). Ceilings: the measurement plus a
// margin, so that a real regression fails and a rounding change does not.
TEST_F(PocketsphinxTest, DefaultConfigWerIsBelowMeasuredCeilings) {
  // Measured by this test: all 37.1 % (of 224 words), espeak 76.8, slt 39.3, kal 25.0, rms
  // 7.1 % (4/56). (stt_bench on the whole set: 42.4 %, rms 9.3; the per-call CMN sees a
  // different history here, so the same utterances score slightly differently there.)
  constexpr double kMaxWerAllPercent = 44;
  constexpr double kMaxWerRmsPercent = 13;  // one word is 1.8 points here
  const auto result = decode_set(
      *engine_, io_, [](const Utterance& u) { return std::stoi(u.id.substr(0, 2)) % 4 == 1; });
  ASSERT_EQ(result.delivered, 32u);
  RecordProperty("wer_all_percent", std::to_string(result.all.wer_percent()));
  RecordProperty("finish_wait_max_ms", std::to_string(result.finish_waits_ms.back()));
  EXPECT_GT(result.finish_waits_ms.back(), 0);  // measured, not left at zero
  EXPECT_LT(result.all.wer_percent(), kMaxWerAllPercent);
  EXPECT_LT(result.by_voice.at("rms").wer_percent(), kMaxWerRmsPercent);
  const auto stats = engine_->stats();
  EXPECT_EQ(stats.decoders_created, 2);
  EXPECT_GT(stats.decoder_waits, 0u);  // four callers, two decoders
  EXPECT_EQ(stats.dropped_samples_16k, 0u);
}

// All 128 utterances with the domain dictionary (engines.md §2 configuration D), 7x cheaper.
TEST(PocketsphinxDomainDictionary, WholeSetWerIsBelowMeasuredCeilings) {
  // Measured by this test: all 33.2 %, espeak 70.1, slt 30.4, kal 27.9, rms 4.4 % (9/204).
  constexpr double kMaxWerAllPercent = 40;
  constexpr double kMaxWerRmsPercent = 10;
  PocketsphinxOptions options = test_options();
  options.domain_words_path =
      std::string(VOXGATE_SOURCE_DIR) + "/tests/data/speech/domain_words.txt";
  auto engine = PocketsphinxEngine::create(options);
  ASSERT_TRUE(engine.ok()) << engine.error().message;
  boost::asio::io_context io;
  const auto result = decode_set(**engine, io, [](const Utterance&) { return true; });
  ASSERT_EQ(result.delivered, 128u);
  RecordProperty("wer_all_percent", std::to_string(result.all.wer_percent()));
  EXPECT_LT(result.all.wer_percent(), kMaxWerAllPercent);
  EXPECT_LT(result.by_voice.at("rms").wer_percent(), kMaxWerRmsPercent);
}

TEST_F(PocketsphinxTest, SilenceGivesAnEmptyTranscript) {
  auto stream = engine_->open(io_.get_executor(), {});
  const std::vector<std::int16_t> silence(2 * 8000, 0);
  const Transcript transcript = decode(*stream, silence);
  EXPECT_EQ(transcript.text, "");
  EXPECT_DOUBLE_EQ(transcript.audio_s, 2.0);
}

// Decoding is deterministic per utterance (fresh stream, CMN from the telephony start
// values), so two streams interleaved chunk by chunk must give what each gives alone.
TEST_F(PocketsphinxTest, TwoConcurrentStreamsGetTheirOwnResults) {
  const Utterance& a = utterance("01-rms");
  const Utterance& b = utterance("02-rms");
  std::string alone_a, alone_b;
  {
    auto stream = engine_->open(io_.get_executor(), {});
    alone_a = decode(*stream, a.pcm_8k).text;
  }
  {
    auto stream = engine_->open(io_.get_executor(), {});
    alone_b = decode(*stream, b.pcm_8k).text;
  }
  EXPECT_NE(alone_a, alone_b);
  WerCounter wer;
  wer.add(a.text + " " + b.text, alone_a + " " + alone_b);
  EXPECT_LT(wer.wer_percent(), 25) << alone_a << " | " << alone_b;

  auto stream_a = engine_->open(io_.get_executor(), {});
  auto stream_b = engine_->open(io_.get_executor(), {});
  stream_a->start_utterance();
  stream_b->start_utterance();
  const std::size_t longest = std::max(a.pcm_8k.size(), b.pcm_8k.size());
  for (std::size_t pos = 0; pos < longest; pos += kChunkSamples) {
    if (pos < a.pcm_8k.size()) {
      stream_a->feed(
          std::span(a.pcm_8k).subspan(pos, std::min(kChunkSamples, a.pcm_8k.size() - pos)));
    }
    if (pos < b.pcm_8k.size()) {
      stream_b->feed(
          std::span(b.pcm_8k).subspan(pos, std::min(kChunkSamples, b.pcm_8k.size() - pos)));
    }
  }
  std::optional<std::string> text_a, text_b;
  stream_a->finish([&](util::Result<Transcript> r) { text_a = r.ok() ? r->text : "error"; });
  stream_b->finish([&](util::Result<Transcript> r) { text_b = r.ok() ? r->text : "error"; });
  run_until(
      io_, [&] { return text_a && text_b; }, 30s);
  EXPECT_EQ(text_a, alone_a);
  EXPECT_EQ(text_b, alone_b);
}

TEST_F(PocketsphinxTest, CancelGivesNoCallbackAndTheStreamCarriesOn) {
  const Utterance& u = utterance("03-rms");
  auto stream = engine_->open(io_.get_executor(), {});
  int callbacks = 0;
  stream->start_utterance();
  feed_all(*stream, u.pcm_8k);
  stream->finish([&](util::Result<Transcript>) { ++callbacks; });
  stream->cancel();  // before the result reached the executor
  run_until(
      io_, [] { return false; }, 1500ms);
  EXPECT_EQ(callbacks, 0);

  // The next utterance on the same stream is decoded normally, and the decoder came back.
  const Transcript transcript = decode(*stream, u.pcm_8k);
  EXPECT_FALSE(transcript.text.empty());
  EXPECT_EQ(callbacks, 0);
  EXPECT_EQ(engine_->stats().dropped_samples_16k, 0u);
}

TEST_F(PocketsphinxTest, DestroyingTheStreamGivesNoCallback) {
  const Utterance& u = utterance("04-rms");
  int callbacks = 0;
  {
    auto stream = engine_->open(io_.get_executor(), {});
    stream->start_utterance();
    feed_all(*stream, u.pcm_8k);
    stream->finish([&](util::Result<Transcript>) { ++callbacks; });
  }
  run_until(
      io_, [] { return false; }, 1500ms);
  EXPECT_EQ(callbacks, 0);
  // Every decoder is back in the pool.
  auto stream = engine_->open(io_.get_executor(), {});
  EXPECT_FALSE(decode(*stream, u.pcm_8k).text.empty());
  const auto stats = engine_->stats();
  EXPECT_EQ(stats.decoders_idle, stats.decoders_created);
}

// With both decoders held by other calls, a stream's utterances wait (buffered), and a second
// utterance started before the first one's result still gets its own, in order.
TEST_F(PocketsphinxTest, ExhaustedPoolMakesUtterancesWaitNotFail) {
  const Utterance& u1 = utterance("05-rms");
  const Utterance& u2 = utterance("06-rms");
  const auto waits_before = engine_->stats().decoder_waits;
  auto holder_a = engine_->open(io_.get_executor(), {});
  auto holder_b = engine_->open(io_.get_executor(), {});
  holder_a->start_utterance();
  holder_b->start_utterance();
  holder_a->feed(std::span(u1.pcm_8k).first(kChunkSamples));
  holder_b->feed(std::span(u1.pcm_8k).first(kChunkSamples));

  auto stream = engine_->open(io_.get_executor(), {});
  std::vector<std::string> texts;
  stream->start_utterance();
  feed_all(*stream, u1.pcm_8k);
  stream->finish([&](util::Result<Transcript> r) { texts.push_back(r.ok() ? r->text : "!"); });
  feed_all(*stream, u2.pcm_8k);  // feed after finish opens the next utterance
  stream->finish([&](util::Result<Transcript> r) { texts.push_back(r.ok() ? r->text : "!"); });
  run_until(
      io_, [] { return false; }, 500ms);
  EXPECT_TRUE(texts.empty());  // still waiting for a decoder
  EXPECT_GT(engine_->stats().decoder_waits, waits_before);

  int holders_done = 0;
  holder_a->finish([&](util::Result<Transcript>) { ++holders_done; });
  holder_b->finish([&](util::Result<Transcript>) { ++holders_done; });
  run_until(
      io_, [&] { return texts.size() == 2 && holders_done == 2; }, 30s);
  ASSERT_EQ(texts.size(), 2u);
  // Each transcript is nearer its own utterance than the other one: right order, no mix-up.
  auto wer = [](const std::string& reference, const std::string& hypothesis) {
    WerCounter counter;
    counter.add(reference, hypothesis);
    return counter.wer_percent();
  };
  EXPECT_LT(wer(u1.text, texts[0]), wer(u2.text, texts[0])) << texts[0];
  EXPECT_LT(wer(u2.text, texts[1]), wer(u1.text, texts[1])) << texts[1];
  EXPECT_EQ(engine_->stats().dropped_samples_16k, 0u);
}

// The set's 32 phrases, minus `left_out` (the caller says something the dialogue did not
// expect).
SttContext phrase_context(const std::string& left_out = "") {
  SttContext context;
  for (const auto& u : speech_set()) {
    const auto& phrases = context.expected_phrases;
    if (u.text != left_out && std::find(phrases.begin(), phrases.end(), u.text) == phrases.end()) {
      context.expected_phrases.push_back(u.text);
    }
  }
  return context;
}

// Expected phrases in the context: the grammar's phrase is taken. The utterances are ones
// whose open-LM transcript is wrong (stt_bench --grammar-sweep: "i love my credit card", "can
// i speak to em manager", "my tip code is nine zero two moms hero", ...) and all of which the
// sweep got exactly right through the grammar (score gap -16 to -31 per frame, the limit -10).
TEST_F(PocketsphinxTest, ContextGrammarGivesTheExactPhraseInDomain) {
  constexpr int kMinExact = 5;  // of 6; measured 6
  const auto before = engine_->stats();
  int exact = 0;
  for (const char* id : {"03-slt", "19-slt", "19-kal", "27-kal", "03-rms", "19-rms"}) {
    const Utterance& u = utterance(id);
    auto stream = engine_->open(io_.get_executor(), phrase_context());
    const std::string text = decode(*stream, u.pcm_8k).text;
    exact += text == normalize_text(u.text) ? 1 : 0;
    RecordProperty(id, text);
  }
  EXPECT_GE(exact, kMinExact);
  const auto after = engine_->stats();
  EXPECT_GE(after.grammar_accepted - before.grammar_accepted, std::uint64_t{kMinExact});
  // Pooled per phrase set: at most one per open decoder (two), none if an earlier test made them.
  EXPECT_LE(after.grammar_decoders_created - before.grammar_decoders_created, 2);
}

// The spoken phrase left out of the context: the transcript comes from the open LM, not the
// nearest context phrase. Not always: over the whole set 6 of 128 such utterances still took a
// wrong phrase (docs/BENCHMARKS.md), and which ones depends on the pooled decoders' noise
// estimate, so the test bounds the rate. Among these, the sweep forced 03-kal onto "that is
// correct" (score gap +1.4), 03-rms onto "can you repeat that please" (+1.0) and 27-rms onto
// "my date of birth ..." (-4.2), and found no path for 11-slt.
TEST_F(PocketsphinxTest, ContextGrammarRarelyReplacesOutOfDomainSpeech) {
  constexpr int kMaxReplaced = 2;  // of 8
  const auto before = engine_->stats();
  int replaced = 0;
  for (const char* id :
       {"03-kal", "03-rms", "27-rms", "11-slt", "05-slt", "12-rms", "21-kal", "29-slt"}) {
    const Utterance& u = utterance(id);
    const SttContext context = phrase_context(u.text);
    auto stream = engine_->open(io_.get_executor(), context);
    const std::string text = decode(*stream, u.pcm_8k).text;
    EXPECT_FALSE(text.empty()) << id;
    for (const auto& phrase : context.expected_phrases) {
      if (text == normalize_text(phrase)) {
        ++replaced;
        RecordProperty(id, "replaced by: " + text);
      }
    }
  }
  EXPECT_LE(replaced, kMaxReplaced);
  const auto after = engine_->stats();
  EXPECT_LE(after.grammar_accepted - before.grammar_accepted, std::uint64_t{kMaxReplaced});
  EXPECT_GE(after.grammar_rejected - before.grammar_rejected, 1u);  // the arbitration ran
}

TEST(PocketsphinxContextGrammar, GrammarHasOneAlternativePerKnownPhrase) {
  const auto phrases = normalize_phrases({"Yes, please.", "yes please", "", "Zorblax now", "No"});
  ASSERT_EQ(phrases, (std::vector<std::string>{"no", "yes please", "zorblax now"}));
  const std::string jsgf =
      context_jsgf(phrases, [](const std::string& word) { return word != "zorblax"; });
  EXPECT_NE(jsgf.find("public <phrase> = no\n  | yes please;"), std::string::npos) << jsgf;
  EXPECT_EQ(jsgf.find("zorblax"), std::string::npos);
  EXPECT_EQ(context_jsgf({"zorblax"}, [](const std::string&) { return false; }), "");
}

TEST(PocketsphinxContextGrammar, ArbitrationNeedsTheScoreGapAndTheSupport) {
  const DecodedPath open{"i lost my credit cart", -5000};
  const DecodedPath phrase{"i lost my credit card", -3000};
  EXPECT_DOUBLE_EQ(phrase_support(open.text, phrase.text), 0.8);
  EXPECT_DOUBLE_EQ(phrase_support("card credit", "credit card"), 0.5);  // in order only
  // Gap (-5000 - -3000) / 100 = -20 per frame.
  EXPECT_EQ(choose_transcript(open, phrase, 100, {-10, 0}), phrase.text);
  EXPECT_EQ(choose_transcript(open, phrase, 100, {-25, 0}), open.text);
  EXPECT_EQ(choose_transcript(open, phrase, 100, {-10, 0.9}), open.text);
  EXPECT_EQ(choose_transcript(open, {"", -1}, 100, {-10, 0}), open.text);
  EXPECT_EQ(choose_transcript(open, phrase, 0, {-10, 0}), open.text);
}

TEST(PocketsphinxContextGrammar, OptionOffCreatesNoGrammarDecoder) {
  PocketsphinxOptions options = test_options();
  options.context_grammar = false;
  auto engine = PocketsphinxEngine::create(options);
  ASSERT_TRUE(engine.ok()) << engine.error().message;
  boost::asio::io_context io;
  auto stream = (*engine)->open(io.get_executor(), SttContext{{"yes please", "no thank you"}});
  std::optional<util::Result<Transcript>> result;
  stream->start_utterance();
  feed_all(*stream, std::vector<std::int16_t>(8000, 0));
  stream->finish([&](util::Result<Transcript> r) { result.emplace(std::move(r)); });
  run_until(
      io, [&] { return result.has_value(); }, 30s);
  ASSERT_TRUE(result.has_value() && result->ok());
  EXPECT_EQ((*engine)->stats().grammar_decoders_created, 0);

  options.context_grammar_min_support = 1.5;
  auto bad = PocketsphinxEngine::create(options);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().code, util::ErrorCode::kInvalidInput);
}

TEST(PocketsphinxEngineCreate, MissingModelIsUnavailable) {
  PocketsphinxOptions options = test_options();
  options.model_dir = "/nonexistent/voxgate/model";
  auto engine = PocketsphinxEngine::create(options);
  ASSERT_FALSE(engine.ok());
  EXPECT_EQ(engine.error().code, util::ErrorCode::kUnavailable);
  EXPECT_NE(engine.error().message.find("/nonexistent/voxgate/model"), std::string::npos);

  options = test_options();
  options.lm_path = "/nonexistent/voxgate/en-us.lm.bin";
  engine = PocketsphinxEngine::create(options);
  ASSERT_FALSE(engine.ok());
  EXPECT_EQ(engine.error().code, util::ErrorCode::kUnavailable);
}

TEST(PocketsphinxEngineCreate, BadOptionsAreInvalidInput) {
  PocketsphinxOptions options = test_options();
  options.max_decoders = 0;
  auto engine = PocketsphinxEngine::create(options);
  ASSERT_FALSE(engine.ok());
  EXPECT_EQ(engine.error().code, util::ErrorCode::kInvalidInput);
}

// The model copy carries the telephony -cmninit (5prealpha's feat.params overrides the
// command line, engines.md §2) and links the model's other files.
TEST_F(PocketsphinxTest, ModelCopyHasTelephonyCmninit) {
  namespace fs = std::filesystem;
  const fs::path copy = engine_->model_copy_dir();
  std::ifstream params(copy / "feat.params");
  const std::string text((std::istreambuf_iterator<char>(params)), {});
  std::ostringstream first;
  first << "-cmninit " << telephony_cmninit()[0] << ",";
  EXPECT_NE(text.find(first.str()), std::string::npos) << text;
  EXPECT_NE(text.find("-upperf 6800"), std::string::npos);
  EXPECT_TRUE(fs::is_symlink(copy / "mdef"));
  EXPECT_TRUE(fs::is_symlink(copy / "means"));
}

}  // namespace
}  // namespace voxgate::stt
