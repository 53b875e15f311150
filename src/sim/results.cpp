// Percentiles and the run summary of results.hpp.
#include "sim/results.hpp"

#include <algorithm>
#include <cmath>
#include <map>

namespace voxgate::sim {

// Linear interpolation between closest ranks (NumPy's default), so small samples give
// sensible values.
Percentiles percentiles(std::vector<double> values) {
  Percentiles out;
  out.count = values.size();
  if (values.empty()) return out;
  std::sort(values.begin(), values.end());
  const auto at = [&](double q) {
    const double rank = q * static_cast<double>(values.size() - 1);
    const auto below = static_cast<std::size_t>(std::floor(rank));
    const std::size_t above = std::min(below + 1, values.size() - 1);
    const double fraction = rank - static_cast<double>(below);
    return values[below] + (values[above] - values[below]) * fraction;
  };
  out.p50 = at(0.50);
  out.p95 = at(0.95);
  out.p99 = at(0.99);
  out.max = values.back();
  return out;
}

RunSummary summarize(const std::vector<CallResult>& calls, double wall_s) {
  RunSummary summary;
  summary.calls = calls.size();
  summary.wall_s = wall_s;
  std::vector<double> latency, greeting, barge_in, answer;
  std::map<std::string, std::size_t> errors;
  for (const CallResult& call : calls) {
    if (call.ok) {
      ++summary.succeeded;
    } else {
      ++summary.failed;
      ++errors[call.error.empty() ? "unknown error" : call.error];
    }
    if (call.time_to_greeting_ms) greeting.push_back(*call.time_to_greeting_ms);
    for (const TurnMeasure& turn : call.turns) {
      if (turn.latency_ms) latency.push_back(*turn.latency_ms);
      if (turn.barge_in_ms) barge_in.push_back(*turn.barge_in_ms);
      if (turn.answer_ms) answer.push_back(*turn.answer_ms);
    }
    summary.underruns += call.frames.underruns;
    if (call.fell_back) ++summary.fallbacks;
    summary.frames += call.frames.frames;
  }
  summary.turn_latency_ms = percentiles(std::move(latency));
  summary.time_to_greeting_ms = percentiles(std::move(greeting));
  summary.barge_in_ms = percentiles(std::move(barge_in));
  summary.answer_ms = percentiles(std::move(answer));
  summary.errors.assign(errors.begin(), errors.end());
  std::stable_sort(summary.errors.begin(), summary.errors.end(),
                   [](const auto& a, const auto& b) { return a.second > b.second; });
  return summary;
}

}  // namespace voxgate::sim
