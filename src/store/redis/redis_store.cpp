// The Redis SessionStore (redis_store.hpp) on hiredis: one connection, driven by one thread
// of the store's own that runs hiredis's blocking API, fed from a bounded queue.
//
// Why a connection thread and not hiredis's async API on an Asio descriptor: Debian 12
// ships hiredis 0.14, whose async API has no timeouts at all (redisAsyncSetTimeout came in
// 1.0) and no Asio adapter, so the async route meant writing the adapter and a timer per
// command, with the usual care about callbacks from inside hiredis. The blocking API has
// socket timeouts (redisSetTimeout) and is simple to reason about; one thread that sends
// everything queued as one pipeline and then reads the replies gets the async design's
// throughput for our load (a handful of commands per turn per call): N commands cost one
// round trip, not N. Redis executes commands one at a time anyway, so one connection is not
// the bottleneck. I/O threads only take a mutex to queue a command, never wait for Redis;
// replies are decoded on the connection thread and posted to each caller's executor.
//
// Commands that touch two things at once (write a hash and set its TTL, check a list's
// length and push) run as small Lua scripts with EVAL: Redis runs a script atomically, so
// concurrent workers never see half an update and the length check cannot race the push.
// Arguments always go as length-prefixed argv (redisAppendCommandArgv), never through a
// format string, so values are binary-safe and a key cannot inject a command.
//
// SIGPIPE: hiredis writes with write(2), and a write to a connection Redis has closed raises
// SIGPIPE, which kills a process that did not ignore it. The connection thread blocks the
// signal for itself and discards what is pending after a lost connection.
#include "store/redis/redis_store.hpp"

#include <hiredis/hiredis.h>
#include <signal.h>
#include <spdlog/spdlog.h>
#include <sys/socket.h>
#include <sys/time.h>

#include <atomic>
#include <cerrno>
#include <charconv>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <optional>
#include <thread>
#include <utility>
#include <vector>

