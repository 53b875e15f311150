// The SessionStore: where a call's state lives when it must outlive one worker (DESIGN.md §6,
// scale-out). The call record and its state, the conversation turns, stream tokens, pending
// HTTP-API audio chunks, synthesized reply audio and the hybrid/fallback decisions are kept
// here, so that whichever worker Twilio's next webhook or stream lands on can carry the call
// on. Two backends: memory (one process, the default) and Redis (shared by every worker,
// `[store] redis_url`). Only app/ names a backend; the call code sees this interface.
//
// An asynchronous key-value store shaped for call state: plain values, hashes whose fields
// different workers update, and bounded lists.
//
// Contract (every backend; tests/contract/ runs one suite unchanged against each):
// - Thread safety: every member function may be called from any thread, concurrently.
// - Callbacks: each operation's `done` is invoked exactly once, through `boost::asio::post`
//   to the executor given with it: never inline inside the call that started the operation,
//   and never on a thread of the store's own. That holds for argument errors, for a store
//   that is down, and when the store is destroyed first (then with kCancelled). Executors
//   (their io_context or pool) must outlive the store: its thread may still be returning
//   from a post when the callback has already run. Operations are applied in the order
//   they were started; completions posted to one strand (or to a one-thread io_context)
//   arrive in that order too.
// - Never blocking: no member function waits for the network or for a reply; at most for
//   a mutex held briefly (the memory store copies a value under it). A store that cannot
//   take more work answers kUnavailable at once.
// - Keys are any non-empty byte string (spaces, ':', '%', newlines, NUL bytes, UTF-8 all
//   fine); the store namespaces them itself (Redis: a prefix, "voxgate:" by default), so
//   callers use short names such as "call:CA123:turns". Values and field names are binary
//   (audio bytes with every byte value), each at most `kMaxValueBytes`.
// - Every write sets the key's time to live to the `ttl` given with it (whole key: a hash or
//   list as a whole, never single fields or items), 1 ms ≤ ttl ≤ `kMaxTtl`. An expired key
//   reads as missing. Writes that leave a key unchanged (put_if_absent answering false, a
//   refused append) leave its TTL alone.
// - A key holds one kind of value: a plain value (put), a hash (set_fields,
//   increment_field) or a list (append). Reading or updating it as another kind fails with
//   kInternal (the caller used one name for two things); `put` replaces any kind.
// - Errors (util::ErrorCode), besides what each operation lists:
//     kInvalidInput  an argument is out of range (empty key, ttl, value size, max_items 0,
//                    no fields); nothing was changed;
//     kUnavailable   the store cannot be reached or is overloaded (Redis down, connection
//                    lost, command queue full, memory store full); never after a hang;
//     kTimeout       the store did not answer within the backend's command timeout;
//     kCancelled     the store was destroyed before the operation finished;
//     kInternal      the key holds another kind of value, or the backend answered
//                    something unexpected.
//   After kUnavailable for a lost connection or kTimeout, a write may or may not have been
//   applied: put, set_fields and remove are safe to repeat; put_if_absent may then answer
//   false to the caller's own earlier write; append and increment_field are not (the turn
//   could be stored twice).
// - `available()` is cheap (an atomic read) and says whether operations are expected to
//   succeed now: /healthz readiness and answering 503 to new calls while Redis is down. A
//   backend that lost its server reconnects by itself and turns available again.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/post.hpp>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "util/result.hpp"

namespace voxgate::store {

// The largest value, field name or list item a store accepts (a long reply's audio is
// ~1 MB at 8 kHz mu-law per two minutes; this leaves room without letting one write take
// the server's memory).
inline constexpr std::size_t kMaxValueBytes = 64u << 20;
// The longest time to live: no call state needs more; keeps time arithmetic far from
// overflow in every backend.
inline constexpr std::chrono::milliseconds kMaxTtl = std::chrono::hours(24 * 366);

// The result of an operation that returns nothing but success.
struct Done {};

// A hash's fields, by name (looked up by string_view too).
using Fields = std::map<std::string, std::string, std::less<>>;

template <class T>
using Callback = std::function<void(util::Result<T>)>;

using Executor = boost::asio::any_io_executor;

// What a store has refused and lost since it was made, for /metrics (HOUSE-STYLE: every
// queue has a bound and a counter for what it drops). Counters only go up.
struct StoreStats {
  std::uint64_t unavailable = 0;       // operations answered kUnavailable
  std::uint64_t queue_full = 0;        // of those, refused because the queue was at its bound
  std::uint64_t timeouts = 0;          // operations answered kTimeout
  std::uint64_t connections_lost = 0;  // Redis: connections given up (outage, timeout)
  std::size_t queued = 0;              // Redis: commands waiting for the connection now
};

class SessionStore {
 public:
  virtual ~SessionStore() = default;

