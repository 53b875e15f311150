// What people look at after `voxgate sim`: a summary table for the terminal, the whole run
// as JSON for machines, and a self-contained HTML page (inline SVG, no scripts, nothing
// fetched) with latency histograms and a timeline per call.
#pragma once

#include <string>
#include <vector>

#include "sim/results.hpp"

namespace voxgate::sim {

// A few lines: calls, failures, percentiles of turn latency, time to greeting and barge-in
// reaction, frame timing, and the most common errors.
std::string summary_table(const RunSummary& summary);

// {"summary": {...}, "calls": [{...}, ...]} with every field of results.hpp.
std::string to_json(const RunSummary& summary, const std::vector<CallResult>& calls);

// The HTML report. `title` names the run (e.g. the target URL).
std::string to_html(const RunSummary& summary, const std::vector<CallResult>& calls,
                    const std::string& title);

// The sequence of SVG bars for a histogram of `values_ms` (exposed for tests).
std::string histogram_svg(const std::vector<double>& values_ms, const std::string& label);

}  // namespace voxgate::sim