namespace voxgate::store {
namespace {

using Clock = std::chrono::steady_clock;
using util::Error;
using util::ErrorCode;
using util::Result;

// A pipeline is cut at this many commands or bytes of arguments, so that one huge burst
// does not hold every reply of the batch back until its last command is sent.
constexpr std::size_t kMaxBatchCommands = 256;
constexpr std::size_t kMaxBatchBytes = std::size_t{8} << 20;

// KEYS[1] hash; ARGV[1] ttl_ms, then field, value pairs. HSET one pair at a time: unpack()
// of a long ARGV can overflow Lua's C stack.
constexpr std::string_view kSetFieldsScript =
    "for i = 2, #ARGV, 2 do redis.call('HSET', KEYS[1], ARGV[i], ARGV[i + 1]) end\n"
    "redis.call('PEXPIRE', KEYS[1], ARGV[1])\n"
    "return 1";

// KEYS[1] hash; ARGV field, by, ttl_ms. HINCRBY fails (and so the script, before PEXPIRE)
// on a non-integer field or an overflow, changing nothing. The new value is read back as
// the field's text: HINCRBY's result reaches Lua as a double, exact only up to 2^53 (the
// contract suite's increment to INT64_MAX came back as INT64_MIN).
constexpr std::string_view kIncrementScript =
    "redis.call('HINCRBY', KEYS[1], ARGV[1], ARGV[2])\n"
    "redis.call('PEXPIRE', KEYS[1], ARGV[3])\n"
    "return redis.call('HGET', KEYS[1], ARGV[1])";

// KEYS[1] list; ARGV value, max_items, ttl_ms. -1: full, nothing changed.
constexpr std::string_view kAppendScript =
    "if redis.call('LLEN', KEYS[1]) >= tonumber(ARGV[2]) then return -1 end\n"
    "local n = redis.call('RPUSH', KEYS[1], ARGV[1])\n"
    "redis.call('PEXPIRE', KEYS[1], ARGV[3])\n"
    "return n";

// KEYS[1] list. LRANGE then DEL inside one script: no append or other taker can come in
// between (GETDEL has no list counterpart).
constexpr std::string_view kTakeRangeScript =
    "local items = redis.call('LRANGE', KEYS[1], 0, -1)\n"
    "redis.call('DEL', KEYS[1])\n"
    "return items";

struct ReplyDeleter {
  void operator()(redisReply* reply) const { freeReplyObject(reply); }
};
using ReplyPtr = std::unique_ptr<redisReply, ReplyDeleter>;

// Decodes a reply (never an error reply) or takes the error, and posts the outcome to the
// caller. Runs on the connection thread, exactly once per command.
using Finish = std::function<void(const redisReply* reply, Error error)>;

struct Command {
  std::vector<std::string> args;
  std::size_t bytes = 0;
  Clock::time_point queued_at;
  Finish finish;
};

timeval to_timeval(std::chrono::milliseconds ms) {
  timeval tv{};
  tv.tv_sec = static_cast<time_t>(ms.count() / 1000);
  tv.tv_usec = static_cast<suseconds_t>((ms.count() % 1000) * 1000);
  return tv;
}

std::string_view reply_text(const redisReply& reply) {
  return reply.str ? std::string_view(reply.str, reply.len) : std::string_view();
}

// Redis's error replies, sorted by the contract's error codes. Redis never echoes argument
// values in an error, but a long text is cut all the same.
Error reply_error(std::string_view operation, std::string_view text) {
  const auto has = [&](std::string_view part) { return text.find(part) != std::string_view::npos; };
  const auto starts = [&](std::string_view part) { return text.substr(0, part.size()) == part; };
  const std::string op(operation);
  if (has("WRONGTYPE")) return wrong_kind(operation);
  if (has("not an integer")) return {ErrorCode::kInternal, op + ": the field is not an integer"};
  if (has("would overflow")) return {ErrorCode::kInvalidInput, op + ": the result would overflow"};
  const std::string quoted(text.substr(0, 200));
  for (const std::string_view busy : {"LOADING", "BUSY", "MASTERDOWN", "READONLY", "OOM", "NOAUTH",
                                      "NOPERM", "TRYAGAIN", "CLUSTERDOWN"}) {
    if (starts(busy)) return {ErrorCode::kUnavailable, op + ": redis refused: " + quoted};
  }
  return {ErrorCode::kInternal, op + ": redis error: " + quoted};
}

Error unexpected(std::string_view operation) {
  return {ErrorCode::kInternal, std::string(operation) + ": unexpected reply from redis"};
}

// A Finish for an operation whose replies `decode` turns into a T.
// `unavailable` counts Redis's refusals (LOADING, OOM, …) for stats().
template <class T, class Decode>
Finish make_finish(std::string_view operation, Executor executor, Callback<T> done, Decode decode,
                   std::atomic<std::uint64_t>* unavailable) {
  return [operation, executor = std::move(executor), done = std::move(done),
          decode = std::move(decode), unavailable](const redisReply* reply, Error error) mutable {
    if (!reply) return post_result<T>(executor, std::move(done), std::move(error));
    if (reply->type == REDIS_REPLY_ERROR) {
      Error refused = reply_error(operation, reply_text(*reply));
      if (refused.code == ErrorCode::kUnavailable) {
        unavailable->fetch_add(1, std::memory_order_relaxed);
      }
      return post_result<T>(executor, std::move(done), std::move(refused));
    }
    post_result<T>(executor, std::move(done), decode(*reply));
  };
}

Result<Done> decode_ok(std::string_view operation, const redisReply& reply) {
  if ((reply.type == REDIS_REPLY_STATUS && reply_text(reply) == "OK") ||
      reply.type == REDIS_REPLY_INTEGER) {
    return Done{};
  }
  return unexpected(operation);
}

Result<std::optional<std::string>> decode_optional_string(std::string_view operation,
                                                          const redisReply& reply) {
  if (reply.type == REDIS_REPLY_NIL) return std::optional<std::string>();
  if (reply.type == REDIS_REPLY_STRING) {
    return std::optional<std::string>(std::string(reply_text(reply)));
  }
  return unexpected(operation);
}

class RedisStore final : public SessionStore {
 public:
  RedisStore(RedisStoreOptions options, RedisEndpoint endpoint)
      : options_(std::move(options)), endpoint_(std::move(endpoint)), where_(endpoint_.describe()) {
    thread_ = std::thread([this] { run(); });
  }

