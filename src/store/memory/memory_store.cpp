// The in-memory SessionStore (memory_store.hpp). Its answers follow Redis's wherever the
// contract leaves room (an increment parses a field the way Redis's string2ll does, `put`
// replaces any kind), so that a deployment moving from one worker to Redis sees the same
// behaviour.
#include "store/memory/memory_store.hpp"

#include <algorithm>
#include <atomic>
#include <deque>
#include <limits>
#include <map>
#include <mutex>
#include <string>
#include <utility>
#include <variant>

namespace voxgate::store {
namespace {

using Clock = std::chrono::steady_clock;
using util::Error;
using util::ErrorCode;
using util::Result;

using List = std::deque<std::string>;

struct Entry {
  std::variant<std::string, Fields, List> value;
  Clock::time_point expires_at;
  std::size_t bytes = 0;  // the key and everything it holds, for the memory bound
};

// Sweeping every key costs O(keys); doing it once per this many writes (or per as many
// writes as there are keys, when more) keeps it O(1) per write on average.
constexpr std::size_t kMinWritesPerSweep = 1024;

// Redis's string2ll: an optional '-', then "0" or digits without a leading zero, in range.
std::optional<std::int64_t> parse_redis_integer(std::string_view text) {
  if (text.empty() || text.size() > 20) return std::nullopt;
  if (text == "0") return 0;
  const bool negative = text.front() == '-';
  std::string_view digits = negative ? text.substr(1) : text;
  if (digits.empty() || digits.front() < '1' || digits.front() > '9') return std::nullopt;
  std::uint64_t magnitude = 0;
  for (const char c : digits) {
    if (c < '0' || c > '9') return std::nullopt;
    const std::uint64_t digit = static_cast<std::uint64_t>(c - '0');
    if (magnitude > (std::numeric_limits<std::uint64_t>::max() - digit) / 10) return std::nullopt;
    magnitude = magnitude * 10 + digit;
  }
  constexpr auto kMax = static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max());
  if (negative) {
    if (magnitude > kMax + 1) return std::nullopt;
    return magnitude == kMax + 1 ? std::numeric_limits<std::int64_t>::min()
                                 : -static_cast<std::int64_t>(magnitude);
  }
  if (magnitude > kMax) return std::nullopt;
  return static_cast<std::int64_t>(magnitude);
}

class MemoryStore final : public SessionStore {
 public:
  explicit MemoryStore(MemoryStoreOptions options) : options_(std::move(options)) {}

  std::string_view name() const override { return "memory"; }
  bool available() const override { return true; }
  StoreStats stats() const override {
    return {.unavailable = unavailable_.load(std::memory_order_relaxed)};
  }

  void put(std::string_view key, std::string value, std::chrono::milliseconds ttl,
           Executor executor, Callback<Done> done) override {
    post_result<Done>(executor, std::move(done), do_put(key, std::move(value), ttl));
  }

  void get(std::string_view key, Executor executor,
           Callback<std::optional<std::string>> done) override {
    post_result<std::optional<std::string>>(executor, std::move(done), do_get(key, false));
  }

  void take(std::string_view key, Executor executor,
            Callback<std::optional<std::string>> done) override {
    post_result<std::optional<std::string>>(executor, std::move(done), do_get(key, true));
  }

  void put_if_absent(std::string_view key, std::string value, std::chrono::milliseconds ttl,
                     Executor executor, Callback<bool> done) override {
    post_result<bool>(executor, std::move(done), do_put_if_absent(key, std::move(value), ttl));
  }

  void set_fields(std::string_view key, Fields fields, std::chrono::milliseconds ttl,
                  Executor executor, Callback<Done> done) override {
    post_result<Done>(executor, std::move(done), do_set_fields(key, std::move(fields), ttl));
  }

  void get_fields(std::string_view key, Executor executor, Callback<Fields> done) override {
    post_result<Fields>(executor, std::move(done), do_get_fields(key));
  }

