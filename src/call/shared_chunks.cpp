#include "call/shared_chunks.hpp"

#include <algorithm>

#include <boost/json.hpp>
#include <spdlog/spdlog.h>

#include "call/shared_calls.hpp"
#include "util/log.hpp"

namespace voxgate::call {

namespace json = boost::json;

namespace {

constexpr std::string_view kBytesField = "bytes";

std::string chunks_key(std::string_view call_sid) { return "chunks:" + std::string(call_sid); }
std::string bytes_key(std::string_view call_sid) { return "chunk_bytes:" + std::string(call_sid); }
std::string turns_key(std::string_view call_sid) { return "chunk_turns:" + std::string(call_sid); }

}  // namespace

std::string encode_turn(const agent::Turn& turn) {
  return json::serialize(
      json::object{{"caller", turn.caller}, {"agent", turn.agent}, {"heard", turn.heard}});
}

std::optional<agent::Turn> decode_turn(std::string_view text) {
  boost::system::error_code ec;
  const json::value value = json::parse(text, ec);
  const json::object* object = value.if_object();
  if (ec || object == nullptr) return std::nullopt;
  agent::Turn turn;
  for (const auto& [name, field] :
       {std::pair{"caller", &turn.caller}, {"agent", &turn.agent}, {"heard", &turn.heard}}) {
    const json::value* v = object->if_contains(name);
    if (v == nullptr || !v->is_string()) return std::nullopt;
    *field = std::string(v->as_string());
  }
  return turn;
}

SharedChunks::SharedChunks(store::SessionStore& store, observe::Registry& metrics,
                           SharedChunksOptions options)
    : store_(store), options_(std::move(options)), errors_total_(shared_state_errors(metrics)) {}

std::vector<std::string> SharedChunks::keys_of(std::string_view call_sid) {
  return {chunks_key(call_sid), bytes_key(call_sid), turns_key(call_sid)};
}

void SharedChunks::append(std::string call_sid, std::vector<std::uint8_t> mulaw,
                          boost::asio::any_io_executor executor,
                          std::function<void(Appended)> done) {
  const std::size_t n = mulaw.size();
  const std::string counter = bytes_key(call_sid);
  store_.increment_field(
      counter, kBytesField, static_cast<std::int64_t>(n), options_.ttl, executor,
      [this, sid = std::move(call_sid), mulaw = std::move(mulaw), executor, n,
       done = std::move(done)](util::Result<std::int64_t> reserved) mutable {
        if (!reserved.ok()) {
          count_error("append_chunk", sid, reserved.error());
          return done({Refusal::kUnavailable, {}});
        }
        // The call's pending bytes with this chunk; a count below the chunk's own size means
        // the counter expired apart from the list, and the chunk is judged by itself.
        const auto pending = static_cast<std::size_t>(std::max(*reserved, std::int64_t{0}));
        const std::size_t total = std::max(pending, n);
        if (total > options_.max_bytes_per_call) {
          give_back(sid, n);
          return done({Refusal::kCallFull, {}});
        }
        const std::string list = chunks_key(sid);
        store_.append(
            list, std::string(mulaw.begin(), mulaw.end()), max_chunks_per_call(), options_.ttl,
            executor,
            [this, sid, n, total, done = std::move(done)](util::Result<std::size_t> length) {
              if (length.ok()) return done({Refusal::kNone, {*length, total}});
              give_back(sid, n);
              // With valid arguments, kInvalidInput is the list's bound (the contract).
              if (length.error().code == util::ErrorCode::kInvalidInput) {
                return done({Refusal::kCallFull, {}});
              }
              count_error("append_chunk", sid, length.error());
              done({Refusal::kUnavailable, {}});
            });
      });
}

void SharedChunks::take(std::string call_sid, boost::asio::any_io_executor executor,
                        std::function<void(Taken)> done) {
  const std::string list = chunks_key(call_sid);
  store_.take_range(list, std::move(executor),
                    [this, sid = std::move(call_sid), done = std::move(done)](
                        util::Result<std::vector<std::string>> items) {
                      Taken taken;
                      if (!items.ok()) {
                        count_error("take_chunks", sid, items.error());
                        taken.unavailable = true;
                        return done(std::move(taken));
                      }
                      std::size_t bytes = 0;
                      for (const std::string& item : *items) bytes += item.size();
                      taken.mulaw.reserve(bytes);
                      for (const std::string& item : *items) {
                        taken.mulaw.insert(taken.mulaw.end(), item.begin(), item.end());
                      }
                      taken.chunks = items->size();
                      if (bytes > 0) give_back(sid, bytes);
                      done(std::move(taken));
                    });
}

void SharedChunks::history(std::string call_sid, boost::asio::any_io_executor executor,
                           std::function<void(History)> done) {
  const std::string list = turns_key(call_sid);
  store_.range(list, std::move(executor),
               [this, sid = std::move(call_sid), done = std::move(done)](
                   util::Result<std::vector<std::string>> items) {
                 History history;
                 if (!items.ok()) {
                   count_error("load_turns", sid, items.error());
                   history.unavailable = true;
                   return done(std::move(history));
                 }
                 for (const std::string& item : *items) {
                   if (auto turn = decode_turn(item)) {
                     history.turns.push_back(std::move(*turn));
                   } else {
                     count_error("load_turns", sid,
                                 {util::ErrorCode::kInternal, "a stored turn is not readable"});
                   }
                 }
                 done(std::move(history));
               });
}

void SharedChunks::add_turn(std::string call_sid, agent::Turn turn,
                            boost::asio::any_io_executor executor, std::function<void()> done) {
  const std::string list = turns_key(call_sid);
  store_.append(list, encode_turn(turn), options_.max_turns_per_call, options_.ttl,
                std::move(executor),
                [this, sid = std::move(call_sid), done = std::move(done)](
                    util::Result<std::size_t> stored) {
                  if (!stored.ok()) count_error("save_turn", sid, stored.error());
                  done();
                });
}

void SharedChunks::give_back(const std::string& call_sid, std::size_t bytes) {
  store_.increment_field(bytes_key(call_sid), kBytesField, -static_cast<std::int64_t>(bytes),
                         options_.ttl, options_.executor,
                         [this, call_sid](util::Result<std::int64_t> left) {
                           if (!left.ok()) count_error("append_chunk", call_sid, left.error());
                         });
}

void SharedChunks::count_error(std::string_view operation, const std::string& call_sid,
                               const util::Error& error) {
  log::CallScope scope(call_sid);
  errors_total_.with({operation}).inc();
  spdlog::warn("Chunk API shared state, {}: {}", operation, error.message);
}

}  // namespace voxgate::call
