// Where the Redis store connects: `[store] redis_url` / REDIS_URL parsed into an endpoint.
//
// Accepted forms (credentials percent-encoded when they hold '@', ':' or '/'):
//   redis://[[user]:password@]host[:port][/db]    redis://password@host (a bare password)
//   host[:port]                                   [::1]:6379 (IPv6 in brackets)
// The port defaults to 6379 and the database to 0. Not supported, and refused with a clear
// error: rediss:// (TLS; put a local TLS tunnel in front), unix sockets, query parameters.
//
// Secrets: an error never repeats the URL, which may hold the password; `describe()` is the
// form for logs and /healthz.
#pragma once

#include <string>
#include <string_view>

#include "util/result.hpp"

namespace voxgate::store {

struct RedisEndpoint {
  std::string host;  // a name or an address, IPv6 without brackets
  int port = 6379;
  std::string user;      // for AUTH user password (Redis 6 ACLs); empty: AUTH password
  std::string password;  // empty: no AUTH
  int db = 0;            // SELECT db when not 0

  // "host:port/db", without credentials.
  std::string describe() const;
};

// kInvalidInput with a message naming what is wrong (never the URL itself).
util::Result<RedisEndpoint> parse_redis_url(std::string_view url);

}  // namespace voxgate::store
