// The sim's HTML report in a real browser: headless Chromium (Debian's `chromium`) loads
// the page from disk, renders it (its DOM keeps the inline SVG charts) and takes a
// screenshot, which the test leaves beside the report for a person to look at.
#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>

#include "test_util.hpp"
#include "sim/report.hpp"

namespace voxgate::sim {
namespace {

using voxgate::testing::run_shell;

std::vector<CallResult> calls() {
  std::vector<CallResult> out;
  for (int i = 0; i < 12; ++i) {
    CallResult call;
    call.call_sid = "CA" + std::to_string(1000 + i);
    call.ok = i != 7;
    call.error = call.ok ? "" : "no reply within 15000 ms";
    call.time_to_greeting_ms = 150 + 10 * i;
    call.turns = {{.index = 0, .speech_end_ms = 3000, .latency_ms = 550 + 13.0 * i},
                  {.index = 1, .speech_end_ms = 7000, .latency_ms = 600 + 7.0 * i,
                   .barge_in_ms = 180 + 5.0 * i}};
    call.duration_ms = 12000;
    call.events = {{0, "webhook", ""},         {200, "reply_start", ""},
                   {2000, "reply_end", ""},    {2100, "speech_start", ""},
                   {3000, "speech_end", ""},   {3550, "reply_start", ""},
                   {5200, "speech_start", ""}, {5400, "clear", ""},
                   {6000, "speech_end", ""},   {9000, "dtmf", "3"}};
    out.push_back(call);
  }
  return out;
}

TEST(SimReportInBrowser, RendersAndScreenshots) {
  const auto results = calls();
  const std::filesystem::path dir = std::filesystem::temp_directory_path() / "voxgate-sim-report";
  std::filesystem::create_directories(dir);
  const std::filesystem::path html = dir / "report.html";
  const std::filesystem::path png = dir / "report.png";
  std::filesystem::remove(png);
  std::ofstream(html) << to_html(summarize(results, 30.0), results, "http://127.0.0.1:5001");

  const std::string browser =
      "chromium --headless --no-sandbox --disable-gpu --hide-scrollbars --no-first-run "
      "--user-data-dir=" + (dir / "profile").string() + " --window-size=1200,1600 ";
  const std::string dom = run_shell(browser + "--dump-dom file://" + html.string() + " 2>/dev/null");
  ASSERT_NE(dom.find("<svg"), std::string::npos) << "chromium did not render the page: " << dom;
  EXPECT_NE(dom.find("Turn latency"), std::string::npos);
  EXPECT_NE(dom.find("CA1007"), std::string::npos);

  run_shell(browser + "--screenshot=" + png.string() + " file://" + html.string() + " 2>&1");
  ASSERT_TRUE(std::filesystem::exists(png));
  EXPECT_GT(std::filesystem::file_size(png), 20000u);  // a page of charts, not a blank one
  std::ifstream in(png, std::ios::binary);
  char magic[8] = {};
  in.read(magic, 8);
  EXPECT_EQ(std::string(magic + 1, 3), "PNG");
  std::printf("report screenshot: %s\n", png.c_str());
}

}  // namespace
}  // namespace voxgate::sim