  void increment_field(std::string_view key, std::string_view field, std::int64_t by,
                       std::chrono::milliseconds ttl, Executor executor,
                       Callback<std::int64_t> done) override {
    post_result<std::int64_t>(executor, std::move(done), do_increment(key, field, by, ttl));
  }

  void append(std::string_view key, std::string value, std::size_t max_items,
              std::chrono::milliseconds ttl, Executor executor,
              Callback<std::size_t> done) override {
    post_result<std::size_t>(executor, std::move(done),
                          do_append(key, std::move(value), max_items, ttl));
  }

  void range(std::string_view key, Executor executor,
             Callback<std::vector<std::string>> done) override {
    post_result<std::vector<std::string>>(executor, std::move(done), do_range(key, false));
  }

  void take_range(std::string_view key, Executor executor,
                  Callback<std::vector<std::string>> done) override {
    post_result<std::vector<std::string>>(executor, std::move(done), do_range(key, true));
  }

  void remove(std::vector<std::string> keys, Executor executor,
              Callback<std::size_t> done) override {
    post_result<std::size_t>(executor, std::move(done), do_remove(keys));
  }

 private:
  using Map = std::map<std::string, Entry, std::less<>>;

  Clock::time_point now() const { return options_.now ? options_.now() : Clock::now(); }

  // The live entry under `key`, or nullptr; an expired one is dropped on the way.
  Entry* find(std::string_view key, Clock::time_point now) {
    const auto it = entries_.find(key);
    if (it == entries_.end()) return nullptr;
    if (it->second.expires_at <= now) {
      erase(it);
      return nullptr;
    }
    return &it->second;
  }

  void erase(Map::iterator it) {
    bytes_ -= it->second.bytes;
    entries_.erase(it);
  }

  void sweep(Clock::time_point now) {
    for (auto it = entries_.begin(); it != entries_.end();) {
      if (it->second.expires_at <= now) {
        bytes_ -= it->second.bytes;
        it = entries_.erase(it);
      } else {
        ++it;
      }
    }
    writes_since_sweep_ = 0;
  }

  // Makes room for `more` bytes, or says why it cannot. Never drops a live entry, so
  // pointers to live entries stay valid.
  std::optional<Error> reserve(std::size_t more, Clock::time_point now) {
    if (bytes_ + more <= options_.max_bytes) return std::nullopt;
    sweep(now);
    if (bytes_ + more <= options_.max_bytes) return std::nullopt;
    unavailable_.fetch_add(1, std::memory_order_relaxed);
    return Error{ErrorCode::kUnavailable,
                 "memory store full (" + std::to_string(options_.max_bytes) + " bytes)"};
  }

  void wrote(Clock::time_point now) {
    if (++writes_since_sweep_ >= std::max(kMinWritesPerSweep, entries_.size())) sweep(now);
  }

  Result<Done> do_put(std::string_view key, std::string value, std::chrono::milliseconds ttl) {
    if (auto e = check_key("put", key)) return *e;
    if (auto e = check_ttl("put", ttl)) return *e;
    if (auto e = check_value("put", value)) return *e;
    const std::lock_guard lock(mutex_);
    const auto t = now();
    Entry* existing = find(key, t);
    const std::size_t bytes = key.size() + value.size();
    const std::size_t old_bytes = existing ? existing->bytes : 0;
    if (bytes > old_bytes) {
      if (auto e = reserve(bytes - old_bytes, t)) return *e;
    }
    Entry& entry = existing ? *existing : entries_[std::string(key)];
    bytes_ = bytes_ - old_bytes + bytes;
    entry.value = std::move(value);
    entry.expires_at = t + ttl;
    entry.bytes = bytes;
    wrote(t);
    return Done{};
  }

  Result<std::optional<std::string>> do_get(std::string_view key, bool remove) {
    const char* operation = remove ? "take" : "get";
    if (auto e = check_key(operation, key)) return *e;
    const std::lock_guard lock(mutex_);
    const auto t = now();
    Entry* entry = find(key, t);
    if (!entry) return std::optional<std::string>();
    auto* value = std::get_if<std::string>(&entry->value);
    if (!value) return wrong_kind(operation);
    if (!remove) return std::optional<std::string>(*value);
    std::optional<std::string> out(std::move(*value));
    erase(entries_.find(key));
    return out;
  }