  ~RedisStore() override {
    {
      const std::lock_guard lock(mutex_);
      stopping_ = true;
    }
    wake_.notify_all();
    {
      // Wakes the connection thread from a blocking read or write at once, instead of
      // after command_timeout.
      const std::lock_guard lock(fd_mutex_);
      if (fd_ >= 0) ::shutdown(fd_, SHUT_RDWR);
    }
    thread_.join();
  }

  std::string_view name() const override { return "redis"; }
  bool available() const override { return available_.load(std::memory_order_acquire); }

  StoreStats stats() const override {
    StoreStats stats;
    stats.unavailable = unavailable_.load(std::memory_order_relaxed);
    stats.queue_full = queue_full_.load(std::memory_order_relaxed);
    stats.timeouts = timeouts_.load(std::memory_order_relaxed);
    stats.connections_lost = connections_lost_.load(std::memory_order_relaxed);
    const std::lock_guard lock(mutex_);
    stats.queued = queue_.size();
    return stats;
  }

  void put(std::string_view key, std::string value, std::chrono::milliseconds ttl,
           Executor executor, Callback<Done> done) override {
    if (auto e =
            first_error(check_key("put", key), check_ttl("put", ttl), check_value("put", value))) {
      return post_result<Done>(executor, std::move(done), std::move(*e));
    }
    submit({"SET", full_key(key), std::move(value), "PX", std::to_string(ttl.count())},
           finisher<Done>("put", std::move(executor), std::move(done),
                          [](const redisReply& r) { return decode_ok("put", r); }));
  }

  void get(std::string_view key, Executor executor,
           Callback<std::optional<std::string>> done) override {
    read_string("get", "GET", key, std::move(executor), std::move(done));
  }

  void take(std::string_view key, Executor executor,
            Callback<std::optional<std::string>> done) override {
    read_string("take", "GETDEL", key, std::move(executor), std::move(done));
  }

  void put_if_absent(std::string_view key, std::string value, std::chrono::milliseconds ttl,
                     Executor executor, Callback<bool> done) override {
    if (auto e = first_error(check_key("put_if_absent", key), check_ttl("put_if_absent", ttl),
                             check_value("put_if_absent", value))) {
      return post_result<bool>(executor, std::move(done), std::move(*e));
    }
    submit({"SET", full_key(key), std::move(value), "NX", "PX", std::to_string(ttl.count())},
           finisher<bool>("put_if_absent", std::move(executor), std::move(done),
                          [](const redisReply& r) -> Result<bool> {
                            if (r.type == REDIS_REPLY_NIL) return false;
                            if (r.type == REDIS_REPLY_STATUS) return true;
                            return unexpected("put_if_absent");
                          }));
  }

  void set_fields(std::string_view key, Fields fields, std::chrono::milliseconds ttl,
                  Executor executor, Callback<Done> done) override {
    std::optional<Error> error =
        first_error(check_key("set_fields", key), check_ttl("set_fields", ttl), std::nullopt);
    if (!error && fields.empty()) error = Error{ErrorCode::kInvalidInput, "set_fields: no fields"};
    for (const auto& [field, value] : fields) {
      if (error) break;
      error = first_error(check_value("set_fields", field), check_value("set_fields", value),
                          std::nullopt);
    }
    if (error) return post_result<Done>(executor, std::move(done), std::move(*error));
    std::vector<std::string> args{"EVAL", std::string(kSetFieldsScript), "1", full_key(key),
                                  std::to_string(ttl.count())};
    args.reserve(args.size() + 2 * fields.size());
    while (!fields.empty()) {
      auto node = fields.extract(fields.begin());
      args.push_back(std::move(node.key()));
      args.push_back(std::move(node.mapped()));
    }
    submit(std::move(args),
           finisher<Done>("set_fields", std::move(executor), std::move(done),
                          [](const redisReply& r) { return decode_ok("set_fields", r); }));
  }

