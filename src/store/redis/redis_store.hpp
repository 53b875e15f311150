// The Redis SessionStore: call state shared by every voxgate worker (`[store] redis_url`,
// REDIS_URL), so any worker can carry on any call. Needs Redis >= 6.2 (GETDEL); Debian 12
// ships 7.0.
//
// Beyond the SessionStore contract:
// - `make_redis_store` returns at once; the store connects in the background and
//   `available()` is false until the first connection is made and answers PING. Operations
//   started before that, or while Redis is down, fail at once with kUnavailable.
// - When Redis goes away or restarts, the store reconnects by itself, with a backoff from
//   `reconnect_min` doubling up to `reconnect_max`; while connected and idle it PINGs every
//   `health_check_interval`, so `available()` turns false within about that long even when
//   nothing is being stored.
// - At most `max_queued_commands` commands (and `max_queued_bytes` of their arguments) wait
//   for the connection; more fail at once with kUnavailable ("queue full").
// - An operation that has waited in the queue for `command_timeout` is answered kTimeout
//   without being sent; once sent, each read and write on the socket waits at most
//   `command_timeout` (kTimeout, and the connection is dropped and made again: a late reply
//   would otherwise be taken for the next command's). Connecting waits at most
//   `connect_timeout`.
// - The password is sent with AUTH and never appears in a log line or an error message.
// - Destroying the store waits for its connection thread (a read or write in progress is
//   cut short; a connect in progress takes up to `connect_timeout`) and answers what was
//   still queued with kCancelled.
#pragma once

#include <chrono>
#include <cstddef>
#include <memory>
#include <string>

#include "store/redis/redis_url.hpp"
#include "store/session_store.hpp"

namespace voxgate::store {

struct RedisStoreOptions {
  std::string url;                  // see redis_url.hpp
  std::string prefix = "voxgate:";  // put before every key: several apps can share a Redis
  std::chrono::milliseconds connect_timeout{2'000};
  std::chrono::milliseconds command_timeout{2'000};
  std::chrono::milliseconds reconnect_min{100};
  std::chrono::milliseconds reconnect_max{2'000};
  std::chrono::milliseconds health_check_interval{1'000};
  std::size_t max_queued_commands = 10'000;
  std::size_t max_queued_bytes = std::size_t{256} << 20;
};

// kInvalidInput for a URL that cannot be parsed (redis_url.hpp) or options out of range.
util::Result<std::unique_ptr<SessionStore>> make_redis_store(RedisStoreOptions options);

}  // namespace voxgate::store
