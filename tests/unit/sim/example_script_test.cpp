// The shipped example script parses.
#include <gtest/gtest.h>

#include "sim/script.hpp"

namespace voxgate::sim {
namespace {

TEST(SimScript, ShippedExampleLoads) {
  const auto script = load_script(std::string(VOXGATE_SOURCE_DIR) + "/examples/barge-in.toml");
  ASSERT_TRUE(script.ok()) << script.error().message;
  EXPECT_EQ(script->size(), 9u);
  EXPECT_EQ((*script)[2].while_talking_after_ms, 800);
}

}  // namespace
}  // namespace voxgate::sim