  void get_fields(std::string_view key, Executor executor, Callback<Fields> done) override {
    if (auto e = check_key("get_fields", key)) {
      return post_result<Fields>(executor, std::move(done), *e);
    }
    submit({"HGETALL", full_key(key)},
           finisher<Fields>("get_fields", std::move(executor), std::move(done),
                            [](const redisReply& r) -> Result<Fields> {
                              if (r.type != REDIS_REPLY_ARRAY || r.elements % 2 != 0) {
                                return unexpected("get_fields");
                              }
                              Fields fields;
                              for (std::size_t i = 0; i < r.elements; i += 2) {
                                const redisReply* name = r.element[i];
                                const redisReply* value = r.element[i + 1];
                                if (name->type != REDIS_REPLY_STRING ||
                                    value->type != REDIS_REPLY_STRING) {
                                  return unexpected("get_fields");
                                }
                                fields.emplace(reply_text(*name), reply_text(*value));
                              }
                              return fields;
                            }));
  }

  void increment_field(std::string_view key, std::string_view field, std::int64_t by,
                       std::chrono::milliseconds ttl, Executor executor,
                       Callback<std::int64_t> done) override {
    if (auto e = first_error(check_key("increment_field", key), check_ttl("increment_field", ttl),
                             check_value("increment_field", field))) {
      return post_result<std::int64_t>(executor, std::move(done), std::move(*e));
    }
    submit({"EVAL", std::string(kIncrementScript), "1", full_key(key), std::string(field),
            std::to_string(by), std::to_string(ttl.count())},
           finisher<std::int64_t>("increment_field", std::move(executor), std::move(done),
                                  [](const redisReply& r) -> Result<std::int64_t> {
                                    std::int64_t value = 0;
                                    const std::string_view text = reply_text(r);
                                    const auto [end, ec] = std::from_chars(
                                        text.data(), text.data() + text.size(), value);
                                    if (r.type != REDIS_REPLY_STRING || ec != std::errc() ||
                                        end != text.data() + text.size()) {
                                      return unexpected("increment_field");
                                    }
                                    return value;
                                  }));
  }

  void append(std::string_view key, std::string value, std::size_t max_items,
              std::chrono::milliseconds ttl, Executor executor,
              Callback<std::size_t> done) override {
    std::optional<Error> error = first_error(check_key("append", key), check_ttl("append", ttl),
                                             check_value("append", value));
    if (!error && max_items == 0) {
      error = Error{ErrorCode::kInvalidInput, "append: max_items must be >= 1"};
    }
    if (error) return post_result<std::size_t>(executor, std::move(done), std::move(*error));
    submit({"EVAL", std::string(kAppendScript), "1", full_key(key), std::move(value),
            std::to_string(max_items), std::to_string(ttl.count())},
           finisher<std::size_t>("append", std::move(executor), std::move(done),
                                 [max_items](const redisReply& r) -> Result<std::size_t> {
                                   if (r.type != REDIS_REPLY_INTEGER) {
                                     return unexpected("append");
                                   }
                                   if (r.integer < 0) {
                                     return Error{ErrorCode::kInvalidInput,
                                                  "append: list full (" +
                                                      std::to_string(max_items) + " items)"};
                                   }
                                   return static_cast<std::size_t>(r.integer);
                                 }));
  }

  void range(std::string_view key, Executor executor,
             Callback<std::vector<std::string>> done) override {
    read_list("range", {"LRANGE", full_key(key), "0", "-1"}, key, std::move(executor),
              std::move(done));
  }

