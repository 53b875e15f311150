// Tests for the outbound pacer with a manual clock: the schedule (never early, never more than
// one poll late, bounded lead, no drift over 10 minutes), framing and padding, marks after their
// utterance, interrupt (barge-in) bookkeeping, mark fates, bounds and next_due().
#include "audio/pacer.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <cstdint>
#include <numeric>
#include <random>
#include <string>
#include <variant>
#include <vector>

namespace voxgate::audio {
namespace {

using std::chrono::microseconds;
using std::chrono::milliseconds;
using namespace std::chrono_literals;

// An arbitrary origin for the manual clock.
const Clock::time_point kT0 = Clock::time_point{} + std::chrono::hours(1);

// Playing time of `n` 20 ms frames, as a signed duration.
Clock::duration frames_ms(std::uint64_t n) { return static_cast<std::int64_t>(n) * 20ms; }

std::vector<std::uint8_t> bytes(std::size_t n, std::uint8_t seed = 0) {
  std::vector<std::uint8_t> v(n);
  for (std::size_t i = 0; i < n; ++i) v[i] = static_cast<std::uint8_t>(seed + i);
  return v;
}

std::size_t count_frames(const std::vector<PacerItem>& items) {
  std::size_t n = 0;
  for (const PacerItem& item : items) n += std::holds_alternative<OutFrame>(item) ? 1 : 0;
  return n;
}

std::vector<std::string> marks_of(const std::vector<PacerItem>& items) {
  std::vector<std::string> names;
  for (const PacerItem& item : items) {
    if (const auto* m = std::get_if<OutMark>(&item)) names.push_back(m->name);
  }
  return names;
}

TEST(Pacer, SplitsIntoFramesPadsWithSilenceAndMarksLast) {
  Pacer pacer;
  const std::vector<std::uint8_t> audio = bytes(400, 1);  // 2.5 frames
  ASSERT_TRUE(pacer.enqueue(audio, "utt", kT0));
  EXPECT_EQ(pacer.queued_frames(), 3u);
  const std::vector<PacerItem> items = pacer.poll(kT0 + 1s);
  ASSERT_EQ(items.size(), 4u);
  std::vector<std::uint8_t> sent;
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE(std::holds_alternative<OutFrame>(items[i]));
    const auto& f = std::get<OutFrame>(items[i]).mulaw;
    sent.insert(sent.end(), f.begin(), f.end());
  }
  ASSERT_EQ(sent.size(), 480u);
  EXPECT_TRUE(std::equal(audio.begin(), audio.end(), sent.begin()));
  for (std::size_t i = 400; i < 480; ++i) EXPECT_EQ(sent[i], kUlawSilence);
  ASSERT_TRUE(std::holds_alternative<OutMark>(items[3]));
  EXPECT_EQ(std::get<OutMark>(items[3]).name, "utt");
  EXPECT_EQ(pacer.stats().frames_sent, 3u);
  EXPECT_EQ(pacer.stats().marks_sent, 1u);
}

TEST(Pacer, ExactFrameMultipleIsNotPadded) {
  Pacer pacer;
  ASSERT_TRUE(pacer.enqueue(bytes(320), "", kT0));
  EXPECT_EQ(pacer.queued_frames(), 2u);
  const auto items = pacer.poll(kT0);
  EXPECT_EQ(count_frames(items), 2u);
  EXPECT_TRUE(marks_of(items).empty());  // an empty name queues no mark
}

TEST(Pacer, MarkOnlyUtteranceGoesOutAtOnce) {
  Pacer pacer;
  ASSERT_TRUE(pacer.enqueue({}, "sync", kT0));
  EXPECT_LE(pacer.next_due(), kT0);
  EXPECT_EQ(marks_of(pacer.poll(kT0)), std::vector<std::string>{"sync"});
  EXPECT_EQ(pacer.next_due(), Clock::time_point::max());
  // Nothing at all is a no-op.
  ASSERT_TRUE(pacer.enqueue({}, "", kT0));
  EXPECT_EQ(pacer.next_due(), Clock::time_point::max());
}

TEST(Pacer, ScheduleFromRunStartWithLead) {
  Pacer pacer;
  ASSERT_TRUE(pacer.enqueue(bytes(160 * 50), "u", kT0));
  // Frames 0-5 are due at kT0 - 100 ms .. kT0: 120 ms of audio go out at once.
  EXPECT_EQ(pacer.next_due(), kT0 - 100ms);
  EXPECT_EQ(count_frames(pacer.poll(kT0)), 6u);
  EXPECT_EQ(pacer.next_due(), kT0 + 20ms);
  EXPECT_TRUE(pacer.poll(kT0 + 19ms).empty());
  EXPECT_EQ(count_frames(pacer.poll(kT0 + 20ms)), 1u);
  EXPECT_EQ(count_frames(pacer.poll(kT0 + 79ms)), 2u);  // frames 7, 8 (due +40, +60)
  EXPECT_EQ(pacer.next_due(), kT0 + 80ms);
  // Frame 49 is due at kT0 + 880 ms; its mark right after it.
  const auto rest = pacer.poll(kT0 + 880ms);
  EXPECT_EQ(count_frames(rest), 50u - 9u);
  EXPECT_EQ(marks_of(rest), std::vector<std::string>{"u"});
  EXPECT_EQ(pacer.next_due(), Clock::time_point::max());
}

TEST(Pacer, MarksFollowTheirUtterance) {
  Pacer pacer;
  ASSERT_TRUE(pacer.enqueue(bytes(160 * 3), "a", kT0));
  ASSERT_TRUE(pacer.enqueue(bytes(161), "b", kT0));
  ASSERT_TRUE(pacer.enqueue(bytes(160), "c", kT0));
  std::vector<std::string> order;
  for (const PacerItem& item : pacer.poll(kT0 + 10s)) {
    order.push_back(std::holds_alternative<OutFrame>(item) ? "f" : std::get<OutMark>(item).name);
  }
  EXPECT_EQ(order, (std::vector<std::string>{"f", "f", "f", "a", "f", "f", "b", "f", "c"}));
}

TEST(Pacer, MarkWaitsForItsLastFrame) {
  Pacer pacer;
  ASSERT_TRUE(pacer.enqueue(bytes(160 * 8), "end", kT0));
  auto items = pacer.poll(kT0);
  EXPECT_EQ(count_frames(items), 6u);
  EXPECT_TRUE(marks_of(items).empty());
  items = pacer.poll(kT0 + 20ms);
  EXPECT_EQ(count_frames(items), 1u);
  EXPECT_TRUE(marks_of(items).empty());
  items = pacer.poll(kT0 + 40ms);
  ASSERT_EQ(items.size(), 2u);
  EXPECT_TRUE(std::holds_alternative<OutFrame>(items[0]));
  EXPECT_EQ(std::get<OutMark>(items[1]).name, "end");
}

// Ten minutes of audio in utterances of random length, polled every 20 ms +- 0-15 ms. The
// producer either keeps the queue topped up (one run) or refills it only once it is empty (a
// new run per utterance, each continuing behind the audio still playing).
void run_ten_minutes(bool refill_when_empty, std::uint64_t seed) {
  constexpr std::size_t kTotalFrames = 30000;  // 10 min of 20 ms
  std::mt19937_64 rng(seed);
  Pacer pacer;

  std::size_t frames_enqueued = 0;
  std::vector<Clock::time_point> enqueued_at;  // per frame index
  std::vector<std::size_t> utterance_end;      // frame count after each utterance
  int next_name = 0;
  std::size_t frames_sent = 0;
  std::size_t marks_seen = 0;
  Clock::time_point now = kT0;
  Clock::time_point previous_poll = Clock::time_point::min();
  std::vector<PacerItem> items;

  while (frames_sent < kTotalFrames) {
    const bool want_more = refill_when_empty ? pacer.queued_frames() == 0 && pacer.idle(now + 1h)
                                             : pacer.queued_frames() < 100;
    if (frames_enqueued < kTotalFrames && want_more) {
      std::size_t n_bytes = 1 + rng() % (160 * 300);  // up to 6 s, any length
      std::size_t n_frames = (n_bytes + 159) / 160;
      if (frames_enqueued + n_frames > kTotalFrames) {
        n_frames = kTotalFrames - frames_enqueued;
        n_bytes = n_frames * 160;
      }
      ASSERT_TRUE(pacer.enqueue(bytes(n_bytes), std::to_string(next_name++), now));
      frames_enqueued += n_frames;
      enqueued_at.resize(frames_enqueued, now);
      utterance_end.push_back(frames_enqueued);
    }

    pacer.poll(now, items);
    for (const PacerItem& item : items) {
      if (std::holds_alternative<OutFrame>(item)) {
        const Clock::time_point due = kT0 + frames_ms(frames_sent) - 100ms;
        // Never early; never held back past a poll at which it was due and available.
        ASSERT_LE(due, now) << "frame " << frames_sent;
        ASSERT_GT(std::max(due, enqueued_at[frames_sent]), previous_poll)
            << "frame " << frames_sent;
        ++frames_sent;
      } else {
        // A mark comes right after the last frame of its utterance.
        ASSERT_LT(marks_seen, utterance_end.size());
        EXPECT_EQ(std::get<OutMark>(item).name, std::to_string(marks_seen));
        ASSERT_EQ(frames_sent, utterance_end[marks_seen]);
        ++marks_seen;
      }
    }
    // At most lead + one frame of audio ahead of real time.
    const Clock::time_point sent_end = kT0 + frames_ms(frames_sent);
    ASSERT_LE(sent_end - now, 120ms) << "after frame " << frames_sent;

    previous_poll = now;
    now += 20ms + microseconds(static_cast<std::int64_t>(rng() % 30001) - 15000);
  }
  EXPECT_EQ(frames_sent, kTotalFrames);
  EXPECT_EQ(pacer.stats().frames_sent, kTotalFrames);
  EXPECT_EQ(marks_seen, utterance_end.size());
  // The last frame went out no earlier than its slot, 10 min - 20 ms - lead after the start.
  EXPECT_GE(previous_poll, kT0 + 600s - 20ms - 100ms);
  EXPECT_FALSE(pacer.idle(previous_poll));
  EXPECT_TRUE(pacer.idle(kT0 + 600s));
}

TEST(Pacer, TenMinutesJitteryPollingOneRun) { run_ten_minutes(false, 1); }
TEST(Pacer, TenMinutesJitteryPollingRunPerUtterance) { run_ten_minutes(true, 2); }

TEST(Pacer, NoDriftAfterTenMinutes) {
  Pacer pacer;
  Clock::time_point now = kT0;
  std::uint64_t frames_sent = 0;
  int utterances = 0;
  std::vector<PacerItem> items;
  // 999-frame utterances, so frame 30000 is in the middle of one; polled exactly on time.
  while (frames_sent < 30000) {
    if (pacer.queued_frames() < 1000) {
      ASSERT_TRUE(pacer.enqueue(bytes(999 * 160), "u" + std::to_string(utterances++), now));
    }
    const Clock::time_point due = pacer.next_due();
    ASSERT_EQ(due, kT0 + frames_ms(frames_sent) - 100ms);
    now = std::max(now, due);
    pacer.poll(now, items);
    frames_sent += count_frames(items);
  }
  ASSERT_EQ(frames_sent, 30000u);
  EXPECT_EQ(pacer.next_due(), kT0 + 600s - 100ms);
  EXPECT_EQ(pacer.stats().late_polls, 0u);
}

TEST(Pacer, NewUtteranceContinuesBehindPlayingAudio) {
  Pacer pacer;
  ASSERT_TRUE(pacer.enqueue(bytes(160 * 10), "a", kT0));
  pacer.poll(kT0 + 80ms);  // everything sent; plays until kT0 + 200 ms
  EXPECT_EQ(pacer.next_due(), Clock::time_point::max());
  EXPECT_FALSE(pacer.idle(kT0 + 199ms));
  ASSERT_TRUE(pacer.enqueue(bytes(160 * 10), "b", kT0 + 150ms));
  EXPECT_EQ(pacer.next_due(), kT0 + 200ms - 100ms);  // right behind "a", no gap, no overlap
}

TEST(Pacer, NewUtteranceAfterSilenceStartsNow) {
  Pacer pacer;
  ASSERT_TRUE(pacer.enqueue(bytes(160 * 10), "a", kT0));
  pacer.poll(kT0 + 80ms);
  EXPECT_TRUE(pacer.idle(kT0 + 200ms));
  const std::uint64_t late_polls = pacer.stats().late_polls;
  ASSERT_TRUE(pacer.enqueue(bytes(160 * 10), "b", kT0 + 5s));
  EXPECT_EQ(pacer.next_due(), kT0 + 5s - 100ms);
  EXPECT_EQ(count_frames(pacer.poll(kT0 + 5s)), 6u);
  // Frames due before they were enqueued are not late.
  EXPECT_EQ(pacer.stats().late_polls, late_polls);
}

TEST(Pacer, InterruptDropsQueueAndReportsPlayed) {
  Pacer pacer;
  ASSERT_TRUE(pacer.enqueue(bytes(160 * 10), "a", kT0));   // 200 ms
  ASSERT_TRUE(pacer.enqueue(bytes(160 * 100), "b", kT0));  // 2 s
  std::vector<std::string> marks;
  Clock::time_point now = kT0;
  for (; now <= kT0 + 500ms; now += 20ms) {
    for (const std::string& m : marks_of(pacer.poll(now))) marks.push_back(m);
  }
  ASSERT_EQ(marks, std::vector<std::string>{"a"});
  EXPECT_EQ(pacer.on_mark_echo("a"), MarkFate::kPlayed);  // echoed before the interrupt

  const std::uint64_t sent = pacer.stats().frames_sent;
  EXPECT_EQ(sent, 31u);  // frame k is due at kT0 + 20k - 100 ms <= kT0 + 500 ms
  const InterruptResult r = pacer.interrupt(kT0 + 510ms);
  EXPECT_EQ(r.played, 510ms);
  EXPECT_EQ(r.dropped_frames, 110u - sent);
  EXPECT_TRUE(r.discarded_marks.empty());
  EXPECT_EQ(r.dropped_marks, std::vector<std::string>{"b"});
  EXPECT_EQ(pacer.queued_frames(), 0u);
  EXPECT_EQ(pacer.next_due(), Clock::time_point::max());
  EXPECT_TRUE(pacer.poll(kT0 + 10s).empty());
  EXPECT_TRUE(pacer.idle(kT0 + 510ms));
  EXPECT_EQ(pacer.stats().clears, 1u);
  EXPECT_EQ(pacer.stats().frames_dropped, 110u - sent);
  EXPECT_EQ(pacer.on_mark_echo("b"), MarkFate::kUnknown);  // never sent
}

TEST(Pacer, PlayedIsCappedAtTheAudioSent) {
  Pacer pacer;
  ASSERT_TRUE(pacer.enqueue(bytes(160 * 10), "a", kT0));
  pacer.poll(kT0 + 80ms);  // all 200 ms sent; one more utterance follows right behind it
  ASSERT_TRUE(pacer.enqueue(bytes(160 * 10), "b", kT0 + 150ms));
  // Nothing of "b" was sent (no poll): the caller heard "a" and no more.
  EXPECT_EQ(pacer.interrupt(kT0 + 300ms).played, 200ms);
}

TEST(Pacer, PlayedSpansUtterancesOfOnePlayout) {
  Pacer pacer;
  ASSERT_TRUE(pacer.enqueue(bytes(160 * 10), "a", kT0));
  pacer.poll(kT0 + 80ms);
  ASSERT_TRUE(pacer.enqueue(bytes(160 * 50), "b", kT0 + 150ms));
  pacer.poll(kT0 + 300ms);
  EXPECT_EQ(pacer.interrupt(kT0 + 300ms).played, 300ms);
}

TEST(Pacer, InterruptWhenIdle) {
  Pacer pacer;
  InterruptResult r = pacer.interrupt(kT0);
  EXPECT_EQ(r.played, 0ms);
  EXPECT_EQ(r.dropped_frames, 0u);
  ASSERT_TRUE(pacer.enqueue(bytes(160), "a", kT0));
  pacer.poll(kT0);
  EXPECT_EQ(pacer.on_mark_echo("a"), MarkFate::kPlayed);
  r = pacer.interrupt(kT0 + 1s);
  EXPECT_EQ(r.played, 0ms);  // the playout had ended
  EXPECT_TRUE(r.discarded_marks.empty());
  EXPECT_EQ(pacer.stats().clears, 2u);
}

TEST(Pacer, MarksEchoedAfterInterruptAreDiscarded) {
  Pacer pacer;
  ASSERT_TRUE(pacer.enqueue(bytes(160 * 5), "m1", kT0));
  ASSERT_TRUE(pacer.enqueue(bytes(160 * 1), "m2", kT0));
  ASSERT_TRUE(pacer.enqueue(bytes(160 * 50), "m3", kT0));
  EXPECT_EQ(marks_of(pacer.poll(kT0)), (std::vector<std::string>{"m1", "m2"}));
  EXPECT_EQ(pacer.on_mark_echo("m1"), MarkFate::kPlayed);

  const InterruptResult r = pacer.interrupt(kT0 + 110ms);
  EXPECT_EQ(r.discarded_marks, std::vector<std::string>{"m2"});
  EXPECT_EQ(r.dropped_marks, std::vector<std::string>{"m3"});
  // Twilio now echoes m2 because of the clear (§1.3).
  EXPECT_EQ(pacer.on_mark_echo("m2"), MarkFate::kDiscarded);
  EXPECT_EQ(pacer.on_mark_echo("m2"), MarkFate::kUnknown);  // each echo is matched once
  EXPECT_EQ(pacer.on_mark_echo("m3"), MarkFate::kUnknown);
  EXPECT_EQ(pacer.on_mark_echo("never"), MarkFate::kUnknown);
  const PacerStats& s = pacer.stats();
  EXPECT_EQ(s.marks_sent, 2u);
  EXPECT_EQ(s.marks_played, 1u);
  EXPECT_EQ(s.marks_discarded, 1u);
  EXPECT_EQ(s.marks_unknown, 3u);
}

TEST(Pacer, SameNameBeforeAndAfterClear) {
  Pacer pacer;
  ASSERT_TRUE(pacer.enqueue(bytes(160), "x", kT0));
  pacer.poll(kT0);
  pacer.interrupt(kT0 + 10ms);
  ASSERT_TRUE(pacer.enqueue(bytes(160), "x", kT0 + 20ms));
  pacer.poll(kT0 + 20ms);
  // Echoes come in sending order: the cleared one first.
  EXPECT_EQ(pacer.on_mark_echo("x"), MarkFate::kDiscarded);
  EXPECT_EQ(pacer.on_mark_echo("x"), MarkFate::kPlayed);
}

TEST(Pacer, FreshRunPromptlyAfterInterrupt) {
  Pacer pacer;
  ASSERT_TRUE(pacer.enqueue(bytes(160 * 500), "long", kT0));  // 10 s
  for (Clock::time_point t = kT0; t <= kT0 + 200ms; t += 20ms) pacer.poll(t);
  EXPECT_FALSE(pacer.idle(kT0 + 200ms));
  const InterruptResult r = pacer.interrupt(kT0 + 200ms);
  EXPECT_EQ(r.played, 200ms);
  EXPECT_EQ(r.dropped_frames, 500u - 16u);
  EXPECT_TRUE(pacer.idle(kT0 + 200ms));  // the sent audio was cleared along with the queue

  // Starts now, not when the cleared audio (sent up to kT0 + 320 ms) would have ended.
  ASSERT_TRUE(pacer.enqueue(bytes(160 * 20), "reply", kT0 + 210ms));
  EXPECT_EQ(pacer.next_due(), kT0 + 210ms - 100ms);
  EXPECT_EQ(count_frames(pacer.poll(kT0 + 210ms)), 6u);
  EXPECT_EQ(pacer.next_due(), kT0 + 230ms);
  EXPECT_EQ(pacer.interrupt(kT0 + 260ms).played, 50ms);  // played counts from the new start
}

TEST(Pacer, EnqueueBeyondBoundIsRefused) {
  Pacer pacer(PacerOptions{.max_queued_frames = 100});
  EXPECT_FALSE(pacer.enqueue(bytes(160 * 100 + 1), "too-long", kT0));
  EXPECT_EQ(pacer.queued_frames(), 0u);
  EXPECT_EQ(pacer.next_due(), Clock::time_point::max());
  ASSERT_TRUE(pacer.enqueue(bytes(160 * 99), "a", kT0));
  EXPECT_FALSE(pacer.enqueue(bytes(161), "b", kT0));  // 2 frames: one too many
  EXPECT_EQ(pacer.queued_frames(), 99u);
  ASSERT_TRUE(pacer.enqueue(bytes(160), "c", kT0));
  EXPECT_EQ(pacer.queued_frames(), 100u);
  EXPECT_TRUE(pacer.enqueue({}, "mark-only", kT0));  // marks take no frame
  EXPECT_EQ(pacer.stats().enqueue_refused, 2u);
  // Sending frames makes room again.
  EXPECT_EQ(count_frames(pacer.poll(kT0)), 6u);
  EXPECT_TRUE(pacer.enqueue(bytes(160 * 6), "d", kT0));
  EXPECT_FALSE(pacer.enqueue(bytes(1), "e", kT0));
  const auto all = pacer.poll(kT0 + 1h);
  EXPECT_EQ(marks_of(all), (std::vector<std::string>{"a", "c", "mark-only", "d"}));
}

TEST(Pacer, DefaultBoundIsSixtySeconds) {
  Pacer pacer;
  EXPECT_TRUE(pacer.enqueue(bytes(160 * 3000), "", kT0));
  EXPECT_FALSE(pacer.enqueue(bytes(1), "", kT0));
}

TEST(Pacer, NextDue) {
  Pacer pacer;
  EXPECT_EQ(pacer.next_due(), Clock::time_point::max());
  ASSERT_TRUE(pacer.enqueue(bytes(160 * 7), "m", kT0));
  EXPECT_EQ(pacer.next_due(), kT0 - 100ms);
  pacer.poll(kT0);  // frames 0-5
  EXPECT_EQ(pacer.next_due(), kT0 + 20ms);
  pacer.poll(kT0 + 20ms);  // frame 6, the last, and its mark
  EXPECT_EQ(pacer.next_due(), Clock::time_point::max());
  EXPECT_EQ(pacer.stats().marks_sent, 1u);
}

TEST(Pacer, IdleFollowsTheClock) {
  Pacer pacer;
  EXPECT_TRUE(pacer.idle(kT0));
  ASSERT_TRUE(pacer.enqueue(bytes(160 * 10), "a", kT0));
  EXPECT_FALSE(pacer.idle(kT0));
  pacer.poll(kT0 + 80ms);
  EXPECT_EQ(pacer.queued_frames(), 0u);
  EXPECT_FALSE(pacer.idle(kT0 + 199ms));  // the last frame still plays
  EXPECT_TRUE(pacer.idle(kT0 + 200ms));
}

TEST(Pacer, LatePollsAreCounted) {
  Pacer pacer;
  ASSERT_TRUE(pacer.enqueue(bytes(160 * 20), "a", kT0));
  pacer.poll(kT0);
  pacer.poll(kT0 + 25ms);  // frame 6 due at +20: 5 ms late is tolerated
  EXPECT_EQ(pacer.stats().late_polls, 0u);
  pacer.poll(kT0 + 70ms);  // frame 7 due at +40: 30 ms late
  EXPECT_EQ(pacer.stats().late_polls, 1u);
  EXPECT_EQ(pacer.stats().max_poll_lateness, 30ms);
  pacer.poll(kT0 + 80ms);
  pacer.poll(kT0 + 95ms);  // nothing due
  EXPECT_EQ(pacer.stats().late_polls, 1u);
  pacer.poll(kT0 + 1s);  // frame 10 due at +100 ms: 900 ms late
  EXPECT_EQ(pacer.stats().late_polls, 2u);
  EXPECT_EQ(pacer.stats().max_poll_lateness, 900ms);
}

TEST(Pacer, OutstandingMarksAreBounded) {
  Pacer pacer;
  const std::size_t n = Pacer::kMaxOutstandingMarks + 6;
  for (std::size_t i = 0; i < n; ++i) ASSERT_TRUE(pacer.enqueue({}, std::to_string(i), kT0));
  EXPECT_EQ(marks_of(pacer.poll(kT0)).size(), n);
  EXPECT_EQ(pacer.stats().marks_forgotten, 6u);
  EXPECT_EQ(pacer.on_mark_echo("0"), MarkFate::kUnknown);
  EXPECT_EQ(pacer.on_mark_echo("6"), MarkFate::kPlayed);
  EXPECT_EQ(pacer.interrupt(kT0).discarded_marks.size(), Pacer::kMaxOutstandingMarks - 1);
}

TEST(Pacer, PollReusesTheOutputVector) {
  Pacer pacer;
  ASSERT_TRUE(pacer.enqueue(bytes(160 * 100), "a", kT0));
  std::vector<PacerItem> items{OutMark{"stale"}};
  pacer.poll(kT0, items);
  EXPECT_EQ(items.size(), 6u);  // replaced, not appended
  const auto* data = items.data();
  pacer.poll(kT0 + 20ms, items);
  EXPECT_EQ(items.size(), 1u);
  EXPECT_EQ(items.data(), data);
}

TEST(Pacer, CustomFrameAndLead) {
  Pacer pacer(PacerOptions{.frame = 10ms, .lead = 0ms});
  ASSERT_TRUE(pacer.enqueue(bytes(160 * 5), "", kT0));
  EXPECT_EQ(count_frames(pacer.poll(kT0)), 1u);
  EXPECT_EQ(pacer.next_due(), kT0 + 10ms);
  EXPECT_EQ(count_frames(pacer.poll(kT0 + 35ms)), 3u);
}

TEST(Pacer, RejectsNonsenseOptions) {
  EXPECT_THROW(Pacer(PacerOptions{.frame = 0ms}), std::invalid_argument);
  EXPECT_THROW(Pacer(PacerOptions{.lead = -1ms}), std::invalid_argument);
  EXPECT_THROW(Pacer(PacerOptions{.max_queued_frames = 0}), std::invalid_argument);
}

}  // namespace
}  // namespace voxgate::audio