  // "memory" or "redis", for logs and /healthz.
  virtual std::string_view name() const = 0;

  // Whether operations are expected to succeed now (see the contract). Never blocks.
  virtual bool available() const = 0;

  // Never blocks for long (a mutex, no I/O).
  virtual StoreStats stats() const = 0;

  // --- Plain values -------------------------------------------------------------------

  // Sets `key` to `value`, replacing whatever it held (of any kind).
  virtual void put(std::string_view key, std::string value, std::chrono::milliseconds ttl,
                   Executor executor, Callback<Done> done) = 0;

  // The value, or nullopt when the key does not exist or has expired.
  virtual void get(std::string_view key, Executor executor,
                   Callback<std::optional<std::string>> done) = 0;

  // Gets and deletes in one step: of several workers taking the same key, exactly one
  // receives the value (pending audio chunks, once-only tokens).
  virtual void take(std::string_view key, Executor executor,
                    Callback<std::optional<std::string>> done) = 0;

  // Sets `key` only when it does not exist: true when this call set it, false when the key
  // already held something (which is left as it was). A lock-free "who decides" between
  // workers: the first writer of a call's fallback decision wins.
  virtual void put_if_absent(std::string_view key, std::string value, std::chrono::milliseconds ttl,
                             Executor executor, Callback<bool> done) = 0;

  // --- Hashes (a call record whose fields different workers update) --------------------

  // Sets the given fields (at least one), keeping the hash's other fields; all or none.
  virtual void set_fields(std::string_view key, Fields fields, std::chrono::milliseconds ttl,
                          Executor executor, Callback<Done> done) = 0;

  // All fields; empty when the key does not exist (a hash is never empty otherwise).
  virtual void get_fields(std::string_view key, Executor executor, Callback<Fields> done) = 0;

  // Adds `by` (may be negative) to an integer field, a missing field counting as 0, and
  // returns the new value. Concurrent increments are never lost. A field that does not
  // hold a decimal 64-bit integer is kInternal; a result out of int64 range is
  // kInvalidInput and changes nothing.
  virtual void increment_field(std::string_view key, std::string_view field, std::int64_t by,
                               std::chrono::milliseconds ttl, Executor executor,
                               Callback<std::int64_t> done) = 0;

  // --- Bounded lists (conversation turns, audio chunks) -------------------------------

  // Appends `value` at the end and returns the list's new length. When the list already
  // holds `max_items` (≥ 1), the value is refused with kInvalidInput ("list full"): nothing
  // is silently dropped, and with valid arguments that is the only kInvalidInput append
  // gives. Concurrent appends are never lost and each gets a different length.
  virtual void append(std::string_view key, std::string value, std::size_t max_items,
                      std::chrono::milliseconds ttl, Executor executor,
                      Callback<std::size_t> done) = 0;

  // The whole list, oldest first; empty when the key does not exist.
  virtual void range(std::string_view key, Executor executor,
                     Callback<std::vector<std::string>> done) = 0;

  // The whole list, oldest first, deleted in the same step (empty when the key does not
  // exist): of several workers taking one list, exactly one receives each item, and an
  // append racing the take lands either in the items taken or in a new list, never in
  // neither (pending audio chunks, handed to whichever worker completes the call).
  virtual void take_range(std::string_view key, Executor executor,
                          Callback<std::vector<std::string>> done) = 0;

  // --- Every kind ----------------------------------------------------------------------

  // Deletes the keys (of any kind; a call's keys when it ends) and returns how many of them
  // existed. No keys: 0.
  virtual void remove(std::vector<std::string> keys, Executor executor,
                      Callback<std::size_t> done) = 0;
};

// Hands `result` to `done` through `executor`, never inline: how every backend completes.
template <class T>
void post_result(const Executor& executor, Callback<T> done, util::Result<T> result) {
  boost::asio::post(executor, [done = std::move(done), result = std::move(result)]() mutable {
    done(std::move(result));
  });
}

// The contract's kInternal for a key that holds another kind of value than the operation's.
util::Error wrong_kind(std::string_view operation);

// Argument checks every backend makes the same way, before touching its data; nullopt when
// the argument is acceptable. Errors name the operation and the limit, never the value.
std::optional<util::Error> check_key(std::string_view operation, std::string_view key);
std::optional<util::Error> check_ttl(std::string_view operation, std::chrono::milliseconds ttl);
std::optional<util::Error> check_value(std::string_view operation, std::string_view value);

}  // namespace voxgate::store
