// The simulator's far end: 1x playout, mark echoes when their audio has played (or at once),
// clear, and frame timing, all on a manual clock.
#include "sim/far_end.hpp"

#include <gtest/gtest.h>

namespace voxgate::sim {
namespace {

using namespace std::chrono_literals;
using TimePoint = FarEnd::TimePoint;

const TimePoint kT0 = TimePoint{} + 1000s;

TEST(FarEndTest, MarkWithNothingQueuedIsEchoedAtOnce) {
  FarEnd far;
  const auto echoes = far.on_mark("m1", kT0);
  ASSERT_EQ(echoes.size(), 1u);
  EXPECT_EQ(echoes[0].name, "m1");
  EXPECT_TRUE(echoes[0].played);
  EXPECT_TRUE(far.idle(kT0));
}

TEST(FarEndTest, MarkIsEchoedWhenTheAudioBeforeItHasPlayed) {
  FarEnd far;
  for (int i = 0; i < 5; ++i) far.on_media(160, kT0);  // 100 ms, all at once
  EXPECT_TRUE(far.on_mark("end", kT0 + 1ms).empty());
  EXPECT_EQ(far.next_mark_due(), kT0 + 100ms);
  EXPECT_TRUE(far.advance(kT0 + 99ms).empty());
  EXPECT_FALSE(far.idle(kT0 + 99ms));
  const auto echoes = far.advance(kT0 + 100ms);
  ASSERT_EQ(echoes.size(), 1u);
  EXPECT_EQ(echoes[0].name, "end");
  EXPECT_TRUE(echoes[0].played);
  EXPECT_TRUE(far.idle(kT0 + 100ms));
}

TEST(FarEndTest, PlayoutStartsAtArrivalWhenTheBufferIsEmpty) {
  FarEnd far;
  far.on_media(160, kT0);
  EXPECT_EQ(far.playout_end(), kT0 + 20ms);
  far.on_mark("a", kT0);
  far.advance(kT0 + 20ms);
  far.on_media(800, kT0 + 500ms);  // a new utterance after silence
  EXPECT_EQ(far.playout_end(), kT0 + 600ms);
  EXPECT_EQ(far.timing().underruns, 0u);  // a new utterance, not an underrun
}

TEST(FarEndTest, MarksComeBackInOrder) {
  FarEnd far;
  far.on_media(160, kT0);
  far.on_mark("a", kT0);
  far.on_media(160, kT0);
  far.on_mark("b", kT0);
  EXPECT_EQ(far.pending_marks(), 2u);
  const auto echoes = far.advance(kT0 + 1s);
  ASSERT_EQ(echoes.size(), 2u);
  EXPECT_EQ(echoes[0].name, "a");
  EXPECT_EQ(echoes[1].name, "b");
}

TEST(FarEndTest, ClearEmptiesTheBufferAndEchoesPendingMarksAsCleared) {
  FarEnd far;
  far.on_media(160, kT0);
  far.on_mark("played", kT0);
  for (int i = 0; i < 50; ++i) far.on_media(160, kT0);  // 1 s more
  far.on_mark("pending", kT0);
  const auto echoes = far.on_clear(kT0 + 40ms);
  ASSERT_EQ(echoes.size(), 2u);
  EXPECT_EQ(echoes[0].name, "played");
  EXPECT_TRUE(echoes[0].played);
  EXPECT_EQ(echoes[1].name, "pending");
  EXPECT_FALSE(echoes[1].played);
  EXPECT_TRUE(far.idle(kT0 + 40ms));
  EXPECT_EQ(far.playout_end(), kT0 + 40ms);
  // New audio after the clear plays at once.
  far.on_media(160, kT0 + 50ms);
  EXPECT_EQ(far.playout_end(), kT0 + 70ms);
  EXPECT_EQ(far.timing().underruns, 0u);
}

TEST(FarEndTest, ALateFrameInsideAnUtteranceIsAnUnderrunWithItsGap) {
  FarEnd far;
  far.on_media(160, kT0);                    // plays until +20 ms
  far.on_media(160, kT0 + 15ms);             // on time: queued behind
  EXPECT_EQ(far.timing().underruns, 0u);
  far.on_media(160, kT0 + 70ms);             // the buffer ran dry at +40 ms
  EXPECT_EQ(far.timing().underruns, 1u);
  EXPECT_DOUBLE_EQ(far.timing().max_gap_ms, 30.0);
  EXPECT_EQ(far.timing().frames, 3u);
}

TEST(FarEndTest, FramesFarAheadOfPlayoutAreBursts) {
  FarEnd far;
  for (int i = 0; i < 20; ++i) far.on_media(160, kT0);  // 400 ms at once
  // Frames 0..10 start within 200 ms; frames 11.. arrive more than 200 ms ahead.
  EXPECT_EQ(far.timing().bursts, 9u);
  EXPECT_EQ(far.timing().underruns, 0u);
}

TEST(FarEndTest, ResetKeepsTheTotals) {
  FarEnd far;
  far.on_media(160, kT0);
  far.on_mark("x", kT0);
  far.reset(kT0 + 5ms);
  EXPECT_EQ(far.pending_marks(), 0u);
  EXPECT_TRUE(far.idle(kT0 + 5ms));
  EXPECT_EQ(far.timing().frames, 1u);
}

}  // namespace
}  // namespace voxgate::sim