  Result<bool> do_put_if_absent(std::string_view key, std::string value,
                                std::chrono::milliseconds ttl) {
    if (auto e = check_key("put_if_absent", key)) return *e;
    if (auto e = check_ttl("put_if_absent", ttl)) return *e;
    if (auto e = check_value("put_if_absent", value)) return *e;
    const std::lock_guard lock(mutex_);
    const auto t = now();
    if (find(key, t)) return false;
    const std::size_t bytes = key.size() + value.size();
    if (auto e = reserve(bytes, t)) return *e;
    Entry& entry = entries_[std::string(key)];
    entry.value = std::move(value);
    entry.expires_at = t + ttl;
    entry.bytes = bytes;
    bytes_ += bytes;
    wrote(t);
    return true;
  }

  Result<Done> do_set_fields(std::string_view key, Fields fields, std::chrono::milliseconds ttl) {
    if (auto e = check_key("set_fields", key)) return *e;
    if (auto e = check_ttl("set_fields", ttl)) return *e;
    if (fields.empty()) return Error{ErrorCode::kInvalidInput, "set_fields: no fields"};
    for (const auto& [field, value] : fields) {
      if (auto e = check_value("set_fields", field)) return *e;
      if (auto e = check_value("set_fields", value)) return *e;
    }
    const std::lock_guard lock(mutex_);
    const auto t = now();
    Entry* entry = find(key, t);
    if (entry && !std::holds_alternative<Fields>(entry->value)) return wrong_kind("set_fields");
    // Bytes after the update, against before: only growth needs room.
    std::size_t old_bytes = entry ? entry->bytes : 0;
    std::size_t new_bytes = entry ? entry->bytes : key.size();
    for (const auto& [field, value] : fields) {
      const Fields* held = entry ? &std::get<Fields>(entry->value) : nullptr;
      const auto it = held ? held->find(field) : Fields::const_iterator();
      if (held && it != held->end()) {
        new_bytes = new_bytes - it->second.size() + value.size();
      } else {
        new_bytes += field.size() + value.size();
      }
    }
    if (new_bytes > old_bytes) {
      if (auto e = reserve(new_bytes - old_bytes, t)) return *e;
    }
    if (!entry) {
      entry = &entries_[std::string(key)];
      entry->value = Fields{};
    }
    auto& held = std::get<Fields>(entry->value);
    for (auto& [field, value] : fields) held[field] = std::move(value);
    bytes_ = bytes_ - old_bytes + new_bytes;
    entry->bytes = new_bytes;
    entry->expires_at = t + ttl;
    wrote(t);
    return Done{};
  }

  Result<Fields> do_get_fields(std::string_view key) {
    if (auto e = check_key("get_fields", key)) return *e;
    const std::lock_guard lock(mutex_);
    Entry* entry = find(key, now());
    if (!entry) return Fields{};
    const auto* fields = std::get_if<Fields>(&entry->value);
    if (!fields) return wrong_kind("get_fields");
    return *fields;
  }

