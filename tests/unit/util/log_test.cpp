// Log line shapes: call_sid present inside a CallScope, absent outside; JSON lines parse.
#include "util/log.hpp"

#include <boost/json/parse.hpp>
#include <gtest/gtest.h>
#include <spdlog/sinks/ostream_sink.h>

#include <sstream>

namespace voxgate::log {
namespace {

struct CapturedLogger {
  explicit CapturedLogger(Format format)
      : sink(std::make_shared<spdlog::sinks::ostream_sink_mt>(out)),
        logger("test", sink) {
    sink->set_formatter(make_formatter(format));
  }
  std::ostringstream out;
  std::shared_ptr<spdlog::sinks::ostream_sink_mt> sink;
  spdlog::logger logger;
};

TEST(LogTest, TextLineCarriesCallSidInsideScope) {
  CapturedLogger captured(Format::kText);
  {
    CallScope scope("CA123");
    captured.logger.info("Received streaming call from {}", "+1234567890");
  }
  captured.logger.info("no call here");
  const std::string text = captured.out.str();
  EXPECT_NE(text.find("info  [CA123] Received streaming call from +1234567890\n"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("info  no call here\n"), std::string::npos) << text;
}

TEST(LogTest, ScopesNestAndRestore) {
  CallScope outer("CAouter");
  {
    CallScope inner("CAinner");
    EXPECT_EQ(current_call_sid(), "CAinner");
  }
  EXPECT_EQ(current_call_sid(), "CAouter");
}

TEST(LogTest, JsonLineIsValidJsonWithEscapedMessage) {
  CapturedLogger captured(Format::kJson);
  {
    CallScope scope("CA\"quoted\"");
    captured.logger.warn("line with \"quotes\", a \\ and a newline\nhere");
  }
  const std::string line = captured.out.str();
  ASSERT_FALSE(line.empty());
  EXPECT_EQ(line.back(), '\n');
  const auto value = boost::json::parse(line);
  const auto& object = value.as_object();
  EXPECT_EQ(object.at("level").as_string(), "warning");
  EXPECT_EQ(object.at("call_sid").as_string(), "CA\"quoted\"");
  EXPECT_EQ(object.at("msg").as_string(), "line with \"quotes\", a \\ and a newline\nhere");
  EXPECT_EQ(object.at("ts").as_string().size(), std::string_view{"2026-01-01T00:00:00.000Z"}.size());
}

TEST(LogTest, JsonLineWithoutScopeHasNoCallSid) {
  CapturedLogger captured(Format::kJson);
  captured.logger.info("start");
  const auto value = boost::json::parse(captured.out.str());
  EXPECT_FALSE(value.as_object().contains("call_sid"));
}

}  // namespace
}  // namespace voxgate::log
