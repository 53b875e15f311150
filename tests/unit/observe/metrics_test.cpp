// Tests for the metrics registry: exact text of each metric type, escaping and number forms,
// cumulative buckets, registration rules, and counts under concurrent updates.
#include "observe/metrics.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <limits>
#include <regex>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace voxgate::observe {
namespace {

using ::testing::HasSubstr;

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

// The sample line a gauge holding `value` renders as.
std::string rendered_gauge(double value) {
  Registry registry;
  registry.gauge("g", "h").with({}).set(value);
  return lines_of(registry.render()).at(2);
}

TEST(MetricsTest, CounterWithoutLabels) {
  Registry registry;
  Counter& calls = registry.counter("voxgate_calls_total", "Calls answered.").with({});
  calls.inc();
  calls.inc(2);
  EXPECT_EQ(calls.value(), 3);
  EXPECT_EQ(registry.render(),
            "# HELP voxgate_calls_total Calls answered.\n"
            "# TYPE voxgate_calls_total counter\n"
            "voxgate_calls_total 3\n");
}

TEST(MetricsTest, UnlabelledMetricRendersZeroBeforeFirstEvent) {
  Registry registry;
  registry.counter("dropped_total", "Dropped frames.");
  EXPECT_EQ(registry.render(),
            "# HELP dropped_total Dropped frames.\n"
            "# TYPE dropped_total counter\n"
            "dropped_total 0\n");
}

TEST(MetricsTest, CounterWithLabelsRendersChildrenInCreationOrder) {
  Registry registry;
  auto& family = registry.counter("calls_total", "Calls.", {"mode", "result"});
  family.with({"streaming", "ok"}).inc(5);
  family.with({"recording", "ok"}).inc();
  family.with({"streaming", "ok"}).inc();
  EXPECT_EQ(registry.render(),
            "# HELP calls_total Calls.\n"
            "# TYPE calls_total counter\n"
            "calls_total{mode=\"streaming\",result=\"ok\"} 6\n"
            "calls_total{mode=\"recording\",result=\"ok\"} 1\n");
}

TEST(MetricsTest, LabelledFamilyWithoutChildrenRendersOnlyHelpAndType) {
  Registry registry;
  registry.counter("errors_total", "Errors.", {"code"});
  EXPECT_EQ(registry.render(),
            "# HELP errors_total Errors.\n"
            "# TYPE errors_total counter\n");
}

TEST(MetricsTest, WithReturnsTheSameChildForEqualValues) {
  Registry registry;
  auto& family = registry.counter("c_total", "C.", {"a", "b"});
  Counter& first = family.with({"x", "y"});
  EXPECT_EQ(&first, &family.with(std::vector<std::string>{"x", "y"}));
  // Values that would collide if simply concatenated stay apart.
  EXPECT_NE(&first, &family.with({"xy", ""}));
  EXPECT_NE(&first, &family.with({"", "xy"}));
}

TEST(MetricsTest, GaugeWithoutLabels) {
  Registry registry;
  Gauge& active = registry.gauge("active_calls", "Calls in progress.").with({});
  active.set(4);
  active.inc();
  active.dec(2.5);
  EXPECT_EQ(active.value(), 2.5);
  EXPECT_EQ(registry.render(),
            "# HELP active_calls Calls in progress.\n"
            "# TYPE active_calls gauge\n"
            "active_calls 2.5\n");
}

TEST(MetricsTest, GaugeWithLabels) {
  Registry registry;
  auto& depth = registry.gauge("queue_depth", "Queued jobs.", {"pool"});
  depth.with({"stt"}).set(3);
  depth.with({"tts"}).dec();
  EXPECT_EQ(registry.render(),
            "# HELP queue_depth Queued jobs.\n"
            "# TYPE queue_depth gauge\n"
            "queue_depth{pool=\"stt\"} 3\n"
            "queue_depth{pool=\"tts\"} -1\n");
}

TEST(MetricsTest, HistogramWithoutLabelsRendersCumulativeBuckets) {
  Registry registry;
  Histogram& latency =
      registry.histogram("latency_seconds", "Latency.", {}, {0.25, 0.5, 1}).with({});
  latency.observe(0.125);
  latency.observe(0.25);  // on a bound: counted in that bucket (le is inclusive)
  latency.observe(0.75);
  latency.observe(2);
  EXPECT_EQ(latency.count(), 4u);
  EXPECT_EQ(latency.sum(), 3.125);
  EXPECT_THAT(latency.cumulative_counts(), ::testing::ElementsAre(2, 2, 3, 4));
  EXPECT_EQ(registry.render(),
            "# HELP latency_seconds Latency.\n"
            "# TYPE latency_seconds histogram\n"
            "latency_seconds_bucket{le=\"0.25\"} 2\n"
            "latency_seconds_bucket{le=\"0.5\"} 2\n"
            "latency_seconds_bucket{le=\"1\"} 3\n"
            "latency_seconds_bucket{le=\"+Inf\"} 4\n"
            "latency_seconds_sum 3.125\n"
            "latency_seconds_count 4\n");
}

TEST(MetricsTest, HistogramWithLabelsPutsLeLast) {
  Registry registry;
  auto& family = registry.histogram("stt_seconds", "STT time.", {"backend"}, {0.1, 1});
  family.with({"whisper"}).observe(0.5);
  EXPECT_EQ(registry.render(),
            "# HELP stt_seconds STT time.\n"
            "# TYPE stt_seconds histogram\n"
            "stt_seconds_bucket{backend=\"whisper\",le=\"0.1\"} 0\n"
            "stt_seconds_bucket{backend=\"whisper\",le=\"1\"} 1\n"
            "stt_seconds_bucket{backend=\"whisper\",le=\"+Inf\"} 1\n"
            "stt_seconds_sum{backend=\"whisper\"} 0.5\n"
            "stt_seconds_count{backend=\"whisper\"} 1\n");
}

TEST(MetricsTest, HistogramPutsNanInTheInfBucket) {
  Histogram histogram({1, 2});
  histogram.observe(std::numeric_limits<double>::quiet_NaN());
  EXPECT_THAT(histogram.cumulative_counts(), ::testing::ElementsAre(0, 0, 1));
  EXPECT_TRUE(std::isnan(histogram.sum()));
}

TEST(MetricsTest, HistogramDropsAnExplicitInfBound) {
  Registry registry;
  auto& family = registry.histogram("h", "H.", {}, {1, std::numeric_limits<double>::infinity()});
  EXPECT_EQ(family.with({}).upper_bounds(), std::vector<double>{1});
  // Same buckets, so re-registering without the +Inf is the same family.
  EXPECT_EQ(&family, &registry.histogram("h", "H.", {}, {1}));
}

TEST(MetricsTest, EscapesLabelValuesAndHelp) {
  Registry registry;
  registry.counter("c_total", "Back\\slash \"quoted\"\nnext line", {"v"})
      .with({"a\\b\"c\nd"})
      .inc();
  EXPECT_EQ(registry.render(),
            "# HELP c_total Back\\\\slash \"quoted\"\\nnext line\n"
            "# TYPE c_total counter\n"
            "c_total{v=\"a\\\\b\\\"c\\nd\"} 1\n");
}

TEST(MetricsTest, RendersNumbersPrometheusParses) {
  EXPECT_EQ(rendered_gauge(0), "g 0");
  EXPECT_EQ(rendered_gauge(-0.0), "g 0");
  EXPECT_EQ(rendered_gauge(1500), "g 1500");
  EXPECT_EQ(rendered_gauge(-42), "g -42");
  EXPECT_EQ(rendered_gauge(9007199254740992.0), "g 9007199254740992");
  EXPECT_EQ(rendered_gauge(0.1), "g 0.1");
  EXPECT_EQ(rendered_gauge(1.0 / 3), "g 0.3333333333333333");
  EXPECT_EQ(rendered_gauge(1.5e-7), "g 1.5e-07");
  EXPECT_EQ(rendered_gauge(1e20), "g 1e+20");
  EXPECT_EQ(rendered_gauge(std::numeric_limits<double>::infinity()), "g +Inf");
  EXPECT_EQ(rendered_gauge(-std::numeric_limits<double>::infinity()), "g -Inf");
  EXPECT_EQ(rendered_gauge(std::numeric_limits<double>::quiet_NaN()), "g NaN");
}

TEST(MetricsTest, SortsFamiliesByName) {
  Registry registry;
  registry.counter("b_total", "B.");
  registry.gauge("c", "C.");
  registry.counter("a_total", "A.");
  const std::string text = registry.render();
  const auto a = text.find("# HELP a_total");
  const auto b = text.find("# HELP b_total");
  const auto c = text.find("# HELP c ");
  ASSERT_NE(a, std::string::npos);
  ASSERT_NE(b, std::string::npos);
  ASSERT_NE(c, std::string::npos);
  EXPECT_LT(a, b);
  EXPECT_LT(b, c);
}

TEST(MetricsTest, ReRegisteringTheSameNameAndTypeReturnsTheFamily) {
  Registry registry;
  auto& first = registry.counter("calls_total", "First help.", {"mode"});
  auto& second = registry.counter("calls_total", "Other help.", {"mode"});
  EXPECT_EQ(&first, &second);
  EXPECT_THAT(registry.render(), HasSubstr("# HELP calls_total First help.\n"));

  auto& histogram = registry.histogram("h_seconds", "H.", {}, latency_buckets_s());
  EXPECT_EQ(&histogram, &registry.histogram("h_seconds", "H.", {}, latency_buckets_s()));
}

TEST(MetricsTest, ReRegisteringWithAnotherTypeOrShapeThrows) {
  Registry registry;
  registry.counter("calls_total", "Calls.", {"mode"});
  registry.histogram("h_seconds", "H.", {}, {1, 2});
  EXPECT_THROW(registry.gauge("calls_total", "Calls."), std::logic_error);
  EXPECT_THROW(registry.histogram("calls_total", "Calls.", {"mode"}, {1}), std::logic_error);
  EXPECT_THROW(registry.counter("calls_total", "Calls.", {"other"}), std::logic_error);
  EXPECT_THROW(registry.counter("calls_total", "Calls."), std::logic_error);
  EXPECT_THROW(registry.histogram("h_seconds", "H.", {}, {1, 3}), std::logic_error);
}

TEST(MetricsTest, RejectsInvalidMetricNames) {
  Registry registry;
  for (const char* name : {"", "1abc", "a-b", "a b", "é", "a.b"}) {
    SCOPED_TRACE(name);
    EXPECT_THROW(registry.counter(name, "x"), std::invalid_argument);
    EXPECT_THROW(registry.gauge(name, "x"), std::invalid_argument);
    EXPECT_THROW(registry.histogram(name, "x", {}, {1}), std::invalid_argument);
  }
  for (const char* name : {"a", "_a", ":a", "a:b_c9", "A1"}) {
    SCOPED_TRACE(name);
    EXPECT_NO_THROW(registry.counter(name, "x"));
  }
}

TEST(MetricsTest, RejectsInvalidLabelNames) {
  Registry registry;
  for (const char* label : {"", "1a", "a:b", "a-b", "__reserved"}) {
    SCOPED_TRACE(label);
    EXPECT_THROW(registry.counter("c_total", "x", {label}), std::invalid_argument);
  }
  EXPECT_THROW(registry.counter("c_total", "x", {"a", "a"}), std::invalid_argument);
  EXPECT_THROW(registry.histogram("h", "x", {"le"}, {1}), std::invalid_argument);
  EXPECT_NO_THROW(registry.gauge("g", "x", {"le", "_a", "b2"}));
}

TEST(MetricsTest, RejectsInvalidBucketBounds) {
  Registry registry;
  const double inf = std::numeric_limits<double>::infinity();
  const double nan = std::numeric_limits<double>::quiet_NaN();
  for (const std::vector<double>& bounds :
       std::vector<std::vector<double>>{{1, 0.5}, {1, 1}, {nan}, {-inf, 1}, {inf, inf}}) {
    EXPECT_THROW(registry.histogram("h", "x", {}, bounds), std::invalid_argument);
  }
  // Only the +Inf bucket: allowed, if not very useful.
  EXPECT_NO_THROW(registry.histogram("h", "x", {}, {}));
}

TEST(MetricsTest, LatencyBucketsAreIncreasingSeconds) {
  const std::vector<double> bounds = latency_buckets_s();
  ASSERT_FALSE(bounds.empty());
  EXPECT_EQ(bounds.front(), 0.0005);
  EXPECT_EQ(bounds.back(), 10);
  EXPECT_TRUE(std::is_sorted(bounds.begin(), bounds.end()));
  EXPECT_EQ(std::adjacent_find(bounds.begin(), bounds.end()), bounds.end());
}

TEST(MetricsTest, ScopedTimerObservesElapsedSeconds) {
  Histogram histogram(latency_buckets_s());
  {
    ScopedTimer timer(histogram);
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  EXPECT_EQ(histogram.count(), 1u);
  EXPECT_GE(histogram.sum(), 0.002);
}

TEST(MetricsTest, WrongNumberOfLabelValuesAssertsInDebugAndIsDroppedInRelease) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  Registry registry;
  auto& family = registry.counter("c_total", "C.", {"a"});
#ifdef NDEBUG
  family.with({"x", "y"}).inc();
  family.with({}).inc();
  EXPECT_EQ(registry.render(),
            "# HELP c_total C.\n"
            "# TYPE c_total counter\n");
#else
  EXPECT_DEATH(family.with({"x", "y"}), "one label value per label name");
#endif
}

TEST(MetricsTest, NegativeCounterIncrementAssertsInDebugAndIsIgnoredInRelease) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  Counter counter;
  counter.inc(2);
#ifdef NDEBUG
  counter.inc(-1);
  counter.inc(std::numeric_limits<double>::quiet_NaN());
  EXPECT_EQ(counter.value(), 2);
#else
  EXPECT_DEATH(counter.inc(-1), "only goes up");
#endif
}

