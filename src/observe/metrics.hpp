// Metrics: counters, gauges and histograms, rendered for `GET /metrics` in the Prometheus
// text exposition format 0.0.4.
//
// Hand-written rather than taken from a library: every dependency comes from Debian 12's
// packages, and bookworm packages no Prometheus client for C++ (prometheus-cpp is not in
// it). The part we need is small: three metric types, labels, and a text renderer.
//
// Usage: register families once at start-up, keep the references, and bump children on
// the hot path:
//
//   auto& calls = registry.counter("voxgate_calls_total", "Calls answered.", {"mode"});
//   Counter& streaming = calls.with({"streaming"});   // look up once, keep the reference
//   streaming.inc();                                  // one atomic add, no lock
//
// Thread safety: every operation on every type here may be called from many threads at
// once. `Registry` registration and `Family::with` take a mutex; `inc`, `set`, `observe`
// and `value` on a metric are atomic and take none. A render that runs while other threads
// bump metrics sees each value atomically, not the registry as one snapshot.
//
// Lifetime: a `Registry` owns its families and they own their children; references returned
// by `counter`, `gauge`, `histogram` and `with` stay valid for the registry's life.
//
// Errors: metric sets are fixed by our own code, so mistakes in them are start-up bugs.
// Bad names, bad bucket bounds and conflicting re-registration throw at registration
// (caught in main). A wrong number of label values on `with` asserts in debug builds; in
// release it is counted on a hidden "invalid" child instead of crashing the server.
#pragma once

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <variant>
#include <vector>

namespace voxgate::observe {

// The Content-Type of `Registry::render`'s output.
inline constexpr std::string_view kPrometheusContentType =
    "text/plain; version=0.0.4; charset=utf-8";

// A value that only goes up (requests served, frames dropped).
class Counter {
 public:
  Counter() = default;
  Counter(const Counter&) = delete;
  Counter& operator=(const Counter&) = delete;

  // `by` must be >= 0: a counter never goes down (a decrease reads as a restart to
  // Prometheus' rate()). A negative or NaN `by` asserts in debug and is ignored in release.
  void inc(double by = 1.0);
  double value() const;

 private:
  std::atomic<double> value_{0.0};
};

// A value that goes up and down (calls in progress, queue depth).
class Gauge {
 public:
  Gauge() = default;
  Gauge(const Gauge&) = delete;
  Gauge& operator=(const Gauge&) = delete;

  void set(double value);
  void inc(double by = 1.0);
  void dec(double by = 1.0);
  double value() const;

 private:
  std::atomic<double> value_{0.0};
};

// Counts observations into buckets with fixed upper bounds (inclusive, as Prometheus' `le`),
// plus one implicit +Inf bucket, and keeps their sum. Buckets are stored per bucket and made
// cumulative when read, so `observe` touches one bucket counter and the sum.
class Histogram {
 public:
  // `upper_bounds` must be finite and strictly increasing (checked by `Registry::histogram`;
  // asserted here). A trailing +Inf is allowed and dropped: that bucket always exists.
  explicit Histogram(std::vector<double> upper_bounds);
  Histogram(const Histogram&) = delete;
  Histogram& operator=(const Histogram&) = delete;

  // A NaN observation lands in the +Inf bucket and makes the sum NaN, as in the reference
  // Prometheus clients.
  void observe(double value);

  // Total observations: the +Inf bucket's cumulative count.
  std::uint64_t count() const;
  double sum() const;

  // The finite upper bounds, without the implicit +Inf.
  const std::vector<double>& upper_bounds() const { return upper_bounds_; }
  // Cumulative counts, one per upper bound and then one for +Inf (equal to `count()` when
  // read while no other thread observes).
  std::vector<std::uint64_t> cumulative_counts() const;

 private:
  std::vector<double> upper_bounds_;
  // upper_bounds_.size() + 1 entries; the last is the +Inf bucket.
  std::unique_ptr<std::atomic<std::uint64_t>[]> buckets_;
  std::atomic<double> sum_{0.0};
};

// Default bounds for latencies in seconds, 0.5 ms to 10 s: fine steps around the 20 ms
// frame and the few-hundred-ms budgets of STT, agent and TTS, coarse ones for stalls.
std::vector<double> latency_buckets_s();

// Observes, when destroyed, the seconds elapsed since construction (steady_clock) into a
// histogram. Used on one thread; the histogram must outlive it.
class ScopedTimer {
 public:
  explicit ScopedTimer(Histogram& histogram);
  ~ScopedTimer();
  ScopedTimer(const ScopedTimer&) = delete;
  ScopedTimer& operator=(const ScopedTimer&) = delete;

