// Tests for the recording-mode routes' pure parts; the turns themselves run end to end in
// tests/integration (the real binary against the Twilio REST stand-in).
#include "net/recording_routes.hpp"

#include <gtest/gtest.h>

namespace voxgate::net {
namespace {

TEST(RecordingUrlAllowed, HttpsOnAnAllowedHostOnly) {
  const std::vector<std::string> hosts = {"api.twilio.com", "127.0.0.1:8081"};
  const auto allowed = [&](std::string_view url) {
    return RecordingRoutes::recording_url_allowed(url, hosts);
  };
  EXPECT_TRUE(allowed("https://api.twilio.com/2010-04-01/Accounts/AC1/Recordings/RE1"));
  EXPECT_TRUE(allowed("https://API.Twilio.com/2010-04-01/Accounts/AC1/Recordings/RE1"));
  EXPECT_TRUE(allowed("https://api.twilio.com:443/x"));  // "host" allows any port
  EXPECT_FALSE(allowed("http://api.twilio.com/x"));      // plain http only to loopback
  EXPECT_FALSE(allowed("https://api.twilio.com.evil.example/x"));
  EXPECT_FALSE(allowed("https://evil.example/api.twilio.com"));
  EXPECT_FALSE(allowed("https://user:pw@api.twilio.com/x"));
  EXPECT_FALSE(allowed("ftp://api.twilio.com/x"));
  EXPECT_FALSE(allowed("/2010-04-01/Accounts/AC1/Recordings/RE1"));
  EXPECT_FALSE(allowed(""));
  EXPECT_TRUE(allowed("http://127.0.0.1:8081/rec"));   // a local stand-in
  EXPECT_FALSE(allowed("http://127.0.0.1:8082/rec"));  // "host:port" is that port only
  EXPECT_FALSE(allowed("http://10.0.0.1:8081/rec"));
}

}  // namespace
}  // namespace voxgate::net
