#include "call/shared_calls.hpp"

#include <boost/asio/post.hpp>
#include <boost/json.hpp>
#include <spdlog/spdlog.h>

#include "call/shared_chunks.hpp"
#include "util/log.hpp"

namespace voxgate::call {

namespace json = boost::json;

namespace {

std::int64_t to_ms(TimePoint at) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(at.time_since_epoch()).count();
}
TimePoint from_ms(std::int64_t ms) { return TimePoint(std::chrono::milliseconds(ms)); }

std::string call_key(std::string_view call_sid) { return "call:" + std::string(call_sid); }
std::string audio_key(std::string_view id) { return "audio:" + std::string(id); }

std::optional<CallMode> mode_of(std::string_view name) {
  for (const CallMode mode : {CallMode::kRecording, CallMode::kStreaming, CallMode::kHybrid}) {
    if (to_string(mode) == name) return mode;
  }
  return std::nullopt;
}

}  // namespace

std::string encode_call_record(const CallRecord& record) {
  json::array turns;
  for (const TurnRecord& turn : record.turns) {
    turns.push_back(json::object{{"caller", turn.caller}, {"agent", turn.agent}, {"heard", turn.heard}});
  }
  json::array dtmf;
  for (const DtmfEvent& event : record.dtmf) {
    dtmf.push_back(json::object{{"digit", event.digit}, {"at_ms", to_ms(event.at)}});
  }
  json::object out{{"v", 1},
                   {"call_sid", record.call_sid},
                   {"account_sid", record.account_sid},
                   {"from", record.from},
                   {"to", record.to},
                   {"mode", to_string(record.mode)},
                   {"status", record.status},
                   {"started_at_ms", to_ms(record.started_at)},
                   {"updated_at_ms", to_ms(record.updated_at)},
                   {"stream_sid", record.stream_sid},
                   {"dtmf", std::move(dtmf)},
                   {"turns", std::move(turns)},
                   {"end_action", record.end_action},
                   {"stream_error", record.stream_error},
                   {"unheard_turns", record.unheard_turns}};
  if (record.pending_reply_audio) out["pending_reply_audio"] = *record.pending_reply_audio;
  return json::serialize(out);
}

std::optional<CallRecord> decode_call_record(std::string_view text) {
  boost::system::error_code ec;
  const json::value value = json::parse(text, ec);
  const json::object* object = value.if_object();
  if (ec || object == nullptr) return std::nullopt;
  // Every field is checked for its type: a record another version wrote, or a key someone
  // else set, is refused as a whole rather than half read.
  const auto string_of = [&](const json::object& o, std::string_view name) -> const json::string* {
    const json::value* v = o.if_contains(name);
    return v == nullptr ? nullptr : v->if_string();
  };
  const auto int_of = [&](const json::object& o, std::string_view name) -> std::optional<std::int64_t> {
    const json::value* v = o.if_contains(name);
    if (v == nullptr || !v->is_int64()) return std::nullopt;
    return v->as_int64();
  };
  if (int_of(*object, "v") != 1) return std::nullopt;
  CallRecord record;
  for (const auto& [name, field] :
       {std::pair{"call_sid", &record.call_sid}, {"account_sid", &record.account_sid},
        {"from", &record.from}, {"to", &record.to}, {"status", &record.status},
        {"stream_sid", &record.stream_sid}, {"end_action", &record.end_action},
        {"stream_error", &record.stream_error}}) {
    const json::string* s = string_of(*object, name);
    if (s == nullptr) return std::nullopt;
    *field = std::string(*s);
  }
  const json::string* mode_name = string_of(*object, "mode");
  const auto mode = mode_name ? mode_of(*mode_name) : std::nullopt;
  const auto started = int_of(*object, "started_at_ms");
  const auto updated = int_of(*object, "updated_at_ms");
  const auto unheard = int_of(*object, "unheard_turns");
  if (!mode || !started || !updated || !unheard || record.call_sid.empty()) return std::nullopt;
  record.mode = *mode;
  record.started_at = from_ms(*started);
  record.updated_at = from_ms(*updated);
  record.unheard_turns = static_cast<int>(*unheard);
  const json::value* turns = object->if_contains("turns");
  const json::value* dtmf = object->if_contains("dtmf");
  if (turns == nullptr || !turns->is_array() || dtmf == nullptr || !dtmf->is_array()) {
    return std::nullopt;
  }
  for (const json::value& item : turns->as_array()) {
    const json::object* turn = item.if_object();
    if (turn == nullptr) return std::nullopt;
    const json::string *caller = string_of(*turn, "caller"), *agent = string_of(*turn, "agent"),
                       *heard = string_of(*turn, "heard");
    if (!caller || !agent || !heard) return std::nullopt;
    record.turns.push_back({std::string(*caller), std::string(*agent), std::string(*heard)});
  }
  for (const json::value& item : dtmf->as_array()) {
    const json::object* event = item.if_object();
    if (event == nullptr) return std::nullopt;
    const json::string* digit = string_of(*event, "digit");
    const auto at = int_of(*event, "at_ms");
    if (!digit || !at) return std::nullopt;
    record.dtmf.push_back({std::string(*digit), from_ms(*at)});
  }
  if (const json::value* pending = object->if_contains("pending_reply_audio")) {
    if (!pending->is_string()) return std::nullopt;
    record.pending_reply_audio = std::string(pending->as_string());
  }
  return record;
}

