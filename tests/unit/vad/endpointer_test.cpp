// Endpointer on synthetic speech-flag patterns: what starts a turn, what keeps it, what ends
// it, and the times it reports. Frames are 20 ms; frame i is stamped kT0 + 20 ms * i.
#include "vad/endpointer.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <vector>

namespace voxgate::vad {
namespace {

using std::chrono::milliseconds;
using TimePoint = Endpointer::TimePoint;

const TimePoint kT0 = TimePoint{} + std::chrono::hours(1);

TimePoint at_frame(int i) { return kT0 + milliseconds(20) * i; }

struct Event {
  int frame;
  EndpointerUpdate update;
};

// Feeds `n` frames of `speech` starting at frame index `first`; returns the events (not kNone).
std::vector<Event> feed(Endpointer& ep, int& frame, int n, bool speech) {
  std::vector<Event> events;
  for (int i = 0; i < n; ++i, ++frame) {
    EndpointerUpdate u = ep.push(speech, at_frame(frame));
    if (u.event != EndpointEvent::kNone) events.push_back({frame, u});
  }
  return events;
}

// Feeds a sequence of (speech?, frames) runs; returns all events.
std::vector<Event> feed_runs(Endpointer& ep, std::vector<std::pair<bool, int>> runs) {
  std::vector<Event> all;
  int frame = 0;
  for (auto [speech, n] : runs) {
    auto e = feed(ep, frame, n, speech);
    all.insert(all.end(), e.begin(), e.end());
  }
  return all;
}

TEST(EndpointerTest, DefaultsAreTheDocumentedOnes) {
  EndpointerOptions o;
  EXPECT_EQ(o.endpoint_silence_ms, 500);
  EXPECT_EQ(o.min_speech_ms, 100);
  EXPECT_EQ(o.max_utterance_s, 30);
  EXPECT_EQ(o.barge_in_min_speech_ms, 200);
  EXPECT_EQ(o.start_gap_ms, 200);
  EXPECT_EQ(o.frame_ms, 20);
}

TEST(EndpointerTest, ShortBlipNeverStartsATurn) {
  Endpointer ep;
  // 80 ms of speech (4 frames) < 100 ms, repeated with gaps: never a contiguous 100 ms.
  auto events = feed_runs(ep, {{false, 10}, {true, 4}, {false, 3}, {true, 4}, {false, 50}});
  EXPECT_TRUE(events.empty());
  EXPECT_FALSE(ep.in_utterance());
}

TEST(EndpointerTest, SpeechStartsAfterMinSpeechWithTheFirstFrameAsStart) {
  Endpointer ep;
  auto events = feed_runs(ep, {{false, 10}, {true, 5}});
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].update.event, EndpointEvent::kSpeechStart);
  EXPECT_EQ(events[0].frame, 14);  // the 5th speech frame completes 100 ms
  EXPECT_EQ(events[0].update.speech_start, at_frame(10));
  EXPECT_TRUE(ep.in_utterance());
}

TEST(EndpointerTest, AShortRunJustBeforeTheStartMovesTheStartBack) {
  Endpointer ep;
  // A 60 ms first syllable, a 140 ms stop, then the rest: the turn starts at the syllable.
  auto events = feed_runs(ep, {{false, 10}, {true, 3}, {false, 7}, {true, 10}});
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(events[0].update.event, EndpointEvent::kSpeechStart);
  EXPECT_EQ(events[0].frame, 24);  // still confirmed by 100 ms of contiguous speech
  EXPECT_EQ(events[0].update.speech_start, at_frame(10));
  // The syllable's 3 frames count towards barge-in: 3 + 7 = 10 speech frames at frame 26.
  EXPECT_EQ(events[1].update.event, EndpointEvent::kBargeIn);
  EXPECT_EQ(events[1].frame, 26);
}

TEST(EndpointerTest, ChainsOfShortRunsReachBackAcrossGapsUpToStartGap) {
  Endpointer ep;
  // Runs at frames 0, 12 and 25, gaps of 200 ms then 220 ms: the second gap breaks the chain.
  auto events = feed_runs(
      ep, {{true, 2}, {false, 10}, {true, 2}, {false, 11}, {true, 1}, {false, 10}, {true, 5}});
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].update.event, EndpointEvent::kSpeechStart);
  EXPECT_EQ(events[0].update.speech_start, at_frame(25));
}