  void take_range(std::string_view key, Executor executor,
                  Callback<std::vector<std::string>> done) override {
    read_list("take_range", {"EVAL", std::string(kTakeRangeScript), "1", full_key(key)}, key,
              std::move(executor), std::move(done));
  }

  void remove(std::vector<std::string> keys, Executor executor,
              Callback<std::size_t> done) override {
    for (const auto& key : keys) {
      if (auto e = check_key("remove", key)) {
        return post_result<std::size_t>(executor, std::move(done), *e);
      }
    }
    if (keys.empty()) return post_result<std::size_t>(executor, std::move(done), std::size_t{0});
    std::vector<std::string> args{"DEL"};
    args.reserve(keys.size() + 1);
    for (const auto& key : keys) args.push_back(full_key(key));
    submit(std::move(args),
           finisher<std::size_t>("remove", std::move(executor), std::move(done),
                                 [](const redisReply& r) -> Result<std::size_t> {
                                   if (r.type != REDIS_REPLY_INTEGER || r.integer < 0) {
                                     return unexpected("remove");
                                   }
                                   return static_cast<std::size_t>(r.integer);
                                 }));
  }

 private:
  static std::optional<Error> first_error(std::optional<Error> a, std::optional<Error> b,
                                          std::optional<Error> c) {
    if (a) return a;
    if (b) return b;
    return c;
  }

  std::string full_key(std::string_view key) const {
    std::string full;
    full.reserve(options_.prefix.size() + key.size());
    full.append(options_.prefix).append(key);
    return full;
  }

  void read_string(std::string_view operation, const char* command, std::string_view key,
                   Executor executor, Callback<std::optional<std::string>> done) {
    if (auto e = check_key(operation, key)) {
      return post_result<std::optional<std::string>>(executor, std::move(done), *e);
    }
    submit({command, full_key(key)},
           finisher<std::optional<std::string>>(
               operation, std::move(executor), std::move(done),
               [operation](const redisReply& r) { return decode_optional_string(operation, r); }));
  }

  // A command answering a list of items (LRANGE, or a script returning one).
  void read_list(std::string_view operation, std::vector<std::string> command,
                 std::string_view key, Executor executor,
                 Callback<std::vector<std::string>> done) {
    if (auto e = check_key(operation, key)) {
      return post_result<std::vector<std::string>>(executor, std::move(done), *e);
    }
    submit(std::move(command),
           finisher<std::vector<std::string>>(
               operation, std::move(executor), std::move(done),
               [operation](const redisReply& r) -> Result<std::vector<std::string>> {
                 if (r.type != REDIS_REPLY_ARRAY) return unexpected(operation);
                 std::vector<std::string> items;
                 items.reserve(r.elements);
                 for (std::size_t i = 0; i < r.elements; ++i) {
                   if (r.element[i]->type != REDIS_REPLY_STRING) return unexpected(operation);
                   items.emplace_back(reply_text(*r.element[i]));
                 }
                 return items;
               }));
  }

  // Queues a command for the connection thread, or answers it at once when the store is
  // down, stopping or full.
  void submit(std::vector<std::string> args, Finish finish) {
    Command command;
    for (const auto& arg : args) command.bytes += arg.size();
    command.args = std::move(args);
    command.queued_at = Clock::now();
    command.finish = std::move(finish);
    std::optional<Error> refused;
    {
      const std::lock_guard lock(mutex_);
      if (stopping_) {
        refused = Error{ErrorCode::kCancelled, "redis store: shutting down"};
      } else if (!connected_) {
        refused = Error{ErrorCode::kUnavailable, "redis store: not connected to " + where_};
      } else if (queue_.size() >= options_.max_queued_commands ||
                 queued_bytes_ + command.bytes > options_.max_queued_bytes) {
        queue_full_.fetch_add(1, std::memory_order_relaxed);
        refused = Error{ErrorCode::kUnavailable,
                        "redis store: queue full (" + std::to_string(queue_.size()) +
                            " commands, " + std::to_string(queued_bytes_) + " bytes waiting)"};
      } else {
        queued_bytes_ += command.bytes;
        queue_.push_back(std::move(command));
      }
    }
    if (refused) return fail(command, std::move(*refused));
    wake_.notify_one();
  }

