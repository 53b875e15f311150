// Outbound playback pacing (see pacer.hpp for the schedule and twilio-protocol.md §1.3, §6
// pitfalls 2-6 for why it exists).
#include "audio/pacer.hpp"

#include <algorithm>
#include <stdexcept>
#include <utility>

namespace voxgate::audio {

Pacer::Pacer(PacerOptions options) : options_(options) {
  if (options_.frame <= std::chrono::milliseconds::zero()) {
    throw std::invalid_argument("pacer: frame duration must be positive");
  }
  if (options_.lead < std::chrono::milliseconds::zero()) {
    throw std::invalid_argument("pacer: lead must not be negative");
  }
  if (options_.max_queued_frames == 0) {
    throw std::invalid_argument("pacer: max_queued_frames must be positive");
  }
}

Clock::time_point Pacer::frame_due(std::uint64_t k) const {
  // Multiplied from the run start each time, never summed from the previous frame: no drift.
  return run_start_ + static_cast<Clock::rep>(k) * options_.frame - options_.lead;
}

Clock::time_point Pacer::sent_audio_end() const {
  return in_run_ ? run_start_ + static_cast<Clock::rep>(run_frames_sent_) * options_.frame
                 : audio_end_;
}

bool Pacer::enqueue(std::span<const std::uint8_t> mulaw, std::string mark_name,
                    Clock::time_point now) {
  const std::size_t n_frames = (mulaw.size() + kFrameSamples - 1) / kFrameSamples;
  if (n_frames > options_.max_queued_frames - queued_frames_) {
    ++stats_.enqueue_refused;
    return false;
  }
  if (n_frames == 0 && mark_name.empty()) return true;

  Utterance u;
  u.mulaw.reserve(n_frames * kFrameSamples);
  u.mulaw.assign(mulaw.begin(), mulaw.end());
  u.mulaw.resize(n_frames * kFrameSamples, kUlawSilence);
  u.mark_name = std::move(mark_name);
  u.enqueued_at = now;
  queue_.push_back(std::move(u));
  queued_frames_ += n_frames;

  if (!in_run_) {
    in_run_ = true;
    run_frames_sent_ = 0;
    if (audio_end_ <= now) {
      // Twilio's buffer has run dry (per the clock): a new playout starts now.
      run_start_ = now;
      playout_start_ = now;
    } else {
      // Earlier audio is still playing: continue right behind it, without a gap or overlap.
      run_start_ = audio_end_;
    }
  }
  return true;
}

void Pacer::poll(Clock::time_point now, std::vector<PacerItem>& out) {
  out.clear();
  Clock::duration worst_lateness = Clock::duration::zero();
  const auto note_sent = [&](Clock::time_point due, Clock::time_point enqueued_at) {
    // An item cannot be sent before it exists; lateness counts from whichever came last.
    worst_lateness = std::max(worst_lateness, now - std::max(due, enqueued_at));
  };

  while (!queue_.empty()) {
    Utterance& u = queue_.front();
    if (u.next_frame < u.n_frames()) {
      const Clock::time_point due = frame_due(run_frames_sent_);
      if (due > now) break;
      OutFrame frame;
      const auto first =
          u.mulaw.begin() + static_cast<std::ptrdiff_t>(u.next_frame * kFrameSamples);
      std::copy(first, first + kFrameSamples, frame.mulaw.begin());
      out.emplace_back(frame);
      ++u.next_frame;
      ++run_frames_sent_;
      --queued_frames_;
      ++stats_.frames_sent;
      note_sent(due, u.enqueued_at);
      continue;
    }
    if (!u.mark_name.empty()) {
      // Due right after the utterance's last frame, which has just gone (or went earlier).
      note_sent(frame_due(run_frames_sent_ == 0 ? 0 : run_frames_sent_ - 1), u.enqueued_at);
      if (outstanding_marks_.size() == kMaxOutstandingMarks) {
        outstanding_marks_.pop_front();
        ++stats_.marks_forgotten;
      }
      outstanding_marks_.push_back(SentMark{u.mark_name, false});
      out.emplace_back(OutMark{std::move(u.mark_name)});
      ++stats_.marks_sent;
    }
    queue_.pop_front();
  }

  if (queue_.empty() && in_run_) {
    audio_end_ = sent_audio_end();
    in_run_ = false;
  }
  if (!out.empty() && worst_lateness > kLatePoll) {
    ++stats_.late_polls;
    stats_.max_poll_lateness =
        std::max(stats_.max_poll_lateness,
                 std::chrono::duration_cast<std::chrono::microseconds>(worst_lateness));
  }
}

std::vector<PacerItem> Pacer::poll(Clock::time_point now) {
  std::vector<PacerItem> out;
  poll(now, out);
  return out;
}

Clock::time_point Pacer::next_due() const {
  if (queue_.empty()) return Clock::time_point::max();
  const Utterance& u = queue_.front();
  if (u.next_frame < u.n_frames()) return frame_due(run_frames_sent_);
  return frame_due(run_frames_sent_ == 0 ? 0 : run_frames_sent_ - 1);  // its mark
}

MarkFate Pacer::on_mark_echo(std::string_view name) {
  const auto it = std::find_if(outstanding_marks_.begin(), outstanding_marks_.end(),
                               [name](const SentMark& m) { return m.name == name; });
  if (it == outstanding_marks_.end()) {
    ++stats_.marks_unknown;
    return MarkFate::kUnknown;
  }
  const bool cleared = it->cleared;
  outstanding_marks_.erase(it);
  if (cleared) {
    ++stats_.marks_discarded;
    return MarkFate::kDiscarded;
  }
  ++stats_.marks_played;
  return MarkFate::kPlayed;
}

InterruptResult Pacer::interrupt(Clock::time_point now) {
  InterruptResult result;
  const Clock::time_point sent_end = sent_audio_end();
  if (in_run_ || sent_end > now) {
    const Clock::duration heard = std::min(now, sent_end) - playout_start_;
    result.played = std::max(std::chrono::milliseconds::zero(),
                             std::chrono::duration_cast<std::chrono::milliseconds>(heard));
  }
  // §1.3: a clear makes Twilio echo every pending mark at once; remember that those echoes mean
  // "discarded", not "played" (§6 pitfall 3).
  for (SentMark& m : outstanding_marks_) {
    if (!m.cleared) {
      m.cleared = true;
      result.discarded_marks.push_back(m.name);
    }
  }
  result.dropped_frames = queued_frames_;
  for (Utterance& u : queue_) {
    if (!u.mark_name.empty()) result.dropped_marks.push_back(std::move(u.mark_name));
  }
  queue_.clear();
  queued_frames_ = 0;
  in_run_ = false;
  run_frames_sent_ = 0;
  // Twilio's buffer is empty after the clear, so the next utterance may start at once rather
  // than after the end of the audio we had sent.
  audio_end_ = now;
  ++stats_.clears;
  stats_.frames_dropped += result.dropped_frames;
  return result;
}

bool Pacer::idle(Clock::time_point now) const { return queue_.empty() && audio_end_ <= now; }

}  // namespace voxgate::audio