TEST(EndpointerTest, StartGapZeroReportsTheConfirmingRun) {
  EndpointerOptions o;
  o.start_gap_ms = 0;
  Endpointer ep(o);
  auto events = feed_runs(ep, {{true, 3}, {false, 1}, {true, 5}});
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].update.speech_start, at_frame(4));
}

TEST(EndpointerTest, FourSpeechFramesAreNotEnough) {
  Endpointer ep;
  auto events = feed_runs(ep, {{false, 3}, {true, 4}, {false, 1}});
  EXPECT_TRUE(events.empty());
}

TEST(EndpointerTest, EndsAfterSilenceAndReportsTheLastSpeechFrame) {
  Endpointer ep;
  auto events = feed_runs(ep, {{false, 10}, {true, 20}, {false, 30}});
  ASSERT_EQ(events.size(), 3u);
  EXPECT_EQ(events[0].update.event, EndpointEvent::kSpeechStart);
  EXPECT_EQ(events[1].update.event, EndpointEvent::kBargeIn);
  const auto& end = events[2];
  EXPECT_EQ(end.update.event, EndpointEvent::kEndOfUtterance);
  EXPECT_EQ(end.update.end_reason, EndReason::kSilence);
  EXPECT_EQ(end.update.speech_start, at_frame(10));
  EXPECT_EQ(end.update.last_speech, at_frame(29));
  // 25 silent frames = 500 ms after the last speech frame: frames 30..54.
  EXPECT_EQ(end.frame, 54);
  EXPECT_FALSE(ep.in_utterance());
}

TEST(EndpointerTest, SilenceOneFrameShortOfTheTimeoutDoesNotEnd) {
  Endpointer ep;
  auto events = feed_runs(ep, {{true, 10}, {false, 24}});
  ASSERT_FALSE(events.empty());
  EXPECT_NE(events.back().update.event, EndpointEvent::kEndOfUtterance);
  EXPECT_TRUE(ep.in_utterance());
  int frame = 34;
  auto more = feed(ep, frame, 1, false);
  ASSERT_EQ(more.size(), 1u);
  EXPECT_EQ(more[0].update.event, EndpointEvent::kEndOfUtterance);
}

TEST(EndpointerTest, GapsShorterThanTheSilenceKeepTheTurn) {
  Endpointer ep;
  // Gaps of 480, 200 and 20 ms inside one utterance.
  auto events = feed_runs(ep, {{true, 10},
                               {false, 24},
                               {true, 3},
                               {false, 10},
                               {true, 1},
                               {false, 1},
                               {true, 6},
                               {false, 40}});
  int starts = 0;
  int ends = 0;
  for (const auto& e : events) {
    starts += e.update.event == EndpointEvent::kSpeechStart;
    ends += e.update.event == EndpointEvent::kEndOfUtterance;
  }
  EXPECT_EQ(starts, 1);
  ASSERT_EQ(ends, 1);
  EXPECT_EQ(events.back().update.speech_start, at_frame(0));
  // Runs: 0-9 speech, 10-33 gap, 34-36 speech, 37-46 gap, 47 speech, 48 gap, 49-54 speech.
  EXPECT_EQ(events.back().update.last_speech, at_frame(54));
}

TEST(EndpointerTest, MaxLengthForcesAnEndAndSpeechGoesOnAsANewTurn) {
  EndpointerOptions o;
  o.max_utterance_s = 2;  // 100 frames
  Endpointer ep(o);
  auto events = feed_runs(ep, {{true, 110}});
  ASSERT_GE(events.size(), 3u);
  EXPECT_EQ(events[0].update.event, EndpointEvent::kSpeechStart);
  EXPECT_EQ(events[2].update.event, EndpointEvent::kEndOfUtterance);
  EXPECT_EQ(events[2].update.end_reason, EndReason::kMaxLength);
  EXPECT_EQ(events[2].frame, 99);
  EXPECT_EQ(events[2].update.speech_start, at_frame(0));
  EXPECT_EQ(events[2].update.last_speech, at_frame(99));
  // The speech goes on: a new turn after another min_speech_ms (frames 100..104).
  ASSERT_EQ(events.size(), 5u);
  EXPECT_EQ(events[3].update.event, EndpointEvent::kSpeechStart);
  EXPECT_EQ(events[3].frame, 104);
  EXPECT_EQ(events[3].update.speech_start, at_frame(100));
  EXPECT_EQ(events[4].update.event, EndpointEvent::kBargeIn);
}

