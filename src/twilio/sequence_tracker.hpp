// Per-stream accounting of Media Streams ordering: sequenceNumber, media.chunk, media.timestamp.
//
// Twilio numbers every message after `connected` with `sequenceNumber` (1 on `start`, then +1 per
// message) and every media message with `chunk` (+1 per media message) and `timestamp` (ms from
// the start of the stream) (twilio-protocol.md §1.1, §1.2). A WebSocket over TCP should deliver
// them in order and complete; these counters tell us (and the metrics) when it does not, so that
// audio glitches can be traced to missing or reordered input. Nothing here changes how messages
// are handled: the tracker only counts.
//
// Definitions (sequence numbers; the first number seen is the baseline and counts as neither):
// - gap: a number above the highest seen + 1; `missing` grows by how many were skipped.
// - reordered: a number below the highest seen that was not seen before. It stays counted in
//   `missing` too (a late arrival does not "un-miss" the earlier gap). A number more than
//   kWindow below the highest seen cannot be checked against the window and counts as reordered.
// - duplicate: a number seen before (within the last kWindow numbers below the highest).
// Media:
// - chunk_gaps: a chunk above the highest chunk seen + 1 (one per skip, however long).
// - timestamp_jumps: a timestamp more than kMaxTimestampJumpMs beyond the expected step of
//   kFrameMs after the previous one, or below the previous one.
// Unsigned arithmetic throughout: 0, UINT64_MAX and wraparound are handled (a wrap from
// UINT64_MAX to 0 counts as reordered) without overflow or undefined behaviour.
//
// Contract: bounded memory (a 64-bit window); not thread-safe, one per stream on its strand;
// never fails.
#pragma once

#include <cstdint>

namespace voxgate::twilio {

struct SequenceStats {
  std::uint64_t messages = 0;  // on_sequence() calls
  std::uint64_t gaps = 0;
  std::uint64_t missing = 0;
  std::uint64_t reordered = 0;
  std::uint64_t duplicates = 0;
  std::uint64_t chunk_gaps = 0;
  std::uint64_t timestamp_jumps = 0;
};

class SequenceTracker {
 public:
  // Sequence numbers remembered below the highest one, for duplicate detection.
  static constexpr std::uint64_t kWindow = 64;
  // Expected timestamp step between media messages (20 ms frames, §1.4).
  static constexpr std::uint64_t kFrameMs = 20;
  // Slack beyond the expected step before a timestamp counts as a jump.
  static constexpr std::uint64_t kMaxTimestampJumpMs = 100;

  // A message's sequenceNumber (messages without one are not passed in).
  void on_sequence(std::uint64_t n);
  // A media message's chunk and timestamp.
  void on_media(std::uint64_t chunk, std::uint64_t timestamp_ms);

  const SequenceStats& stats() const { return stats_; }

 private:
  SequenceStats stats_;
  bool have_sequence_ = false;
  std::uint64_t highest_ = 0;
  // Bit i set: number highest_ - i has been seen (bit 0 is highest_ itself).
  std::uint64_t seen_mask_ = 0;
  bool have_media_ = false;
  std::uint64_t highest_chunk_ = 0;
  std::uint64_t last_timestamp_ms_ = 0;
};

}  // namespace voxgate::twilio
