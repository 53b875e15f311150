// Tests for SequenceTracker: gaps, reordering, duplicates, media chunk gaps and timestamp jumps
// (twilio-protocol.md §1.1), and that extreme values (0, UINT64_MAX, wraparound) are only
// counted, never a crash.
#include "twilio/sequence_tracker.hpp"

#include <gtest/gtest.h>

#include <cstdint>
#include <initializer_list>
#include <random>

namespace voxgate::twilio {
namespace {

SequenceStats feed(std::initializer_list<std::uint64_t> numbers) {
  SequenceTracker t;
  for (std::uint64_t n : numbers) t.on_sequence(n);
  return t.stats();
}

TEST(SequenceTracker, InOrderCountsNothing) {
  SequenceTracker t;
  for (std::uint64_t n = 1; n <= 10000; ++n) t.on_sequence(n);
  const SequenceStats& s = t.stats();
  EXPECT_EQ(s.messages, 10000u);
  EXPECT_EQ(s.gaps, 0u);
  EXPECT_EQ(s.missing, 0u);
  EXPECT_EQ(s.reordered, 0u);
  EXPECT_EQ(s.duplicates, 0u);
}

TEST(SequenceTracker, FirstNumberIsTheBaseline) {
  const SequenceStats s = feed({42, 43, 44});
  EXPECT_EQ(s.gaps, 0u);
  EXPECT_EQ(s.missing, 0u);
}

TEST(SequenceTracker, Gaps) {
  const SequenceStats s = feed({1, 2, 5, 6, 10});
  EXPECT_EQ(s.messages, 5u);
  EXPECT_EQ(s.gaps, 2u);
  EXPECT_EQ(s.missing, 5u);  // 3, 4 and 7, 8, 9
  EXPECT_EQ(s.reordered, 0u);
}

TEST(SequenceTracker, LateArrivalIsReorderedAndStaysMissing) {
  const SequenceStats s = feed({1, 2, 4, 3, 5});
  EXPECT_EQ(s.gaps, 1u);
  EXPECT_EQ(s.missing, 1u);
  EXPECT_EQ(s.reordered, 1u);
  EXPECT_EQ(s.duplicates, 0u);
}

TEST(SequenceTracker, Duplicates) {
  const SequenceStats s = feed({1, 2, 2, 3, 1, 3, 3});
  EXPECT_EQ(s.duplicates, 4u);
  EXPECT_EQ(s.reordered, 0u);
  EXPECT_EQ(s.gaps, 0u);
}

TEST(SequenceTracker, ReorderedThenRepeatedIsADuplicate) {
  const SequenceStats s = feed({1, 3, 2, 2});
  EXPECT_EQ(s.reordered, 1u);
  EXPECT_EQ(s.duplicates, 1u);
}

TEST(SequenceTracker, WindowEdge) {
  SequenceTracker t;
  t.on_sequence(1000);
  t.on_sequence(1000 + SequenceTracker::kWindow - 1);  // 1000 still in the window
  t.on_sequence(1000);
  EXPECT_EQ(t.stats().duplicates, 1u);
  t.on_sequence(1000 + SequenceTracker::kWindow);  // 1000 leaves the window
  t.on_sequence(1000);
  EXPECT_EQ(t.stats().duplicates, 1u);
  EXPECT_EQ(t.stats().reordered, 1u);  // too old to tell
  // A jump longer than the window forgets it entirely; the new highest is remembered.
  t.on_sequence(1000000);
  t.on_sequence(1000000);
  EXPECT_EQ(t.stats().duplicates, 2u);
  t.on_sequence(999999);
  EXPECT_EQ(t.stats().reordered, 2u);
}

TEST(SequenceTracker, ExtremeValues) {
  {
    const SequenceStats s = feed({0, UINT64_MAX});
    EXPECT_EQ(s.gaps, 1u);
    EXPECT_EQ(s.missing, UINT64_MAX - 1);
  }
  {
    // Wraparound: counted as a late (reordered) message, nothing overflows.
    const SequenceStats s = feed({UINT64_MAX - 1, UINT64_MAX, 0, 1, UINT64_MAX});
    EXPECT_EQ(s.reordered, 2u);
    EXPECT_EQ(s.duplicates, 1u);
    EXPECT_EQ(s.gaps, 0u);
  }
  {
    const SequenceStats s = feed({UINT64_MAX, UINT64_MAX, UINT64_MAX - 63, UINT64_MAX - 64});
    EXPECT_EQ(s.duplicates, 1u);
    EXPECT_EQ(s.reordered, 2u);
  }
}

TEST(SequenceTracker, RandomInputNeverBreaksInvariants) {
  std::mt19937_64 rng(7);
  SequenceTracker t;
  const std::uint64_t specials[] = {0, 1, UINT64_MAX, UINT64_MAX - 1, 1ull << 63};
  for (int i = 0; i < 200000; ++i) {
    const std::uint64_t n = (i % 7 == 0) ? specials[rng() % 5] : rng() % 300;
    t.on_sequence(n);
    t.on_media(rng() % 4 == 0 ? rng() : rng() % 300, rng() % 3 == 0 ? rng() : rng() % 9000);
  }
  const SequenceStats& s = t.stats();
  EXPECT_EQ(s.messages, 200000u);
  // Every message but the first is exactly one of: next in order, gap, reordered, duplicate.
  EXPECT_LE(s.gaps + s.reordered + s.duplicates, s.messages - 1);
}

TEST(SequenceTracker, MediaInOrderCountsNothing) {
  SequenceTracker t;
  for (std::uint64_t chunk = 1; chunk <= 3000; ++chunk) t.on_media(chunk, (chunk - 1) * 20);
  EXPECT_EQ(t.stats().chunk_gaps, 0u);
  EXPECT_EQ(t.stats().timestamp_jumps, 0u);
}

TEST(SequenceTracker, ChunkGaps) {
  SequenceTracker t;
  t.on_media(1, 0);
  t.on_media(2, 20);
  t.on_media(5, 80);  // 3 and 4 skipped: one gap
  t.on_media(4, 60);  // late: not a gap
  t.on_media(6, 100);
  t.on_media(6, 100);  // repeated: not a gap
  t.on_media(8, 140);
  EXPECT_EQ(t.stats().chunk_gaps, 2u);
}

TEST(SequenceTracker, TimestampJumps) {
  SequenceTracker t;
  t.on_media(1, 1000);
  t.on_media(2, 1020);
  t.on_media(3, 1140);  // +120 = 20 + 100: still allowed
  EXPECT_EQ(t.stats().timestamp_jumps, 0u);
  t.on_media(4, 1261);  // +121: a jump
  EXPECT_EQ(t.stats().timestamp_jumps, 1u);
  t.on_media(5, 1261);  // no progress is not a jump (irregular spacing, §1.4)
  EXPECT_EQ(t.stats().timestamp_jumps, 1u);
  t.on_media(6, 1260);  // backwards, by however little
  EXPECT_EQ(t.stats().timestamp_jumps, 2u);
  t.on_media(7, 1280);
  EXPECT_EQ(t.stats().timestamp_jumps, 2u);
}

TEST(SequenceTracker, TimestampExtremes) {
  SequenceTracker t;
  t.on_media(UINT64_MAX - 1, UINT64_MAX - 10);
  t.on_media(UINT64_MAX, UINT64_MAX);  // +10
  EXPECT_EQ(t.stats().timestamp_jumps, 0u);
  t.on_media(0, 0);  // wraps: backwards
  EXPECT_EQ(t.stats().timestamp_jumps, 1u);
  t.on_media(1, UINT64_MAX);
  EXPECT_EQ(t.stats().timestamp_jumps, 2u);
  EXPECT_EQ(t.stats().chunk_gaps, 0u);  // UINT64_MAX stayed the highest chunk
}

}  // namespace
}  // namespace voxgate::twilio
