// Sequence, chunk and timestamp accounting for one media stream (twilio-protocol.md §1.1).
#include "twilio/sequence_tracker.hpp"

namespace voxgate::twilio {

void SequenceTracker::on_sequence(std::uint64_t n) {
  ++stats_.messages;
  if (!have_sequence_) {
    have_sequence_ = true;
    highest_ = n;
    seen_mask_ = 1;
    return;
  }
  if (n > highest_) {
    const std::uint64_t advance = n - highest_;  // >= 1, no overflow
    if (advance > 1) {
      ++stats_.gaps;
      stats_.missing += advance - 1;
    }
    // Shifting a 64-bit value by 64 or more is undefined; the whole window is stale then.
    seen_mask_ = advance >= kWindow ? 1 : (seen_mask_ << advance) | 1;
    highest_ = n;
    return;
  }
  const std::uint64_t behind = highest_ - n;  // 0 when n == highest_
  if (behind >= kWindow) {
    ++stats_.reordered;  // too old to know whether it is a duplicate
    return;
  }
  const std::uint64_t bit = std::uint64_t{1} << behind;
  if ((seen_mask_ & bit) != 0) {
    ++stats_.duplicates;
  } else {
    ++stats_.reordered;
    seen_mask_ |= bit;
  }
}

void SequenceTracker::on_media(std::uint64_t chunk, std::uint64_t timestamp_ms) {
  if (!have_media_) {
    have_media_ = true;
    highest_chunk_ = chunk;
    last_timestamp_ms_ = timestamp_ms;
    return;
  }
  if (chunk > highest_chunk_) {
    if (chunk - highest_chunk_ > 1) ++stats_.chunk_gaps;
    highest_chunk_ = chunk;
  }
  // Compared as a difference so that timestamps near UINT64_MAX cannot overflow.
  if (timestamp_ms < last_timestamp_ms_ ||
      timestamp_ms - last_timestamp_ms_ > kFrameMs + kMaxTimestampJumpMs) {
    ++stats_.timestamp_jumps;
  }
  last_timestamp_ms_ = timestamp_ms;
}

}  // namespace voxgate::twilio
