// Parsing of redis:// URLs (redis_url.hpp). Hand-written rather than through Boost.URL: the
// grammar is tiny, the plain "host:port" form is not a URL at all, and every error must be
// phrased without echoing the input.
#include "store/redis/redis_url.hpp"

#include <charconv>
#include <optional>

namespace voxgate::store {
namespace {

using util::Error;
using util::ErrorCode;

Error bad(std::string_view what) {
  return {ErrorCode::kInvalidInput, "redis url: " + std::string(what)};
}

std::optional<int> parse_number(std::string_view text, int min, int max) {
  int value = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (text.empty() || ec != std::errc() || end != text.data() + text.size() || value < min ||
      value > max) {
    return std::nullopt;
  }
  return value;
}

int hex_digit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::optional<std::string> percent_decode(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] != '%') {
      out += text[i];
      continue;
    }
    if (i + 2 >= text.size()) return std::nullopt;
    const int high = hex_digit(text[i + 1]);
    const int low = hex_digit(text[i + 2]);
    if (high < 0 || low < 0) return std::nullopt;
    out += static_cast<char>(high * 16 + low);
    i += 2;
  }
  return out;
}

}  // namespace

std::string RedisEndpoint::describe() const {
  const bool ipv6 = host.find(':') != std::string::npos;
  return (ipv6 ? "[" + host + "]" : host) + ":" + std::to_string(port) + "/" + std::to_string(db);
}

util::Result<RedisEndpoint> parse_redis_url(std::string_view url) {
  RedisEndpoint endpoint;
  std::string_view rest = url;
  const auto scheme_end = rest.find("://");
  if (scheme_end != std::string_view::npos) {
    const std::string_view scheme = rest.substr(0, scheme_end);
    if (scheme == "rediss") return bad("rediss:// (TLS) is not supported");
    if (scheme != "redis") return bad("the scheme must be redis://");
    rest.remove_prefix(scheme_end + 3);
  }
  if (rest.find_first_of("?#") != std::string_view::npos) {
    return bad("query parameters are not supported");
  }
  std::string_view path;
  if (const auto slash = rest.find('/'); slash != std::string_view::npos) {
    if (scheme_end == std::string_view::npos) return bad("a database needs the redis:// form");
    path = rest.substr(slash + 1);
    rest = rest.substr(0, slash);
  }
  if (const auto at = rest.rfind('@'); at != std::string_view::npos) {
    if (scheme_end == std::string_view::npos) return bad("credentials need the redis:// form");
    const std::string_view userinfo = rest.substr(0, at);
    rest.remove_prefix(at + 1);
    const auto colon = userinfo.find(':');
    const auto user = percent_decode(colon == std::string_view::npos ? std::string_view()
                                                                     : userinfo.substr(0, colon));
    const auto password =
        percent_decode(colon == std::string_view::npos ? userinfo : userinfo.substr(colon + 1));
    if (!user || !password) return bad("bad percent-encoding in the credentials");
    endpoint.user = *user;
    endpoint.password = *password;
    if (endpoint.password.empty() && !endpoint.user.empty()) {
      return bad("a user needs a password");
    }
  }
  std::string_view port_text;
  if (!rest.empty() && rest.front() == '[') {
    const auto close = rest.find(']');
    if (close == std::string_view::npos) return bad("unclosed '[' in the host");
    endpoint.host = std::string(rest.substr(1, close - 1));
    const std::string_view after = rest.substr(close + 1);
    if (!after.empty()) {
      if (after.front() != ':') return bad("junk after the host");
      port_text = after.substr(1);
      if (port_text.empty()) return bad("empty port");
    }
  } else {
    const auto colon = rest.find(':');
    endpoint.host = std::string(rest.substr(0, colon));
    if (colon != std::string_view::npos) {
      port_text = rest.substr(colon + 1);
      if (port_text.empty()) return bad("empty port");
    }
  }
  if (endpoint.host.empty()) return bad("no host");
  if (!port_text.empty()) {
    const auto port = parse_number(port_text, 1, 65535);
    if (!port) return bad("the port must be a number from 1 to 65535");
    endpoint.port = *port;
  }
  if (!path.empty()) {
    const auto db = parse_number(path, 0, 1'000'000);
    if (!db) return bad("the database must be a number");
    endpoint.db = *db;
  }
  return endpoint;
}

}  // namespace voxgate::store