  template <class T, class Decode>
  Finish finisher(std::string_view operation, Executor executor, Callback<T> done, Decode decode) {
    return make_finish<T>(operation, std::move(executor), std::move(done), std::move(decode),
                          &unavailable_);
  }

  // Answers a command with an error of ours, counted for stats().
  void fail(Command& command, Error error) {
    if (error.code == ErrorCode::kUnavailable) unavailable_.fetch_add(1, std::memory_order_relaxed);
    if (error.code == ErrorCode::kTimeout) timeouts_.fetch_add(1, std::memory_order_relaxed);
    command.finish(nullptr, std::move(error));
  }

  // --- The connection thread ---------------------------------------------------------

  void run() {
    sigset_t sigpipe;
    sigemptyset(&sigpipe);
    sigaddset(&sigpipe, SIGPIPE);
    pthread_sigmask(SIG_BLOCK, &sigpipe, nullptr);

    auto backoff = options_.reconnect_min;
    bool outage_logged = false;
    for (;;) {
      if (!context_) {
        if (stopping()) break;
        if (auto error = connect()) {
          if (error->code == ErrorCode::kCancelled) break;
          if (!outage_logged) {
            spdlog::warn("Redis store: {}; retrying every {} ms at most", error->message,
                         options_.reconnect_max.count());
            outage_logged = true;
          }
          std::unique_lock lock(mutex_);
          if (wake_.wait_for(lock, backoff, [this] { return stopping_; })) break;
          backoff = std::min(backoff * 2, options_.reconnect_max);
          continue;
        }
        spdlog::info("Redis store: connected to {}", where_);
        outage_logged = false;
        backoff = options_.reconnect_min;
      }
      std::vector<Command> batch;
      {
        std::unique_lock lock(mutex_);
        wake_.wait_for(lock, options_.health_check_interval,
                       [this] { return stopping_ || !queue_.empty(); });
        if (stopping_) break;
        std::size_t batch_bytes = 0;
        while (!queue_.empty() && batch.size() < kMaxBatchCommands &&
               batch_bytes < kMaxBatchBytes) {
          batch_bytes += queue_.front().bytes;
          queued_bytes_ -= queue_.front().bytes;
          batch.push_back(std::move(queue_.front()));
          queue_.pop_front();
        }
      }
      if (batch.empty()) {
        health_check();
      } else {
        execute(batch);
      }
    }
    close_context();
    std::deque<Command> left;
    {
      const std::lock_guard lock(mutex_);
      connected_ = false;
      available_.store(false, std::memory_order_release);
      left.swap(queue_);
      queued_bytes_ = 0;
    }
    for (auto& command : left) {
      fail(command, Error{ErrorCode::kCancelled, "redis store: shutting down"});
    }
  }

  bool stopping() {
    const std::lock_guard lock(mutex_);
    return stopping_;
  }

  // One command outside a pipeline (handshake, health check); null on a lost connection,
  // with the reason in context_->errstr.
  ReplyPtr handshake_command(std::initializer_list<std::string_view> args) {
    std::vector<const char*> argv;
    std::vector<std::size_t> lengths;
    for (const auto arg : args) {
      argv.push_back(arg.data());
      lengths.push_back(arg.size());
    }
    return ReplyPtr(static_cast<redisReply*>(
        redisCommandArgv(context_, static_cast<int>(argv.size()), argv.data(), lengths.data())));
  }

