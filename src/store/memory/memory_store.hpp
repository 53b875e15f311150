// The in-memory SessionStore: the default when no Redis is configured (one worker), and
// the reference the contract suite holds the Redis store to.
//
// Everything lives in one map under one mutex; an operation runs to completion inside the
// call that starts it and only its callback is posted, so operations apply in the order
// they are started. Expiry is lazy (a key past its time reads as missing and is dropped when
// touched), plus a sweep of all keys every so many writes so that keys nobody reads again do
// not pile up; time comes from an injectable clock so tests need not sleep.
//
// Memory is bounded: a write that would take the store over `max_bytes` (keys, values,
// fields and items counted) first drops what has expired, and if still over is refused with
// kUnavailable ("memory store full"), like a Redis at its maxmemory.
#pragma once

#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>

#include "store/session_store.hpp"

namespace voxgate::store {

struct MemoryStoreOptions {
  // The time expiry is judged by; empty: std::chrono::steady_clock. Must be thread-safe.
  std::function<std::chrono::steady_clock::time_point()> now;
  std::size_t max_bytes = std::size_t{512} << 20;
};

std::unique_ptr<SessionStore> make_memory_store(MemoryStoreOptions options = {});

}  // namespace voxgate::store
