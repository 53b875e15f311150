// The turn loop with stand-in engines (the real ones have their own tests): greeting,
// a turn from speech to reply, barge-in with the heard part of the reply, short sounds
// over the agent, DTMF, and the hang-up after the last words have played.
#include "call/conversation.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <gtest/gtest.h>

#include <deque>

#include "agent/scripted/scripted_agent.hpp"

namespace voxgate::call {
namespace {

using namespace std::chrono_literals;

struct LoudnessVad : vad::VadDetector {
  bool is_speech(std::span<const std::int16_t> frame) override {
    return std::any_of(frame.begin(), frame.end(), [](std::int16_t s) { return s > 1000; });
  }
  void reset() override {}
};
struct LoudnessVadEngine : vad::VadEngine {
  std::string_view name() const override { return "loudness"; }
  std::unique_ptr<vad::VadDetector> open() const override {
    return std::make_unique<LoudnessVad>();
  }
};

// Answers each finished utterance with the next scripted transcript.
struct ScriptedStt : stt::SttEngine {
  struct Stream : stt::SttStream {
    Stream(ScriptedStt& engine, boost::asio::any_io_executor executor)
        : engine(engine), executor(std::move(executor)) {}
    void start_utterance() override { ++engine.utterances; }
    void feed(std::span<const std::int16_t> pcm) override {
      engine.samples_fed += pcm.size();
      engine.fed.insert(engine.fed.end(), pcm.begin(), pcm.end());
    }
    void finish(std::function<void(util::Result<stt::Transcript>)> done) override {
      std::string text = engine.transcripts.empty() ? "" : engine.transcripts.front();
      if (!engine.transcripts.empty()) engine.transcripts.pop_front();
      boost::asio::post(executor, [done = std::move(done), text] {
        done(stt::Transcript{.text = text});
      });
    }
    void cancel() override { ++engine.cancels; }
    ScriptedStt& engine;
    boost::asio::any_io_executor executor;
  };
  std::string_view name() const override { return "scripted"; }
  std::unique_ptr<stt::SttStream> open(boost::asio::any_io_executor executor,
                                       const stt::SttContext&) override {
    return std::make_unique<Stream>(*this, std::move(executor));
  }
  std::deque<std::string> transcripts;
  int utterances = 0, cancels = 0;
  std::size_t samples_fed = 0;
  std::vector<std::int16_t> fed;
};

// "Speaks" 100 ms of audio per word, one sentence per call.
struct WordTts : tts::TtsEngine {
  struct Job : tts::TtsJob {
    void cancel() override { *cancelled = true; }
    std::shared_ptr<bool> cancelled = std::make_shared<bool>(false);
  };
  std::string_view name() const override { return "words"; }
  std::unique_ptr<tts::TtsJob> synthesize(std::string text, boost::asio::any_io_executor executor,
                                          std::function<void(tts::SentenceAudio)> on_audio,
                                          std::function<void(util::Result<tts::Done>)> on_done)
      override {
    auto job = std::make_unique<Job>();
    const std::size_t n_words = std::count(text.begin(), text.end(), ' ') + 1;
    boost::asio::post(executor, [cancelled = job->cancelled, text, n_words,
                                 on_audio = std::move(on_audio), on_done = std::move(on_done)] {
      if (*cancelled) return;
      on_audio({.index = 0, .text = text, .mulaw = std::vector<std::uint8_t>(800 * n_words, 0x55)});
      on_done(tts::Done{.sentences = 1});
    });
    return job;
  }
};

struct RecordingOutput : ConversationOutput {
  bool play(std::span<const std::uint8_t> mulaw, std::string mark) override {
    plays.push_back({std::move(mark), mulaw.size()});
    return true;
  }
  audio::InterruptResult interrupt() override {
    ++interrupts;
    return {.played = played_before_interrupt};
  }
  void end_call(const agent::Action& action) override { ended = action; }
  void hand_over_reply(std::vector<std::uint8_t> reply, const agent::Action& action) override {
    handed_over.emplace_back(reply.size(), action);
  }
  std::vector<std::pair<std::size_t, agent::Action>> handed_over;
  std::vector<std::pair<std::string, std::size_t>> plays;
  int interrupts = 0;
  std::chrono::milliseconds played_before_interrupt{0};
  std::optional<agent::Action> ended;
};

agent::Dialog dialog() {
  return *agent::parse_dialog(R"(greeting = "Hello there"
fallback = "Sorry"
[[intent]]
name = "hours"
phrases = ["what are your opening hours"]
digits = "1"
reply = "We are open from eight to six every day"
[[intent]]
name = "bye"
keywords = ["goodbye"]
reply = "Goodbye"
action = "hangup"
)",
                              "test");
}

class ConversationTest : public ::testing::Test {
 protected:
  ConversationTest()
      : metrics(registry),
        agent(dialog()),
        conversation({&vad, &stt, &tts, &agent}, {}, io.get_executor(), {.call_sid = "CA1"},
                     output, metrics) {}