TEST(EndpointerTest, BargeInAfter200MsOfSpeechExactlyOnce) {
  Endpointer ep;
  auto events = feed_runs(ep, {{false, 5}, {true, 60}, {false, 5}, {true, 60}, {false, 30}});
  std::vector<Event> barge;
  for (const auto& e : events) {
    if (e.update.event == EndpointEvent::kBargeIn) barge.push_back(e);
  }
  ASSERT_EQ(barge.size(), 1u);
  EXPECT_EQ(barge[0].frame, 5 + 9);  // the 10th speech frame completes 200 ms
  EXPECT_EQ(barge[0].update.speech_start, at_frame(5));
}

TEST(EndpointerTest, BargeInCountsSpeechNotGaps) {
  Endpointer ep;
  // 100 ms speech (start), 300 ms gap, then speech: barge-in on the 5th frame after the gap.
  auto events = feed_runs(ep, {{true, 5}, {false, 15}, {true, 10}});
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(events[1].update.event, EndpointEvent::kBargeIn);
  EXPECT_EQ(events[1].frame, 20 + 4);
}

TEST(EndpointerTest, UtteranceShorterThanBargeInGivesNoBargeIn) {
  Endpointer ep;
  auto events = feed_runs(ep, {{true, 8}, {false, 30}});
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(events[0].update.event, EndpointEvent::kSpeechStart);
  EXPECT_EQ(events[1].update.event, EndpointEvent::kEndOfUtterance);
}

TEST(EndpointerTest, BargeInNotAboveMinSpeechComesOneFrameAfterTheStart) {
  EndpointerOptions o;
  o.barge_in_min_speech_ms = 60;
  Endpointer ep(o);
  auto events = feed_runs(ep, {{true, 7}});
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(events[0].update.event, EndpointEvent::kSpeechStart);
  EXPECT_EQ(events[0].frame, 4);
  EXPECT_EQ(events[1].update.event, EndpointEvent::kBargeIn);
  EXPECT_EQ(events[1].frame, 5);
}

TEST(EndpointerTest, DurationsCountFramesNotTimeStamps) {
  // Frames stamped with bursty arrival times: five frames arriving at the same instant still
  // make 100 ms of speech.
  Endpointer ep;
  EndpointerUpdate u;
  for (int i = 0; i < 5; ++i) u = ep.push(true, kT0);
  EXPECT_EQ(u.event, EndpointEvent::kSpeechStart);
}

TEST(EndpointerTest, ResetForgetsTheUtterance) {
  Endpointer ep;
  feed_runs(ep, {{true, 10}});
  ASSERT_TRUE(ep.in_utterance());
  ep.reset();
  EXPECT_FALSE(ep.in_utterance());
  // A partial run before the reset does not count either.
  int frame = 0;
  feed(ep, frame, 3, true);
  ep.reset();
  auto events = feed(ep, frame, 4, true);
  EXPECT_TRUE(events.empty());
  events = feed(ep, frame, 1, true);
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].update.event, EndpointEvent::kSpeechStart);
  EXPECT_EQ(events[0].update.speech_start, at_frame(3));
}

TEST(EndpointerTest, OptionsAreRoundedUpToWholeFrames) {
  EndpointerOptions o;
  o.min_speech_ms = 90;  // 4.5 frames -> 5
  Endpointer ep(o);
  auto events = feed_runs(ep, {{true, 4}});
  EXPECT_TRUE(events.empty());
  int frame = 4;
  events = feed(ep, frame, 1, true);
  ASSERT_EQ(events.size(), 1u);
}

}  // namespace
}  // namespace voxgate::vad
