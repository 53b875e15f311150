// Many simulated calls at once for `voxgate sim`: N calls, at most C at a time, started at R per
// second, all on one io_context run by a few threads (each call on its own strand).
//
// Contract:
// - run_load blocks until every started call has called back, then returns the results in the
//   order the calls were started. It owns its io_context and threads.
// - `progress` is called about once a second (and once at the end) from one of the run's
//   threads, never concurrently with itself; it must not block for long.
// - Bad options (calls == 0 is fine: nothing runs; concurrency or threads 0 are taken as 1).
#pragma once

#include <chrono>
#include <cstddef>
#include <functional>
#include <vector>

#include "sim/call_runner.hpp"
#include "sim/results.hpp"

namespace voxgate::sim {

struct LoadProgress {
  std::size_t started = 0, done = 0, active = 0, failed = 0;
  double elapsed_s = 0;
  double turn_p50_ms = 0, turn_p95_ms = 0;  // over the turns of the calls done so far
};

struct LoadOptions {
  CallRunnerOptions call;  // every call's options (each gets its own CallSid)
  std::size_t calls = 1;
  std::size_t concurrency = 1;
  double ramp_per_s = 0;  // new calls per second; 0 = as fast as concurrency allows
  std::chrono::milliseconds duration{0};  // stop starting calls after this; 0 = no limit
  unsigned threads = 1;
  std::function<void(const LoadProgress&)> progress;
};

std::vector<CallResult> run_load(const LoadOptions& options);

}  // namespace voxgate::sim