 private:
  Histogram& histogram_;
  std::chrono::steady_clock::time_point start_;
};

class Registry;

// All metrics of one name and type, one child per combination of label values. Made only by
// `Registry`. Instantiated for Counter, Gauge and Histogram.
template <class Metric>
class Family {
 public:
  Family(const Family&) = delete;
  Family& operator=(const Family&) = delete;

  // The child for these label values, in the order of the family's label names; created on
  // first use. A family without labels has one child, `with({})`, which exists (and renders
  // as 0) from registration on. Takes the family's mutex: look children up once and keep
  // the reference rather than calling `with` per event on a hot path.
  Metric& with(std::initializer_list<std::string_view> label_values);
  Metric& with(const std::vector<std::string>& label_values);

  const std::string& name() const { return name_; }
  const std::string& help() const { return help_; }
  const std::vector<std::string>& label_names() const { return label_names_; }

 private:
  friend class Registry;

  struct Child {
    std::string labels;  // rendered and escaped label pairs: a="x",b="y"
    std::unique_ptr<Metric> metric;
  };

  Family(std::string name, std::string help, std::vector<std::string> label_names,
         std::vector<double> upper_bounds);

  template <class Values>
  Metric& find_or_create(const Values& label_values);
  std::unique_ptr<Metric> make_metric() const;
  // Appends this family's HELP, TYPE and sample lines to `out`.
  void render(std::string& out) const;

  const std::string name_;
  const std::string help_;
  const std::vector<std::string> label_names_;
  const std::vector<double> upper_bounds_;  // histograms only

  mutable std::mutex mutex_;
  std::vector<Child> children_;  // creation order, for rendering
  std::unordered_map<std::string, Metric*> by_key_;
  // Bumped instead of a real child when `with` gets the wrong number of values; never
  // rendered, since its samples would have no meaningful labels.
  std::unique_ptr<Metric> invalid_;
};

// Defined in metrics.cpp, for these three types only.
extern template class Family<Counter>;
extern template class Family<Gauge>;
extern template class Family<Histogram>;

// Owns metric families and renders them. Usually one per process, made in main and handed to
// the modules that record.
class Registry {
 public:
  Registry();
  ~Registry();
  Registry(const Registry&) = delete;
  Registry& operator=(const Registry&) = delete;

  // Register a family, or return the one already registered under `name`.
  //
  // Names must match [a-zA-Z_:][a-zA-Z0-9_:]* and label names [a-zA-Z_][a-zA-Z0-9_]*
  // (Prometheus' rules: no colon, no leading "__", which Prometheus reserves; histograms
  // also reserve "le"), without duplicates; bucket bounds must be finite and strictly
  // increasing. Otherwise: std::invalid_argument.
  //
  // Registering a name again with the same type, label names (and, for histograms, bounds)
  // returns the existing family; its help text stays the first one. A different type, label
  // names or bounds throws std::logic_error: two parts of the code disagree about a metric.
  Family<Counter>& counter(std::string name, std::string help,
                           std::vector<std::string> label_names = {});
  Family<Gauge>& gauge(std::string name, std::string help,
                       std::vector<std::string> label_names = {});
  Family<Histogram>& histogram(std::string name, std::string help,
                               std::vector<std::string> label_names,
                               std::vector<double> upper_bounds);

  // All families in the text exposition format 0.0.4 (serve with kPrometheusContentType):
  // `# HELP` and `# TYPE` lines, then samples; families sorted by name, children in
  // creation order. A labelled family with no children yet renders only HELP and TYPE.
  std::string render() const;

 private:
  using AnyFamily = std::variant<std::unique_ptr<Family<Counter>>, std::unique_ptr<Family<Gauge>>,
                                 std::unique_ptr<Family<Histogram>>>;

  template <class Metric>
  Family<Metric>& add(std::string name, std::string help, std::vector<std::string> label_names,
                      std::vector<double> upper_bounds);

  mutable std::mutex mutex_;
  std::map<std::string, AnyFamily, std::less<>> families_;  // sorted: render order
};

}  // namespace voxgate::observe