observe::Family<observe::Counter>& shared_state_errors(observe::Registry& metrics) {
  return metrics.counter("voxgate_shared_state_errors_total",
                         "Shared call state (SessionStore) operations that failed, by operation: "
                         "save, remove, load, save_audio, load_audio, append_chunk, take_chunks, "
                         "load_turns, save_turn.",
                         {"operation"});
}

SharedCalls::SharedCalls(store::SessionStore& store, CallHistory& history, AudioStore& audio,
                         observe::Registry& metrics, SharedCallsOptions options)
    : store_(store),
      history_(history),
      options_(std::move(options)),
      errors_total_(shared_state_errors(metrics)) {
  history_.set_observer([this](const CallRecord& record) { save(record); });
  audio.set_observer([this](const std::string& id, const std::vector<std::uint8_t>& mulaw) {
    save_audio(id, mulaw);
  });
}

void SharedCalls::save(const CallRecord& record) {
  if (record.ended()) {
    // Twilio sends nothing more about a finished call: its shared state goes now (the seed's
    // "delete after processing"), and this worker's history keeps it for /calls.
    std::vector<std::string> keys = SharedChunks::keys_of(record.call_sid);
    keys.push_back(call_key(record.call_sid));
    store_.remove(std::move(keys), options_.executor,
                  [this, sid = record.call_sid](util::Result<std::size_t> removed) {
                    if (removed.ok()) return;
                    log::CallScope scope(sid);
                    errors_total_.with({"remove"}).inc();
                    spdlog::warn("Could not remove the call's shared state: {}",
                                 removed.error().message);
                  });
    return;
  }
  store_.put(call_key(record.call_sid), encode_call_record(record), options_.call_ttl,
             options_.executor, [this, sid = record.call_sid](util::Result<store::Done> done) {
               if (done.ok()) return;
               log::CallScope scope(sid);
               errors_total_.with({"save"}).inc();
               spdlog::warn("Could not share the call's state: {}", done.error().message);
             });
}

void SharedCalls::save_audio(const std::string& id, const std::vector<std::uint8_t>& mulaw) {
  store_.put(audio_key(id), std::string(mulaw.begin(), mulaw.end()), options_.audio_ttl,
             options_.executor, [this](util::Result<store::Done> done) {
               if (done.ok()) return;
               errors_total_.with({"save_audio"}).inc();
               spdlog::warn("Could not share reply audio: {}", done.error().message);
             });
}

void SharedCalls::load(std::string call_sid, boost::asio::any_io_executor executor,
                       std::function<void(LoadResult)> done) {
  const std::string key = call_key(call_sid);
  store_.get(key, executor,
             [this, sid = std::move(call_sid), done = std::move(done)](
                 util::Result<std::optional<std::string>> got) {
               log::CallScope scope(sid);
               if (!got.ok()) {
                 errors_total_.with({"load"}).inc();
                 spdlog::warn("Could not load the call's shared state: {}", got.error().message);
                 return done(LoadResult::kUnavailable);
               }
               if (!*got) return done(LoadResult::kNotFound);
               auto record = decode_call_record(**got);
               if (!record || record->call_sid != sid) {
                 errors_total_.with({"load"}).inc();
                 spdlog::warn("The call's shared state is not a record this server can read");
                 return done(LoadResult::kUnavailable);
               }
               history_.restore(std::move(*record));
               done(LoadResult::kLoaded);
             });
}

void SharedCalls::load_audio(std::string id, boost::asio::any_io_executor executor,
                             std::function<void(std::optional<std::vector<std::uint8_t>>)> done) {
  store_.get(audio_key(id), std::move(executor),
             [this, done = std::move(done)](util::Result<std::optional<std::string>> got) {
               if (!got.ok()) {
                 errors_total_.with({"load_audio"}).inc();
                 spdlog::warn("Could not load shared reply audio: {}", got.error().message);
                 return done(std::nullopt);
               }
               if (!*got) return done(std::nullopt);
               done(std::vector<std::uint8_t>((*got)->begin(), (*got)->end()));
             });
}

}  // namespace voxgate::call
