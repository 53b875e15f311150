// The playout time line of far_end.hpp; see there for the model and the timing rules.
#include "sim/far_end.hpp"

#include <algorithm>
#include <cstdint>

namespace voxgate::sim {

void FarEnd::on_media(std::size_t n_samples, TimePoint now) {
  ++timing_.frames;
  if (in_utterance_ && now > playout_end_) {
    ++timing_.underruns;
    const double gap_ms = std::chrono::duration<double, std::milli>(now - playout_end_).count();
    timing_.max_gap_ms = std::max(timing_.max_gap_ms, gap_ms);
  }
  if (playout_end_ > now + kBurstLead) ++timing_.bursts;
  const TimePoint start = std::max(now, playout_end_);
  // Exact in nanoseconds for any whole number of 8 kHz samples (125 us each).
  playout_end_ = start + std::chrono::nanoseconds(static_cast<std::int64_t>(n_samples) * 125'000);
  in_utterance_ = true;
}

std::vector<FarEnd::MarkEcho> FarEnd::on_mark(std::string name, TimePoint now) {
  std::vector<MarkEcho> echoes = advance(now);
  in_utterance_ = false;
  if (pending_.empty() && playout_end_ <= now) {
    echoes.push_back({std::move(name), true});
  } else {
    pending_.push_back({std::move(name), std::max(playout_end_, now)});
  }
  return echoes;
}

std::vector<FarEnd::MarkEcho> FarEnd::on_clear(TimePoint now) {
  std::vector<MarkEcho> echoes = advance(now);
  for (auto& mark : pending_) echoes.push_back({std::move(mark.name), false});
  pending_.clear();
  playout_end_ = std::min(playout_end_, now);
  in_utterance_ = false;
  return echoes;
}

std::vector<FarEnd::MarkEcho> FarEnd::advance(TimePoint now) {
  std::vector<MarkEcho> echoes;
  while (!pending_.empty() && pending_.front().due <= now) {
    echoes.push_back({std::move(pending_.front().name), true});
    pending_.pop_front();
  }
  return echoes;
}

void FarEnd::reset(TimePoint now) {
  pending_.clear();
  playout_end_ = std::min(playout_end_, now);
  in_utterance_ = false;
}

std::optional<FarEnd::TimePoint> FarEnd::next_mark_due() const {
  if (pending_.empty()) return std::nullopt;
  return pending_.front().due;
}

}  // namespace voxgate::sim