  // Connects, authenticates, selects the database and checks with PING; the error says
  // what failed, without the password.
  std::optional<Error> connect() {
    redisContext* context = redisConnectWithTimeout(endpoint_.host.c_str(), endpoint_.port,
                                                    to_timeval(options_.connect_timeout));
    if (!context) return Error{ErrorCode::kUnavailable, "cannot allocate a redis context"};
    if (context->err) {
      Error error{ErrorCode::kUnavailable,
                  "cannot connect to " + where_ + ": " + std::string(context->errstr)};
      redisFree(context);
      return error;
    }
    redisSetTimeout(context, to_timeval(options_.command_timeout));
    redisEnableKeepAlive(context);
    {
      const std::lock_guard lock(fd_mutex_);
      context_ = context;
      fd_ = context->fd;
    }
    // The destructor may have looked for a socket to shut down just before there was one.
    if (stopping()) {
      close_context();
      return Error{ErrorCode::kCancelled, "shutting down"};
    }
    const auto step = [this](std::string_view what, ReplyPtr reply,
                             std::string_view expected) -> std::optional<Error> {
      if (!reply) {
        Error error{ErrorCode::kUnavailable,
                    std::string(what) + " to " + where_ + " failed: " + context_->errstr};
        close_context();
        return error;
      }
      if (reply->type == REDIS_REPLY_ERROR || reply_text(*reply) != expected) {
        Error error{ErrorCode::kUnavailable, std::string(what) + " refused by " + where_ + ": " +
                                                 std::string(reply_text(*reply).substr(0, 200))};
        close_context();
        return error;
      }
      return std::nullopt;
    };
    if (!endpoint_.password.empty()) {
      auto reply = endpoint_.user.empty()
                       ? handshake_command({"AUTH", endpoint_.password})
                       : handshake_command({"AUTH", endpoint_.user, endpoint_.password});
      if (auto error = step("AUTH", std::move(reply), "OK")) return error;
    }
    if (endpoint_.db != 0) {
      const std::string db = std::to_string(endpoint_.db);
      if (auto error = step("SELECT", handshake_command({"SELECT", db}), "OK")) return error;
    }
    if (auto error = step("PING", handshake_command({"PING"}), "PONG")) return error;
    {
      const std::lock_guard lock(mutex_);
      connected_ = true;
      available_.store(true, std::memory_order_release);
    }
    return std::nullopt;
  }

  void close_context() {
    if (!context_) return;
    redisContext* context = nullptr;
    {
      const std::lock_guard lock(fd_mutex_);
      context = std::exchange(context_, nullptr);
      fd_ = -1;
    }
    redisFree(context);
  }

  // The error for the commands in flight when a read or write failed.
  Error connection_error(int saved_errno) const {
    if (context_->err == REDIS_ERR_IO && (saved_errno == EAGAIN || saved_errno == EWOULDBLOCK)) {
      return {ErrorCode::kTimeout, "redis store: no answer from " + where_ + " within " +
                                       std::to_string(options_.command_timeout.count()) + " ms"};
    }
    return {ErrorCode::kUnavailable,
            "redis store: connection to " + where_ + " lost: " + std::string(context_->errstr)};
  }

  // Gives up the connection: what is still queued fails now (kUnavailable, or kCancelled
  // when stopping) rather than waiting for a reconnection that may take seconds.
  void drop(const Error& why) {
    connections_lost_.fetch_add(1, std::memory_order_relaxed);
    close_context();
    // Discard the SIGPIPE a write to the closed socket may have left pending.
    sigset_t sigpipe;
    sigemptyset(&sigpipe);
    sigaddset(&sigpipe, SIGPIPE);
    const timespec no_wait{};
    while (sigtimedwait(&sigpipe, nullptr, &no_wait) > 0) {
    }
    std::deque<Command> stranded;
    bool stopping_now = false;
    {
      const std::lock_guard lock(mutex_);
      connected_ = false;
      available_.store(false, std::memory_order_release);
      stranded.swap(queue_);
      queued_bytes_ = 0;
      stopping_now = stopping_;
    }
    if (!stopping_now) spdlog::warn("Redis store: {}; reconnecting", why.message);
    const Error error = stopping_now ? Error{ErrorCode::kCancelled, "redis store: shutting down"}
                                     : Error{ErrorCode::kUnavailable,
                                             "redis store: connection to " + where_ + " lost"};
    for (auto& command : stranded) fail(command, error);
  }

