// Parsing of `[store] redis_url` (store/redis/redis_url.hpp): every accepted form, and
// refusals that never repeat the URL (it may hold the password).
#include "store/redis/redis_url.hpp"

#include <gtest/gtest.h>

namespace voxgate::store {
namespace {

using util::ErrorCode;

RedisEndpoint parsed(std::string_view url) {
  auto result = parse_redis_url(url);
  EXPECT_TRUE(result) << url << ": " << (result ? "" : result.error().message);
  return result ? *result : RedisEndpoint{};
}

TEST(RedisUrl, PlainHostAndPort) {
  const auto endpoint = parsed("cache.internal:6380");
  EXPECT_EQ(endpoint.host, "cache.internal");
  EXPECT_EQ(endpoint.port, 6380);
  EXPECT_EQ(endpoint.db, 0);
  EXPECT_TRUE(endpoint.password.empty());
  EXPECT_EQ(parsed("localhost").port, 6379);
}

TEST(RedisUrl, FullForm) {
  const auto endpoint = parsed("redis://worker:p%40ss%3Aword@10.0.0.5:7000/4");
  EXPECT_EQ(endpoint.host, "10.0.0.5");
  EXPECT_EQ(endpoint.port, 7000);
  EXPECT_EQ(endpoint.user, "worker");
  EXPECT_EQ(endpoint.password, "p@ss:word");
  EXPECT_EQ(endpoint.db, 4);
  EXPECT_EQ(endpoint.describe(), "10.0.0.5:7000/4");
}

TEST(RedisUrl, PasswordOnlyForms) {
  EXPECT_EQ(parsed("redis://:secret@h").password, "secret");
  EXPECT_EQ(parsed("redis://:secret@h").user, "");
  EXPECT_EQ(parsed("redis://secret@h").password, "secret");
  EXPECT_EQ(parsed("redis://h/").db, 0);
  EXPECT_EQ(parsed("redis://h:1/15").db, 15);
}

TEST(RedisUrl, Ipv6InBrackets) {
  const auto endpoint = parsed("redis://[::1]:6390/2");
  EXPECT_EQ(endpoint.host, "::1");
  EXPECT_EQ(endpoint.port, 6390);
  EXPECT_EQ(endpoint.describe(), "[::1]:6390/2");
  EXPECT_EQ(parsed("[::1]").port, 6379);
}

TEST(RedisUrl, RefusalsNameTheProblemNotTheUrl) {
  for (const char* url :
       {"", "redis://", "redis://:hunter2@", "rediss://:hunter2@h", "http://:hunter2@h",
        "redis://:hunter2@h:0", "redis://:hunter2@h:65536", "redis://:hunter2@h:x",
        "redis://:hunter2@h:", "redis://:hunter2@h/x", "redis://:hunter2@h/1?timeout=3",
        "redis://:hunter2@[::1", "redis://:hunter2@[::1]x", "redis://:hunter2%zz@h",
        "redis://user:@h", "hunter2@h:1", "h:1/2", "unix:///run/redis.sock"}) {
    const auto result = parse_redis_url(url);
    ASSERT_FALSE(result) << "accepted " << url;
    EXPECT_EQ(result.error().code, ErrorCode::kInvalidInput);
    EXPECT_EQ(result.error().message.find("hunter2"), std::string::npos) << result.error().message;
  }
}

}  // namespace
}  // namespace voxgate::store
