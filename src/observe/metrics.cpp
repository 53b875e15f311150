// Metrics registry and the Prometheus text exposition format 0.0.4.
//
// Format reference: https://prometheus.io/docs/instrumenting/exposition_formats/
// (text format, version 0.0.4), whose rules this file follows where noted.
#include "observe/metrics.hpp"

#include <algorithm>
#include <cassert>
#include <charconv>
#include <cmath>
#include <limits>
#include <stdexcept>
#include <system_error>
#include <type_traits>
#include <utility>

namespace voxgate::observe {
namespace {

// Counters and gauges are bumped from many threads; readers only need each value to be
// atomic, not ordered with anything else, so relaxed ordering is enough.
constexpr auto kRelaxed = std::memory_order_relaxed;

// Every integer of magnitude up to 2^53 is exact in a double. Such values print as plain
// digits ("1500", not "1.5e+03", which std::to_chars' shortest form would give): easier to
// read, and what the reference clients write.
constexpr double kMaxExactInteger = 9007199254740992.0;

// Sample values and `le` labels, in the forms Prometheus' parser (Go's strconv.ParseFloat)
// accepts: +Inf, -Inf, NaN; integers as digits; anything else as the shortest decimal that
// round-trips to the same double.
void append_number(std::string& out, double value) {
  if (std::isnan(value)) {
    out += "NaN";
    return;
  }
  if (std::isinf(value)) {
    out += value > 0 ? "+Inf" : "-Inf";
    return;
  }
  char buffer[32];  // the longest shortest-form double, "-2.2250738585072014e-308", is 24
  std::to_chars_result result;
  if (value == std::trunc(value) && std::fabs(value) <= kMaxExactInteger) {
    result = std::to_chars(buffer, buffer + sizeof buffer, static_cast<std::int64_t>(value));
  } else {
    result = std::to_chars(buffer, buffer + sizeof buffer, value);
  }
  assert(result.ec == std::errc());
  out.append(buffer, result.ptr);
}

// Label values escape backslash, double quote and line feed; HELP text only backslash and
// line feed (format 0.0.4, "Comments, help text, and type information" and "Line format").
void append_escaped(std::string& out, std::string_view text, bool escape_quote) {
  for (char c : text) {
    switch (c) {
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '"':
        out += escape_quote ? "\\\"" : "\"";
        break;
      default:
        out += c;
    }
  }
}

bool is_letter_or_underscore(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}

bool is_digit(char c) { return c >= '0' && c <= '9'; }

// Metric names: [a-zA-Z_:][a-zA-Z0-9_:]*.
bool is_valid_metric_name(std::string_view name) {
  if (name.empty()) return false;
  for (std::size_t i = 0; i < name.size(); ++i) {
    const char c = name[i];
    if (!(is_letter_or_underscore(c) || c == ':' || (i > 0 && is_digit(c)))) return false;
  }
  return true;
}

// Label names: [a-zA-Z_][a-zA-Z0-9_]*. Colons are for metric names only (recording rules).
bool is_valid_label_name(std::string_view name) {
  if (name.empty()) return false;
  for (std::size_t i = 0; i < name.size(); ++i) {
    const char c = name[i];
    if (!(is_letter_or_underscore(c) || (i > 0 && is_digit(c)))) return false;
  }
  return true;
}

void check_names(const std::string& name, const std::vector<std::string>& label_names,
                 bool is_histogram) {
  if (!is_valid_metric_name(name)) {
    throw std::invalid_argument("invalid metric name \"" + name +
                                "\": must match [a-zA-Z_:][a-zA-Z0-9_:]*");
  }
  for (std::size_t i = 0; i < label_names.size(); ++i) {
    const std::string& label = label_names[i];
    if (!is_valid_label_name(label)) {
      throw std::invalid_argument("metric " + name + ": invalid label name \"" + label +
                                  "\": must match [a-zA-Z_][a-zA-Z0-9_]*");
    }
    // Prometheus keeps "__"-prefixed labels for itself and drops them from scrapes.
    if (label.starts_with("__")) {
      throw std::invalid_argument("metric " + name + ": label name \"" + label +
                                  "\" starts with \"__\", which Prometheus reserves");
    }
    // Histograms add "le" to every bucket sample; a user label by that name would clash.
    if (is_histogram && label == "le") {
      throw std::invalid_argument("histogram " + name + ": label name \"le\" is reserved");
    }
    if (std::find(label_names.begin(), label_names.begin() + i, label) != label_names.begin() + i) {
      throw std::invalid_argument("metric " + name + ": label name \"" + label +
                                  "\" appears twice");
    }
  }
}

// The +Inf bucket always exists, so a caller that lists it explicitly gets the same buckets.
std::vector<double> without_trailing_inf(std::vector<double> upper_bounds) {
  if (!upper_bounds.empty() && upper_bounds.back() == std::numeric_limits<double>::infinity()) {
    upper_bounds.pop_back();
  }
  return upper_bounds;
}

bool are_valid_bounds(const std::vector<double>& upper_bounds) {
  for (std::size_t i = 0; i < upper_bounds.size(); ++i) {
    if (!std::isfinite(upper_bounds[i])) return false;
    if (i > 0 && !(upper_bounds[i - 1] < upper_bounds[i])) return false;
  }
  return true;
}

template <class Metric>
constexpr std::string_view type_name() {
  if constexpr (std::is_same_v<Metric, Counter>) {
    return "counter";
  } else if constexpr (std::is_same_v<Metric, Gauge>) {
    return "gauge";
  } else {
    static_assert(std::is_same_v<Metric, Histogram>);
    return "histogram";
  }
}

template <class Metric>
constexpr std::string_view type_name_of(const Family<Metric>&) {
  return type_name<Metric>();
}

// One sample line: name{labels} value, with `extra_label` (already rendered) appended to the
// child's labels; no braces when there are no labels at all.
void append_sample(std::string& out, std::string_view name, std::string_view suffix,
                   std::string_view labels, std::string_view extra_label, double value) {
  out += name;
  out += suffix;
  if (!labels.empty() || !extra_label.empty()) {
    out += '{';
    out += labels;
    if (!labels.empty() && !extra_label.empty()) out += ',';
    out += extra_label;
    out += '}';
  }
  out += ' ';
  append_number(out, value);
  out += '\n';
}

void append_samples(std::string& out, std::string_view name, std::string_view labels,
                    const Counter& counter) {
  append_sample(out, name, "", labels, "", counter.value());
}

void append_samples(std::string& out, std::string_view name, std::string_view labels,
                    const Gauge& gauge) {
  append_sample(out, name, "", labels, "", gauge.value());
}

void append_samples(std::string& out, std::string_view name, std::string_view labels,
                    const Histogram& histogram) {
  // One read of the buckets serves both the bucket lines and _count, so the +Inf bucket and
  // _count agree even while other threads observe (Prometheus expects them equal).
  const std::vector<std::uint64_t> cumulative = histogram.cumulative_counts();
  const std::vector<double>& bounds = histogram.upper_bounds();
  std::string le;
  for (std::size_t i = 0; i < cumulative.size(); ++i) {
    le = "le=\"";
    if (i < bounds.size()) {
      append_number(le, bounds[i]);
    } else {
      le += "+Inf";
    }
    le += '"';
    append_sample(out, name, "_bucket", labels, le, static_cast<double>(cumulative[i]));
  }
  append_sample(out, name, "_sum", labels, "", histogram.sum());
  append_sample(out, name, "_count", labels, "", static_cast<double>(cumulative.back()));
}

}  // namespace

// --- Counter, Gauge -------------------------------------------------------------------------

void Counter::inc(double by) {
  assert(by >= 0 && "a counter only goes up; use a Gauge");
  if (!(by >= 0)) return;
  value_.fetch_add(by, kRelaxed);
}

double Counter::value() const { return value_.load(kRelaxed); }

void Gauge::set(double value) { value_.store(value, kRelaxed); }
void Gauge::inc(double by) { value_.fetch_add(by, kRelaxed); }
void Gauge::dec(double by) { value_.fetch_sub(by, kRelaxed); }
double Gauge::value() const { return value_.load(kRelaxed); }

// --- Histogram ------------------------------------------------------------------------------

Histogram::Histogram(std::vector<double> upper_bounds)
    : upper_bounds_(without_trailing_inf(std::move(upper_bounds))),
      buckets_(std::make_unique<std::atomic<std::uint64_t>[]>(upper_bounds_.size() + 1)) {
  assert(are_valid_bounds(upper_bounds_) && "bounds must be finite and strictly increasing");
}

void Histogram::observe(double value) {
  // The first bound >= value is the bucket whose `le` covers it; past the last bound (and for
  // NaN, which compares false with everything) it is the +Inf bucket.
  const std::size_t index =
      std::isnan(value) ? upper_bounds_.size()
                        : static_cast<std::size_t>(
                              std::lower_bound(upper_bounds_.begin(), upper_bounds_.end(), value) -
                              upper_bounds_.begin());
  buckets_[index].fetch_add(1, kRelaxed);
  sum_.fetch_add(value, kRelaxed);
}

std::uint64_t Histogram::count() const { return cumulative_counts().back(); }

double Histogram::sum() const { return sum_.load(kRelaxed); }

std::vector<std::uint64_t> Histogram::cumulative_counts() const {
  std::vector<std::uint64_t> counts(upper_bounds_.size() + 1);
  std::uint64_t running = 0;
  for (std::size_t i = 0; i < counts.size(); ++i) {
    running += buckets_[i].load(kRelaxed);
    counts[i] = running;
  }
  return counts;
}

std::vector<double> latency_buckets_s() {
  return {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};
}

ScopedTimer::ScopedTimer(Histogram& histogram)
    : histogram_(histogram), start_(std::chrono::steady_clock::now()) {}

ScopedTimer::~ScopedTimer() {
  histogram_.observe(
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count());
}

// --- Family ---------------------------------------------------------------------------------

template <class Metric>
Family<Metric>::Family(std::string name, std::string help, std::vector<std::string> label_names,
                       std::vector<double> upper_bounds)
    : name_(std::move(name)),
      help_(std::move(help)),
      label_names_(std::move(label_names)),
      upper_bounds_(std::move(upper_bounds)),
      invalid_(make_metric()) {
  // An unlabelled metric exists from the start, so it is scraped as 0 before its first event
  // and rate() sees the first increase.
  if (label_names_.empty()) find_or_create(std::vector<std::string>{});
}

template <class Metric>
Metric& Family<Metric>::with(std::initializer_list<std::string_view> label_values) {
  return find_or_create(label_values);
}

template <class Metric>
Metric& Family<Metric>::with(const std::vector<std::string>& label_values) {
  return find_or_create(label_values);
}

template <class Metric>
template <class Values>
Metric& Family<Metric>::find_or_create(const Values& label_values) {
  assert(label_values.size() == label_names_.size() &&
         "Family::with: one label value per label name");
  if (label_values.size() != label_names_.size()) return *invalid_;

  // Length-prefixed, so no choice of values (which may hold any byte) makes two lists collide.
  std::string key;
  for (std::string_view value : label_values) {
    key += std::to_string(value.size());
    key += ':';
    key += value;
  }

  std::lock_guard lock(mutex_);
  if (auto it = by_key_.find(key); it != by_key_.end()) return *it->second;

  std::string labels;
  std::size_t i = 0;
  for (std::string_view value : label_values) {
    if (i > 0) labels += ',';
    labels += label_names_[i++];
    labels += "=\"";
    append_escaped(labels, value, /*escape_quote=*/true);
    labels += '"';
  }
  children_.push_back(Child{std::move(labels), make_metric()});
  Metric& metric = *children_.back().metric;
  by_key_.emplace(std::move(key), &metric);
  return metric;
}

template <class Metric>
std::unique_ptr<Metric> Family<Metric>::make_metric() const {
  if constexpr (std::is_same_v<Metric, Histogram>) {
    return std::make_unique<Histogram>(upper_bounds_);
  } else {
    return std::make_unique<Metric>();
  }
}

template <class Metric>
void Family<Metric>::render(std::string& out) const {
  out += "# HELP ";
  out += name_;
  out += ' ';
  append_escaped(out, help_, /*escape_quote=*/false);
  out += "\n# TYPE ";
  out += name_;
  out += ' ';
  out += type_name<Metric>();
  out += '\n';
  std::lock_guard lock(mutex_);
  for (const Child& child : children_) append_samples(out, name_, child.labels, *child.metric);
}

template class Family<Counter>;
template class Family<Gauge>;
template class Family<Histogram>;

// --- Registry -------------------------------------------------------------------------------

Registry::Registry() = default;
Registry::~Registry() = default;

Family<Counter>& Registry::counter(std::string name, std::string help,
                                   std::vector<std::string> label_names) {
  return add<Counter>(std::move(name), std::move(help), std::move(label_names), {});
}

Family<Gauge>& Registry::gauge(std::string name, std::string help,
                               std::vector<std::string> label_names) {
  return add<Gauge>(std::move(name), std::move(help), std::move(label_names), {});
}

Family<Histogram>& Registry::histogram(std::string name, std::string help,
                                       std::vector<std::string> label_names,
                                       std::vector<double> upper_bounds) {
  return add<Histogram>(std::move(name), std::move(help), std::move(label_names),
                        std::move(upper_bounds));
}

template <class Metric>
Family<Metric>& Registry::add(std::string name, std::string help,
                              std::vector<std::string> label_names,
                              std::vector<double> upper_bounds) {
  constexpr bool kIsHistogram = std::is_same_v<Metric, Histogram>;
  check_names(name, label_names, kIsHistogram);
  if constexpr (kIsHistogram) {
    upper_bounds = without_trailing_inf(std::move(upper_bounds));
    if (!are_valid_bounds(upper_bounds)) {
      throw std::invalid_argument("histogram " + name +
                                  ": bucket bounds must be finite and strictly increasing");
    }
  }

  std::lock_guard lock(mutex_);
  if (auto it = families_.find(name); it != families_.end()) {
    auto* existing = std::get_if<std::unique_ptr<Family<Metric>>>(&it->second);
    if (existing == nullptr) {
      const std::string_view existing_type =
          std::visit([](const auto& family) { return type_name_of(*family); }, it->second);
      throw std::logic_error("metric " + name + " registered as a " +
                             std::string(type_name<Metric>()) + " but is already a " +
                             std::string(existing_type));
    }
    Family<Metric>& family = **existing;
    if (family.label_names_ != label_names || family.upper_bounds_ != upper_bounds) {
      throw std::logic_error("metric " + name +
                             " registered twice with different label names or buckets");
    }
    return family;
  }

  // Family's constructor is private to keep families owned by a registry; hence no make_unique.
  std::unique_ptr<Family<Metric>> family(
      new Family<Metric>(name, std::move(help), std::move(label_names), std::move(upper_bounds)));
  Family<Metric>& result = *family;
  families_.emplace(std::move(name), std::move(family));
  return result;
}

std::string Registry::render() const {
  std::string out;
  std::lock_guard lock(mutex_);
  for (const auto& [name, family] : families_) {
    std::visit([&out](const auto& f) { f->render(out); }, family);
  }
  return out;
}

}  // namespace voxgate::observe