  void health_check() {
    ReplyPtr reply = handshake_command({"PING"});
    if (!reply) return drop(connection_error(errno));
    if (reply->type == REDIS_REPLY_ERROR) {
      drop(Error{ErrorCode::kUnavailable, "PING refused by " + where_ + ": " +
                                              std::string(reply_text(*reply).substr(0, 200))});
    }
  }

  // Sends the batch as one pipeline, then reads the replies in order.
  void execute(std::vector<Command>& batch) {
    const auto now = Clock::now();
    std::vector<Command*> sent;
    sent.reserve(batch.size());
    std::vector<const char*> argv;
    std::vector<std::size_t> lengths;
    for (auto& command : batch) {
      if (now - command.queued_at >= options_.command_timeout) {
        fail(command,
             Error{ErrorCode::kTimeout, "redis store: waited over " +
                                            std::to_string(options_.command_timeout.count()) +
                                            " ms for the connection"});
        continue;
      }
      argv.clear();
      lengths.clear();
      for (const auto& arg : command.args) {
        argv.push_back(arg.data());
        lengths.push_back(arg.size());
      }
      if (redisAppendCommandArgv(context_, static_cast<int>(argv.size()), argv.data(),
                                 lengths.data()) != REDIS_OK) {
        fail(command, Error{ErrorCode::kInternal, "redis store: out of memory"});
        continue;
      }
      // hiredis has copied the arguments into its output buffer.
      command.args = {};
      sent.push_back(&command);
    }
    for (std::size_t i = 0; i < sent.size(); ++i) {
      void* raw = nullptr;
      if (redisGetReply(context_, &raw) != REDIS_OK) {
        const Error error = connection_error(errno);
        for (std::size_t j = i; j < sent.size(); ++j) fail(*sent[j], error);
        return drop(error);
      }
      const ReplyPtr reply(static_cast<redisReply*>(raw));
      sent[i]->finish(reply.get(), Error{});
    }
  }

  const RedisStoreOptions options_;
  const RedisEndpoint endpoint_;
  const std::string where_;  // endpoint_.describe(): for messages, never with the password

  mutable std::mutex mutex_;  // guards the fields below it up to available_
  std::condition_variable wake_;
  std::deque<Command> queue_;
  std::size_t queued_bytes_ = 0;
  bool connected_ = false;
  bool stopping_ = false;
  std::atomic<bool> available_{false};  // connected_, readable without the mutex
  std::atomic<std::uint64_t> unavailable_{0};
  std::atomic<std::uint64_t> queue_full_{0};
  std::atomic<std::uint64_t> timeouts_{0};
  std::atomic<std::uint64_t> connections_lost_{0};

  std::mutex fd_mutex_;  // lets the destructor shut the socket down under the thread
  int fd_ = -1;
  redisContext* context_ = nullptr;  // the connection thread's; written under fd_mutex_

  std::thread thread_;  // last: starts after everything it uses exists
};

}  // namespace

util::Result<std::unique_ptr<SessionStore>> make_redis_store(RedisStoreOptions options) {
  auto endpoint = parse_redis_url(options.url);
  if (!endpoint) return endpoint.error();
  const auto positive = [](std::chrono::milliseconds ms) { return ms.count() > 0; };
  if (!positive(options.connect_timeout) || !positive(options.command_timeout) ||
      !positive(options.reconnect_min) || options.reconnect_max < options.reconnect_min ||
      !positive(options.health_check_interval) || options.max_queued_commands == 0 ||
      options.max_queued_bytes == 0) {
    return Error{ErrorCode::kInvalidInput,
                 "redis store: timeouts and intervals must be positive, reconnect_max >= "
                 "reconnect_min, and the queue bounds at least 1"};
  }
  return std::unique_ptr<SessionStore>(
      std::make_unique<RedisStore>(std::move(options), std::move(*endpoint)));
}

}  // namespace voxgate::store
