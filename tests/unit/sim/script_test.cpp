// Tests for sim scripts (sim/script.hpp): every step kind, and the errors that name a step.
#include "sim/script.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace voxgate::sim {
namespace {

using ::testing::HasSubstr;
using Kind = ScriptStep::Kind;

TEST(SimScript, EveryStepKind) {
  const auto script = parse_script(R"(
[[step]]
wait_for_reply = true
[[step]]
say = "What are your opening hours?"
[[step]]
audio = "question.wav"
while_talking_after_ms = 800
[[step]]
dtmf = "3"
[[step]]
pause_ms = 1500
[[step]]
wait_for_reply = true
timeout_ms = 2000
[[step]]
hangup = true
)",
                                   "/scripts");
  ASSERT_TRUE(script.ok()) << script.error().message;
  ASSERT_EQ(script->size(), 7u);
  EXPECT_EQ((*script)[0].kind, Kind::kWaitForReply);
  EXPECT_EQ((*script)[0].ms, 10000);
  EXPECT_EQ((*script)[1].text, "What are your opening hours?");
  EXPECT_EQ((*script)[1].while_talking_after_ms, -1);
  EXPECT_EQ((*script)[2].audio_path, "/scripts/question.wav");
  EXPECT_EQ((*script)[2].while_talking_after_ms, 800);
  EXPECT_EQ((*script)[3].digit, "3");
  EXPECT_EQ((*script)[4].ms, 1500);
  EXPECT_EQ((*script)[5].ms, 2000);
  EXPECT_EQ((*script)[6].kind, Kind::kHangup);
}

TEST(SimScript, ErrorsNameTheStep) {
  const auto error_of = [](std::string_view text) {
    const auto script = parse_script(text, ".");
    return script.ok() ? std::string() : script.error().message;
  };
  EXPECT_THAT(error_of(""), HasSubstr("no [[step]]"));
  EXPECT_THAT(error_of("[[step]]\nsay = \"hi\"\n[[step]]\nshout = \"x\"\n"),
              HasSubstr("step 2: unknown key 'shout'"));
  EXPECT_THAT(error_of("[[step]]\nsay = \"hi\"\ndtmf = \"1\"\n"), HasSubstr("exactly one"));
  EXPECT_THAT(error_of("[[step]]\ndtmf = \"12\"\n"), HasSubstr("dtmf must be"));
  EXPECT_THAT(error_of("[[step]]\npause_ms = 5\n"), HasSubstr("pause_ms must be"));
  EXPECT_THAT(error_of("[[step]]\nhangup = true\nwhile_talking_after_ms = 5\n"),
              HasSubstr("goes with say"));
  EXPECT_THAT(error_of("steps = 1\n"), HasSubstr("unknown key 'steps'"));
  EXPECT_THAT(error_of("[[step]\n"), HasSubstr("script:"));
}

}  // namespace
}  // namespace voxgate::sim