TEST(MetricsTest, ConcurrentUpdatesGiveExactTotals) {
  constexpr int kThreads = 4;
  constexpr int kPerThread = 50000;
  Registry registry;
  auto& counters = registry.counter("c_total", "C.", {"k"});
  auto& gauge = registry.gauge("g", "G.").with({});
  auto& histogram = registry.histogram("h", "H.", {"k"}, {0.5});

  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) {
        // Everyone races to create the same child, and each thread also has its own.
        counters.with({"shared"}).inc();
        counters.with({"thread" + std::to_string(t)}).inc();
        gauge.inc();
        gauge.dec(0.5);
        histogram.with({"shared"}).observe(i % 2 == 0 ? 0.25 : 1);
        if (i % 5000 == 0) registry.render();  // rendering alongside updates is safe
      }
    });
  }
  for (std::thread& thread : threads) thread.join();

  EXPECT_EQ(counters.with({"shared"}).value(), kThreads * kPerThread);
  for (int t = 0; t < kThreads; ++t) {
    EXPECT_EQ(counters.with({"thread" + std::to_string(t)}).value(), kPerThread);
  }
  EXPECT_EQ(gauge.value(), kThreads * kPerThread * 0.5);
  Histogram& shared = histogram.with({"shared"});
  EXPECT_EQ(shared.count(), std::uint64_t{kThreads} * kPerThread);
  EXPECT_THAT(shared.cumulative_counts(),
              ::testing::ElementsAre(kThreads * kPerThread / 2, kThreads * kPerThread));
  EXPECT_EQ(shared.sum(), kThreads * (kPerThread / 2) * 1.25);
}

