// The load scheduler: one strand owns the counters and starts calls; each finished call posts
// its result back to it. A ramp timer spaces the starts, a progress timer reports each second.
#include "sim/load.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>

#include <algorithm>
#include <thread>

namespace voxgate::sim {
namespace {

namespace net = boost::asio;
using Clock = std::chrono::steady_clock;

class LoadRun {
 public:
  explicit LoadRun(const LoadOptions& options)
      : options_(options),
        call_(std::make_shared<const CallRunnerOptions>(options.call)),
        strand_(net::make_strand(io_)),
        ramp_(strand_),
        progress_timer_(strand_),
        results_(options.calls),
        concurrency_(std::max<std::size_t>(1, options.concurrency)) {}

  std::vector<CallResult> run() {
    start_ = Clock::now();
    if (options_.calls == 0) return {};
    net::post(strand_, [this] {
      schedule_progress();
      launch();
    });
    const unsigned threads = std::max(1u, options_.threads);
    std::vector<std::thread> workers;
    for (unsigned i = 1; i < threads; ++i) workers.emplace_back([this] { io_.run(); });
    io_.run();
    for (auto& worker : workers) worker.join();
    results_.resize(started_);
    return std::move(results_);
  }

 private:
  bool may_start_more(Clock::time_point now) const {
    if (started_ >= options_.calls) return false;
    return options_.duration.count() == 0 || now - start_ < options_.duration;
  }

  // Starts what concurrency and the ramp allow now; sets the ramp timer for the next start.
  void launch() {
    const auto now = Clock::now();
    while (active_ < concurrency_ && may_start_more(now)) {
      if (options_.ramp_per_s > 0) {
        const auto due = start_ + std::chrono::duration_cast<Clock::duration>(
                                      std::chrono::duration<double>(
                                          static_cast<double>(started_) / options_.ramp_per_s));
        if (due > now) {
          if (!ramp_waiting_) {
            ramp_waiting_ = true;
            ramp_.expires_at(due);
            ramp_.async_wait([this](boost::system::error_code ec) {
              ramp_waiting_ = false;
              if (!ec) launch();
            });
          }
          return;
        }
      }
      const std::size_t index = started_++;
      ++active_;
      run_call(io_, call_, [this, index](CallResult result) {
        net::post(strand_, [this, index, result = std::move(result)]() mutable {
          on_done(index, std::move(result));
        });
      });
    }
    if (active_ == 0 && !may_start_more(now)) finish();
  }

  void on_done(std::size_t index, CallResult result) {
    --active_;
    ++done_;
    if (!result.ok) ++failed_;
    for (const auto& turn : result.turns) {
      if (turn.latency_ms) latencies_.push_back(*turn.latency_ms);
    }
    results_[index] = std::move(result);
    launch();
  }

  void finish() {
    if (finished_) return;
    finished_ = true;
    ramp_.cancel();
    progress_timer_.cancel();
    report();
  }

  void schedule_progress() {
    progress_timer_.expires_after(std::chrono::seconds(1));
    progress_timer_.async_wait([this](boost::system::error_code ec) {
      if (ec || finished_) return;
      report();
      schedule_progress();
    });
  }

  void report() {
    if (!options_.progress) return;
    LoadProgress progress;
    progress.started = started_;
    progress.done = done_;
    progress.active = active_;
    progress.failed = failed_;
    progress.elapsed_s = std::chrono::duration<double>(Clock::now() - start_).count();
    const Percentiles turns = percentiles(latencies_);
    progress.turn_p50_ms = turns.p50;
    progress.turn_p95_ms = turns.p95;
    options_.progress(progress);
  }

  const LoadOptions& options_;
  const std::shared_ptr<const CallRunnerOptions> call_;  // one copy of the script for all calls
  net::io_context io_;
  net::strand<net::io_context::executor_type> strand_;
  net::steady_timer ramp_, progress_timer_;
  std::vector<CallResult> results_;
  std::vector<double> latencies_;
  std::size_t concurrency_;
  std::size_t started_ = 0, active_ = 0, done_ = 0, failed_ = 0;
  bool ramp_waiting_ = false, finished_ = false;
  Clock::time_point start_;
};

}  // namespace

std::vector<CallResult> run_load(const LoadOptions& options) { return LoadRun(options).run(); }

}  // namespace voxgate::sim