  Result<std::int64_t> do_increment(std::string_view key, std::string_view field, std::int64_t by,
                                    std::chrono::milliseconds ttl) {
    if (auto e = check_key("increment_field", key)) return *e;
    if (auto e = check_ttl("increment_field", ttl)) return *e;
    if (auto e = check_value("increment_field", field)) return *e;
    const std::lock_guard lock(mutex_);
    const auto t = now();
    Entry* entry = find(key, t);
    if (entry && !std::holds_alternative<Fields>(entry->value)) {
      return wrong_kind("increment_field");
    }
    std::int64_t current = 0;
    std::size_t old_value_bytes = 0;
    bool field_exists = false;
    if (entry) {
      const auto& held = std::get<Fields>(entry->value);
      if (const auto it = held.find(field); it != held.end()) {
        const auto parsed = parse_redis_integer(it->second);
        if (!parsed) {
          return Error{ErrorCode::kInternal, "increment_field: the field is not an integer"};
        }
        current = *parsed;
        old_value_bytes = it->second.size();
        field_exists = true;
      }
    }
    std::int64_t updated = 0;
    if (__builtin_add_overflow(current, by, &updated)) {
      return Error{ErrorCode::kInvalidInput, "increment_field: the result would overflow"};
    }
    std::string text = std::to_string(updated);
    const std::size_t old_bytes = entry ? entry->bytes : 0;
    std::size_t new_bytes = entry ? entry->bytes : key.size();
    new_bytes = field_exists ? new_bytes - old_value_bytes + text.size()
                             : new_bytes + field.size() + text.size();
    if (new_bytes > old_bytes) {
      if (auto e = reserve(new_bytes - old_bytes, t)) return *e;
    }
    if (!entry) {
      entry = &entries_[std::string(key)];
      entry->value = Fields{};
    }
    std::get<Fields>(entry->value)[std::string(field)] = std::move(text);
    bytes_ = bytes_ - old_bytes + new_bytes;
    entry->bytes = new_bytes;
    entry->expires_at = t + ttl;
    wrote(t);
    return updated;
  }

  Result<std::size_t> do_append(std::string_view key, std::string value, std::size_t max_items,
                                std::chrono::milliseconds ttl) {
    if (auto e = check_key("append", key)) return *e;
    if (auto e = check_ttl("append", ttl)) return *e;
    if (auto e = check_value("append", value)) return *e;
    if (max_items == 0) return Error{ErrorCode::kInvalidInput, "append: max_items must be >= 1"};
    const std::lock_guard lock(mutex_);
    const auto t = now();
    Entry* entry = find(key, t);
    if (entry && !std::holds_alternative<List>(entry->value)) return wrong_kind("append");
    const std::size_t length = entry ? std::get<List>(entry->value).size() : 0;
    if (length >= max_items) {
      return Error{ErrorCode::kInvalidInput,
                   "append: list full (" + std::to_string(max_items) + " items)"};
    }
    const std::size_t more = value.size() + (entry ? 0 : key.size());
    if (auto e = reserve(more, t)) return *e;
    if (!entry) {
      entry = &entries_[std::string(key)];
      entry->value = List{};
      entry->bytes = key.size();
    }
    auto& list = std::get<List>(entry->value);
    list.push_back(std::move(value));
    entry->bytes += list.back().size();
    bytes_ += more;
    entry->expires_at = t + ttl;
    wrote(t);
    return list.size();
  }

  Result<std::vector<std::string>> do_range(std::string_view key, bool remove) {
    const char* operation = remove ? "take_range" : "range";
    if (auto e = check_key(operation, key)) return *e;
    const std::lock_guard lock(mutex_);
    Entry* entry = find(key, now());
    if (!entry) return std::vector<std::string>();
    auto* list = std::get_if<List>(&entry->value);
    if (!list) return wrong_kind(operation);
    if (!remove) return std::vector<std::string>(list->begin(), list->end());
    std::vector<std::string> items(std::make_move_iterator(list->begin()),
                                   std::make_move_iterator(list->end()));
    erase(entries_.find(key));
    return items;
  }

  Result<std::size_t> do_remove(const std::vector<std::string>& keys) {
    for (const auto& key : keys) {
      if (auto e = check_key("remove", key)) return *e;
    }
    const std::lock_guard lock(mutex_);
    const auto t = now();
    std::size_t removed = 0;
    for (const auto& key : keys) {
      if (find(key, t)) {
        erase(entries_.find(key));
        ++removed;
      }
    }
    return removed;
  }

  const MemoryStoreOptions options_;
  std::mutex mutex_;
  Map entries_;
  std::size_t bytes_ = 0;
  std::size_t writes_since_sweep_ = 0;
  std::atomic<std::uint64_t> unavailable_{0};
};

}  // namespace

std::unique_ptr<SessionStore> make_memory_store(MemoryStoreOptions options) {
  return std::make_unique<MemoryStore>(std::move(options));
}

}  // namespace voxgate::store