// Checks every line of a render against the text format 0.0.4 grammar, as a scraper would.
TEST(MetricsTest, EveryRenderedLineFollowsTheExpositionGrammar) {
  Registry registry;
  registry.counter("voxgate_requests_total", "Requests by route.\nSecond line.", {"route", "code"})
      .with({"/phone/incoming-call", "200"})
      .inc(7);
  registry.counter("voxgate_requests_total", "", {"route", "code"})
      .with({"weird \"route\"\\\n", "500"})
      .inc();
  registry.gauge("voxgate:active_calls", "Calls.").with({}).set(-3.25);
  registry.gauge("voxgate_special", "Special values.", {"kind"})
      .with({"nan"})
      .set(std::numeric_limits<double>::quiet_NaN());
  registry.gauge("voxgate_special", "", {"kind"})
      .with({"inf"})
      .set(std::numeric_limits<double>::infinity());
  registry.gauge("voxgate_special", "", {"kind"}).with({"tiny"}).set(1.25e-9);
  auto& latency =
      registry.histogram("voxgate_latency_seconds", "Latency.", {"stage"}, latency_buckets_s());
  for (double value : {0.0001, 0.003, 0.2, 0.7, 42.0}) latency.with({"stt"}).observe(value);
  latency.with({"tts"});

  const std::string name = R"([a-zA-Z_:][a-zA-Z0-9_:]*)";
  const std::string label = R"([a-zA-Z_][a-zA-Z0-9_]*="(?:\\[\\"n]|[^"\\\n])*")";
  const std::string value = R"((?:[+-]?Inf|NaN|-?[0-9]+(?:\.[0-9]+)?(?:e[+-][0-9]+)?))";
  const std::regex help_line("# HELP (" + name + R"() (?:\\[\\n]|[^\\\n])*)");
  const std::regex type_line("# TYPE (" + name + ") (counter|gauge|histogram)");
  const std::regex sample_line("(" + name + ")(?:\\{(?:" + label + "(?:," + label + ")*)?\\})? " +
                               value);

  const std::string text = registry.render();
  ASSERT_FALSE(text.empty());
  EXPECT_EQ(text.back(), '\n');

  std::string family;
  std::string type;
  int samples = 0;
  for (const std::string& line : lines_of(text)) {
    SCOPED_TRACE(line);
    std::smatch match;
    if (std::regex_match(line, match, help_line)) {
      family = match[1];
      type.clear();
    } else if (std::regex_match(line, match, type_line)) {
      EXPECT_EQ(match[1], family) << "TYPE right after its HELP";
      type = match[2];
    } else if (std::regex_match(line, match, sample_line)) {
      ++samples;
      ASSERT_FALSE(type.empty()) << "sample before its TYPE";
      const std::string sample = match[1];
      if (type == "histogram") {
        EXPECT_TRUE(sample == family + "_bucket" || sample == family + "_sum" ||
                    sample == family + "_count");
        if (sample == family + "_bucket") {
          EXPECT_THAT(line, HasSubstr("le=\""));
        }
      } else {
        EXPECT_EQ(sample, family);
      }
    } else {
      ADD_FAILURE() << "line matches no production of the exposition grammar";
    }
  }
  // 2 requests + 1 active + 3 special + 2 histogram children * (15 buckets + sum + count).
  EXPECT_EQ(samples, 2 + 1 + 3 + 2 * (15 + 2));
}

}  // namespace
}  // namespace voxgate::observe
