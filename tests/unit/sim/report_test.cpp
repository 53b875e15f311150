// Tests for the sim's reports (sim/report.hpp): the JSON holds every measured field, and
// the HTML page is self-contained (no scripts, nothing fetched) with its histograms.
#include "sim/report.hpp"

#include <boost/json/parse.hpp>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace voxgate::sim {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

std::vector<CallResult> two_calls() {
  CallResult ok;
  ok.call_sid = "CA1";
  ok.ok = true;
  ok.close_code = 1000;
  ok.time_to_greeting_ms = 420;
  ok.turns = {{.index = 0, .speech_end_ms = 3000, .latency_ms = 610, .barge_in_ms = 240}};
  ok.frames = {.frames = 300, .underruns = 1, .max_gap_ms = 20, .bursts = 0};
  ok.duration_ms = 9000;
  ok.events = {{0, "webhook", ""}, {1000, "speech_start", ""}, {3000, "speech_end", ""},
               {3610, "reply_start", ""}, {5000, "reply_end", ""}, {5100, "mark_played", "t1-0"}};
  CallResult failed;
  failed.call_sid = "CA2";
  failed.error = "upgrade refused: HTTP 403 <forbidden>";
  failed.duration_ms = 50;
  return {ok, failed};
}

TEST(SimReport, JsonHoldsEveryField) {
  const auto calls = two_calls();
  const auto json = boost::json::parse(to_json(summarize(calls, 10.0), calls));
  const auto& summary = json.at("summary");
  EXPECT_EQ(summary.at("calls").to_number<int>(), 2);
  EXPECT_EQ(summary.at("failed").to_number<int>(), 1);
  EXPECT_EQ(summary.at("turn_latency_ms").at("p50").to_number<double>(), 610);
  const auto& first = json.at("calls").as_array()[0];
  EXPECT_EQ(first.at("call_sid"), "CA1");
  EXPECT_EQ(first.at("turns").as_array()[0].at("barge_in_ms").to_number<double>(), 240);
  EXPECT_EQ(first.at("frames").at("underruns").to_number<int>(), 1);
  EXPECT_EQ(first.at("events").as_array().size(), 6u);
  EXPECT_TRUE(json.at("calls").as_array()[1].at("close_code").is_null());
}

TEST(SimReport, HtmlIsSelfContainedAndEscaped) {
  const auto calls = two_calls();
  const std::string html = to_html(summarize(calls, 10.0), calls, "http://127.0.0.1:5001");
  EXPECT_THAT(html, HasSubstr("<!DOCTYPE html>"));
  EXPECT_THAT(html, HasSubstr("<svg"));
  EXPECT_THAT(html, Not(HasSubstr("<script")));
  EXPECT_THAT(html, Not(HasSubstr("src=\"http")));
  EXPECT_THAT(html, HasSubstr("HTTP 403 &lt;forbidden&gt;"));
  EXPECT_THAT(html, Not(HasSubstr("<forbidden>")));
}

TEST(SimReport, HistogramHasABarPerBin) {
  const std::string svg = histogram_svg({10, 20, 30, 400}, "x");
  std::size_t bars = 0;
  for (std::size_t at = svg.find("class=\"bar\""); at != std::string::npos;
       at = svg.find("class=\"bar\"", at + 1)) {
    ++bars;
  }
  EXPECT_EQ(bars, 30u);
  EXPECT_THAT(histogram_svg({}, "x"), HasSubstr("no samples"));
}

}  // namespace
}  // namespace voxgate::sim
