// Reading a histogram back from Prometheus text, for the load programs that report the
// server's own latency histograms.
#pragma once

#include <cmath>
#include <regex>
#include <string>
#include <utility>
#include <vector>

namespace voxgate::bench {

// The q-quantile of histogram `name` (no labels) in `text`, as the upper bound of the
// bucket that holds it; NaN when the histogram is empty or absent.
inline double histogram_quantile(const std::string& text, const std::string& name, double q) {
  const std::regex bucket(name + R"re(_bucket\{le="([^"]+)"\} ([0-9.e+]+))re");
  std::vector<std::pair<double, double>> buckets;
  for (auto it = std::sregex_iterator(text.begin(), text.end(), bucket);
       it != std::sregex_iterator(); ++it) {
    const std::string le = (*it)[1];
    buckets.emplace_back(le == "+Inf" ? INFINITY : std::stod(le), std::stod((*it)[2]));
  }
  if (buckets.empty() || buckets.back().second == 0) return NAN;
  for (const auto& [upper, count] : buckets) {
    if (count >= q * buckets.back().second) return upper;
  }
  return INFINITY;
}

}  // namespace voxgate::bench