  // Caller audio: `ms` of loud (speech) or quiet frames, 20 ms each.
  void frames(bool loud, int ms) {
    const std::vector<std::int16_t> frame(160, loud ? 5000 : 0);
    for (int t = 0; t < ms; t += 20) {
      now += 20ms;
      conversation.on_audio(frame, now);
      io.poll();
    }
  }
  void settle() {
    io.restart();
    io.poll();
  }

  boost::asio::io_context io;
  observe::Registry registry;
  TurnMetrics metrics;
  LoudnessVadEngine vad;
  ScriptedStt stt;
  WordTts tts;
  agent::ScriptedAgentEngine agent;
  RecordingOutput output;
  Conversation conversation;
  Conversation::Clock::time_point now = Conversation::Clock::now();
};

TEST_F(ConversationTest, GreetsThenAnswersATurn) {
  conversation.start(now);
  settle();
  ASSERT_EQ(output.plays.size(), 1u);  // the greeting
  conversation.on_mark_played(output.plays[0].first);

  stt.transcripts = {"what are your opening hours"};
  frames(true, 800);
  frames(false, 700);  // > endpoint silence (500 ms)
  settle();
  EXPECT_EQ(stt.utterances, 1);
  // The recognizer got the speech, including the pre-speech frames.
  EXPECT_GE(stt.samples_fed, 800u / 20 * 160);
  ASSERT_EQ(output.plays.size(), 2u);
  EXPECT_EQ(output.plays[1].first, "t1-0");
  ASSERT_EQ(conversation.history().size(), 1u);
  EXPECT_EQ(conversation.history()[0].caller, "what are your opening hours");
  EXPECT_EQ(conversation.history()[0].agent, "We are open from eight to six every day");
  EXPECT_NE(registry.render().find("voxgate_turn_latency_seconds_count 1"), std::string::npos);
}

TEST_F(ConversationTest, TheRecognizerGetsThePreSpeechAudioInTimeOrder) {
  conversation.start(now);
  settle();
  conversation.on_mark_played(output.plays[0].first);
  // 1 s of quiet frames whose samples count up (all below the stand-in VAD's threshold),
  // then speech: the recognizer must get the last 300 ms (pre_speech) of the count, in
  // order, before the loud samples.
  std::int16_t next = 0;
  for (int t = 0; t < 1000; t += 20) {
    std::vector<std::int16_t> frame(160);
    for (auto& sample : frame) sample = static_cast<std::int16_t>(next++ % 1000);
    now += 20ms;
    conversation.on_audio(frame, now);
    io.poll();
  }
  frames(true, 200);
  // The ring holds the 300 ms up to the endpointer's speech start: the count's tail, then
  // the first loud frames.
  const auto first_loud = std::find(stt.fed.begin(), stt.fed.end(), 5000) - stt.fed.begin();
  ASSERT_GT(first_loud, 0);
  ASSERT_LT(first_loud, 2400);
  for (std::ptrdiff_t i = 0; i < first_loud; ++i) {
    ASSERT_EQ(stt.fed[i], static_cast<std::int16_t>((8000 - first_loud + i) % 1000)) << "sample " << i;
  }
  EXPECT_TRUE(std::all_of(stt.fed.begin() + first_loud, stt.fed.end(),
                          [](std::int16_t sample) { return sample == 5000; }));
  EXPECT_EQ(stt.fed.size(), static_cast<std::size_t>(first_loud) + 200 / 20 * 160);
}

TEST_F(ConversationTest, CallerTalkingOverTheReplyInterruptsItAndHistoryKeepsWhatWasHeard) {
  conversation.start(now);
  settle();
  conversation.on_mark_played(output.plays[0].first);
  stt.transcripts = {"what are your opening hours", "no thanks"};
  frames(true, 600);
  frames(false, 600);
  settle();
  ASSERT_EQ(output.plays.size(), 2u);  // the reply: 9 words = 900 ms of audio
  ASSERT_TRUE(conversation.agent_talking());

  output.played_before_interrupt = 300ms;  // a third of it had played
  frames(true, 300);  // >= barge_in_min_speech_ms (200)
  EXPECT_EQ(output.interrupts, 1);
  EXPECT_FALSE(conversation.agent_talking());
  EXPECT_EQ(conversation.history()[0].heard, "We are open…");
  frames(false, 600);
  settle();
  EXPECT_EQ(stt.utterances, 2);  // the interruption is the next turn
  EXPECT_EQ(conversation.history().size(), 2u);
  EXPECT_NE(registry.render().find("voxgate_barge_ins_total 1"), std::string::npos);
}

TEST_F(ConversationTest, ShortSoundsOverTheAgentDoNotInterrupt) {
  conversation.start(now);
  settle();
  ASSERT_TRUE(conversation.agent_talking());  // the greeting has not played yet
  frames(true, 140);  // a cough: starts an utterance (>= 100 ms) but no barge-in
  frames(false, 600);
  settle();
  EXPECT_EQ(output.interrupts, 0);
  EXPECT_EQ(stt.cancels, 1);
  EXPECT_TRUE(conversation.history().empty());
}

TEST_F(ConversationTest, KeysAnswerToo) {
  conversation.start(now);
  settle();
  conversation.on_mark_played(output.plays[0].first);
  conversation.on_dtmf("1", now);
  settle();
  ASSERT_EQ(conversation.history().size(), 1u);
  EXPECT_EQ(conversation.history()[0].caller, "[pressed 1]");
  EXPECT_EQ(conversation.history()[0].agent, "We are open from eight to six every day");
}

TEST_F(ConversationTest, HangsUpOnlyAfterTheLastWordsHavePlayed) {
  conversation.start(now);
  settle();
  conversation.on_mark_played(output.plays[0].first);
  stt.transcripts = {"okay goodbye"};
  frames(true, 400);
  frames(false, 600);
  settle();
  ASSERT_EQ(output.plays.size(), 2u);
  EXPECT_FALSE(output.ended.has_value());  // "Goodbye" is still playing
  conversation.on_mark_played(output.plays[1].first);
  ASSERT_TRUE(output.ended.has_value());
  EXPECT_EQ(output.ended->kind, agent::ActionKind::kHangup);
}

// Hybrid mode: the greeting streams, but each reply is handed over whole for TwiML to play
// between two streams; the next stream resumes the history without greeting again.
class HybridConversationTest : public ConversationTest {
 protected:
  HybridConversationTest()
      : hybrid({&vad, &stt, &tts, &agent}, {.hybrid = true}, io.get_executor(),
               {.call_sid = "CA1"}, output, metrics) {}
  void frames(bool loud, int ms) {
    const std::vector<std::int16_t> frame(160, loud ? 5000 : 0);
    for (int t = 0; t < ms; t += 20) {
      now += 20ms;
      hybrid.on_audio(frame, now);
      io.poll();
    }
  }
  Conversation hybrid;
};

TEST_F(HybridConversationTest, RepliesAreHandedOverWhole) {
  hybrid.start(now);
  settle();
  ASSERT_EQ(output.plays.size(), 1u);  // the greeting streams
  hybrid.on_mark_played(output.plays[0].first);
  stt.transcripts = {"what are your opening hours"};
  frames(true, 600);
  frames(false, 700);
  settle();
  EXPECT_EQ(output.plays.size(), 1u);  // the reply did not stream
  ASSERT_EQ(output.handed_over.size(), 1u);
  EXPECT_GT(output.handed_over[0].first, 0u);
  EXPECT_EQ(output.handed_over[0].second.kind, agent::ActionKind::kNone);
  EXPECT_EQ(hybrid.history().size(), 1u);
}

TEST_F(HybridConversationTest, ANewStreamResumesWithoutGreeting) {
  hybrid.start(now, {{"hello", "Hello there", "Hello there"}});
  settle();
  EXPECT_TRUE(output.plays.empty());
  stt.transcripts = {"okay goodbye"};
  frames(true, 400);
  frames(false, 600);
  settle();
  ASSERT_EQ(output.handed_over.size(), 1u);
  EXPECT_EQ(output.handed_over[0].second.kind, agent::ActionKind::kHangup);
  EXPECT_EQ(hybrid.history().size(), 2u);
}

}  // namespace
}  // namespace voxgate::call
