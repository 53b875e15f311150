// Media Streams messages (twilio-protocol.md §1.2, §1.3) with Boost.JSON.
//
// Speed: a call sends ~50 media messages per second (§1.4), so parsing is on the per-frame path.
// The parser and a fixed arena are kept between messages: the DOM of a media message (~370
// bytes of JSON) fits in the arena, so building it allocates nothing; what remains is copying
// the strings into the result.
#include "twilio/media_stream.hpp"

#include <boost/json/monotonic_resource.hpp>
#include <boost/json/parser.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>
#include <charconv>
#include <climits>
#include <cstddef>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>

#include "util/base64.hpp"

namespace voxgate::twilio {
namespace json = boost::json;

namespace {

// Holds a media message's DOM (two small objects and four short strings plus the 216-character
// payload of a 20 ms frame) several times over; bigger messages spill to the heap.
constexpr std::size_t kArenaBytes = 4096;

constexpr std::string_view kExpectedUint = "expected a string of digits or a non-negative integer";

std::string_view as_view(json::string_view s) { return {s.data(), s.size()}; }

// Reads fields out of a parsed message, remembering the first error and counting unknown keys.
class Reader {
 public:
  std::string error;
  std::size_t unknown_fields = 0;

  bool fail(std::string_view field, std::string_view what) {
    error.reserve(field.size() + 2 + what.size());
    error.append(field).append(": ").append(what);
    return false;
  }

  bool read_string(const json::value& v, std::string_view field, std::string& out) {
    const json::string* s = v.if_string();
    if (s == nullptr) return fail(field, "expected a string");
    out.assign(s->data(), s->size());
    return true;
  }

  // §1.1: numeric-looking fields are JSON strings; integers are accepted as well.
  bool read_uint(const json::value& v, std::string_view field, std::uint64_t& out) {
    switch (v.kind()) {
      case json::kind::string: {
        const json::string& s = v.get_string();
        if (s.empty()) return fail(field, kExpectedUint);
        for (char c : s) {
          if (c < '0' || c > '9') return fail(field, kExpectedUint);
        }
        const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
        if (ec == std::errc::result_out_of_range) return fail(field, "out of range");
        if (ec != std::errc() || end != s.data() + s.size()) return fail(field, kExpectedUint);
        return true;
      }
      case json::kind::uint64:
        out = v.get_uint64();
        return true;
      case json::kind::int64:
        if (v.get_int64() < 0) return fail(field, kExpectedUint);
        out = static_cast<std::uint64_t>(v.get_int64());
        return true;
      default:  // doubles (fractions, exponents, integers beyond UINT64_MAX), bool, null, ...
        return fail(field, kExpectedUint);
    }
  }

  bool read_int(const json::value& v, std::string_view field, int& out) {
    std::uint64_t n = 0;
    if (!read_uint(v, field, n)) return false;
    if (n > static_cast<std::uint64_t>(INT_MAX)) return fail(field, "out of range");
    out = static_cast<int>(n);
    return true;
  }

  const json::object* read_object(const json::value& v, std::string_view field) {
    const json::object* o = v.if_object();
    if (o == nullptr) fail(field, "expected an object");
    return o;
  }
};

// Fields shared by every message after `connected` (§1.1), plus the event's own object.
struct Envelope {
  std::optional<std::uint64_t> sequence_number;
  std::string stream_sid;
  const json::value* body = nullptr;  // the value under the event's name, if present
};

bool read_envelope(Reader& r, const json::object& top, std::string_view event, Envelope& env) {
  for (const auto& kv : top) {
    const std::string_view key = as_view(kv.key());
    if (key == "event") continue;
    if (key == "sequenceNumber") {
      std::uint64_t n = 0;
      if (!r.read_uint(kv.value(), "sequenceNumber", n)) return false;
      env.sequence_number = n;
    } else if (key == "streamSid") {
      if (!r.read_string(kv.value(), "streamSid", env.stream_sid)) return false;
    } else if (key == event) {
      env.body = &kv.value();
    } else {
      ++r.unknown_fields;
    }
  }
  return true;
}

// The event's object: required for start, media, dtmf and mark (their required fields live in
// it), optional for stop.
const json::object* read_body(Reader& r, const Envelope& env, std::string_view event,
                              bool required) {
  static const json::object kEmpty;
  if (env.body == nullptr) {
    if (required) {
      r.fail(event, "missing");
      return nullptr;
    }
    return &kEmpty;
  }
  return r.read_object(*env.body, event);
}

std::optional<InboundMessage> parse_connected(Reader& r, const json::object& top) {
  ConnectedMessage m;
  for (const auto& kv : top) {
    const std::string_view key = as_view(kv.key());
    if (key == "event") continue;
    if (key == "protocol") {
      if (!r.read_string(kv.value(), "protocol", m.protocol)) return std::nullopt;
    } else if (key == "version") {
      if (!r.read_string(kv.value(), "version", m.version)) return std::nullopt;
    } else {
      ++r.unknown_fields;  // includes streamSid and sequenceNumber, which §1.1 says it lacks
    }
  }
  return m;
}

bool parse_media_format(Reader& r, const json::value& v, MediaFormat& f) {
  const json::object* o = r.read_object(v, "start.mediaFormat");
  if (o == nullptr) return false;
  for (const auto& kv : *o) {
    const std::string_view key = as_view(kv.key());
    if (key == "encoding") {
      if (!r.read_string(kv.value(), "start.mediaFormat.encoding", f.encoding)) return false;
    } else if (key == "sampleRate") {
      if (!r.read_int(kv.value(), "start.mediaFormat.sampleRate", f.sample_rate_hz)) return false;
    } else if (key == "channels") {
      if (!r.read_int(kv.value(), "start.mediaFormat.channels", f.channels)) return false;
    } else {
      ++r.unknown_fields;
    }
  }
  return true;
}

std::optional<InboundMessage> parse_start(Reader& r, const json::object& top) {
  Envelope env;
  if (!read_envelope(r, top, "start", env)) return std::nullopt;
  const json::object* body = read_body(r, env, "start", true);
  if (body == nullptr) return std::nullopt;
  StartMessage m;
  m.sequence_number = env.sequence_number;
  bool has_stream_sid = false;
  bool has_call_sid = false;
  for (const auto& kv : *body) {
    const std::string_view key = as_view(kv.key());
    const json::value& v = kv.value();
    if (key == "streamSid") {
      if (!r.read_string(v, "start.streamSid", m.stream_sid)) return std::nullopt;
      has_stream_sid = true;
    } else if (key == "callSid") {
      if (!r.read_string(v, "start.callSid", m.call_sid)) return std::nullopt;
      has_call_sid = true;
    } else if (key == "accountSid") {
      if (!r.read_string(v, "start.accountSid", m.account_sid)) return std::nullopt;
    } else if (key == "tracks") {
      const json::array* tracks = v.if_array();
      if (tracks == nullptr) return r.fail("start.tracks", "expected an array"), std::nullopt;
      m.tracks.reserve(tracks->size());
      for (const json::value& t : *tracks) {
        const json::string* track = t.if_string();
        if (track == nullptr) {
          return r.fail("start.tracks", "expected an array of strings"), std::nullopt;
        }
        m.tracks.emplace_back(track->data(), track->size());
      }
    } else if (key == "mediaFormat") {
      if (!parse_media_format(r, v, m.media_format)) return std::nullopt;
    } else if (key == "customParameters") {
      const json::object* params = r.read_object(v, "start.customParameters");
      if (params == nullptr) return std::nullopt;
      for (const auto& p : *params) {
        const json::string* value = p.value().if_string();
        // The key is caller-controlled text, so the error does not quote it.
        if (value == nullptr) {
          return r.fail("start.customParameters", "values must be strings"), std::nullopt;
        }
        m.custom_parameters.insert_or_assign(std::string(as_view(p.key())),
                                             std::string(value->data(), value->size()));
      }
    } else {
      ++r.unknown_fields;
    }
  }
  if (!has_stream_sid) return r.fail("start.streamSid", "missing"), std::nullopt;
  if (!has_call_sid) return r.fail("start.callSid", "missing"), std::nullopt;
  return m;
}

std::optional<InboundMessage> parse_media(Reader& r, const json::object& top) {
  Envelope env;
  if (!read_envelope(r, top, "media", env)) return std::nullopt;
  const json::object* body = read_body(r, env, "media", true);
  if (body == nullptr) return std::nullopt;
  MediaMessage m;
  m.sequence_number = env.sequence_number;
  m.stream_sid = std::move(env.stream_sid);
  bool has_payload = false;
  for (const auto& kv : *body) {
    const std::string_view key = as_view(kv.key());
    const json::value& v = kv.value();
    if (key == "payload") {
      if (!r.read_string(v, "media.payload", m.payload)) return std::nullopt;
      has_payload = true;
    } else if (key == "track") {
      if (!r.read_string(v, "media.track", m.track)) return std::nullopt;
    } else if (key == "chunk") {
      if (!r.read_uint(v, "media.chunk", m.chunk)) return std::nullopt;
    } else if (key == "timestamp") {
      if (!r.read_uint(v, "media.timestamp", m.timestamp_ms)) return std::nullopt;
    } else {
      ++r.unknown_fields;
    }
  }
  if (!has_payload) return r.fail("media.payload", "missing"), std::nullopt;
  return m;
}

bool is_dtmf_digit(std::string_view d) {
  return d.size() == 1 && std::string_view("0123456789*#ABCD").find(d[0]) != std::string_view::npos;
}

std::optional<InboundMessage> parse_dtmf(Reader& r, const json::object& top) {
  Envelope env;
  if (!read_envelope(r, top, "dtmf", env)) return std::nullopt;
  const json::object* body = read_body(r, env, "dtmf", true);
  if (body == nullptr) return std::nullopt;
  DtmfMessage m;
  m.sequence_number = env.sequence_number;
  m.stream_sid = std::move(env.stream_sid);
  bool has_digit = false;
  for (const auto& kv : *body) {
    const std::string_view key = as_view(kv.key());
    if (key == "digit") {
      if (!r.read_string(kv.value(), "dtmf.digit", m.digit)) return std::nullopt;
      if (!is_dtmf_digit(m.digit)) {
        return r.fail("dtmf.digit", "expected one of 0-9 * # A-D"), std::nullopt;
      }
      has_digit = true;
    } else if (key == "track") {
      if (!r.read_string(kv.value(), "dtmf.track", m.track)) return std::nullopt;
    } else {
      ++r.unknown_fields;
    }
  }
  if (!has_digit) return r.fail("dtmf.digit", "missing"), std::nullopt;
  return m;
}

std::optional<InboundMessage> parse_mark(Reader& r, const json::object& top) {
  Envelope env;
  if (!read_envelope(r, top, "mark", env)) return std::nullopt;
  const json::object* body = read_body(r, env, "mark", true);
  if (body == nullptr) return std::nullopt;
  MarkMessage m;
  m.sequence_number = env.sequence_number;
  m.stream_sid = std::move(env.stream_sid);
  bool has_name = false;
  for (const auto& kv : *body) {
    if (as_view(kv.key()) == "name") {
      if (!r.read_string(kv.value(), "mark.name", m.name)) return std::nullopt;
      has_name = true;
    } else {
      ++r.unknown_fields;
    }
  }
  if (!has_name) return r.fail("mark.name", "missing"), std::nullopt;
  return m;
}

std::optional<InboundMessage> parse_stop(Reader& r, const json::object& top) {
  Envelope env;
  if (!read_envelope(r, top, "stop", env)) return std::nullopt;
  const json::object* body = read_body(r, env, "stop", false);
  if (body == nullptr) return std::nullopt;
  StopMessage m;
  m.sequence_number = env.sequence_number;
  m.stream_sid = std::move(env.stream_sid);
  for (const auto& kv : *body) {
    const std::string_view key = as_view(kv.key());
    if (key == "accountSid") {
      if (!r.read_string(kv.value(), "stop.accountSid", m.account_sid)) return std::nullopt;
    } else if (key == "callSid") {
      if (!r.read_string(kv.value(), "stop.callSid", m.call_sid)) return std::nullopt;
    } else {
      ++r.unknown_fields;
    }
  }
  return m;
}

std::optional<InboundMessage> parse_message(Reader& r, const json::value& root) {
  const json::object* top = root.if_object();
  if (top == nullptr) return r.fail("top level", "expected a JSON object"), std::nullopt;
  const json::value* event_value = top->if_contains("event");
  if (event_value == nullptr) return r.fail("event", "missing"), std::nullopt;
  const json::string* event_string = event_value->if_string();
  if (event_string == nullptr) return r.fail("event", "expected a string"), std::nullopt;
  const std::string_view event = as_view(*event_string);
  if (event == "media") return parse_media(r, *top);  // ~all traffic: test it first
  if (event == "mark") return parse_mark(r, *top);
  if (event == "dtmf") return parse_dtmf(r, *top);
  if (event == "start") return parse_start(r, *top);
  if (event == "stop") return parse_stop(r, *top);
  if (event == "connected") return parse_connected(r, *top);
  return UnknownMessage{std::string(event)};
}

// A JSON string literal for `s`, quotes included, escaped by Boost.JSON.
std::string quoted(std::string_view s) { return json::serialize(json::string_view(s)); }

}  // namespace

struct InboundParser::Impl {
  // Declared before `parser`, so that the parser (which may hold values allocated from the
  // arena after a failed parse) is destroyed first.
  alignas(std::max_align_t) unsigned char arena_bytes[kArenaBytes];
  json::monotonic_resource arena{arena_bytes, sizeof arena_bytes};
  json::parser parser;
};

InboundParser::InboundParser() : impl_(std::make_unique<Impl>()) {}
InboundParser::~InboundParser() = default;
InboundParser::InboundParser(InboundParser&&) noexcept = default;
InboundParser& InboundParser::operator=(InboundParser&&) noexcept = default;

ParseResult InboundParser::parse(std::string_view text) {
  ParseResult result;
  Impl& impl = *impl_;
  // reset() destroys whatever a previous failed parse left in the parser; only then is the
  // arena free to be rewound.
  impl.parser.reset(json::storage_ptr());
  impl.arena.release();
  impl.parser.reset(json::storage_ptr(&impl.arena));

  json::error_code ec;
  impl.parser.write(text.data(), text.size(), ec);
  if (ec) {
    result.error = "malformed JSON: " + ec.message();
    return result;
  }
  const json::value root = impl.parser.release();
  Reader reader;
  result.message = parse_message(reader, root);
  result.unknown_fields = reader.unknown_fields;
  if (!result.message) result.error = std::move(reader.error);
  return result;
}

std::string media_message(std::string_view stream_sid, std::span<const std::uint8_t> mulaw) {
  const std::string sid = quoted(stream_sid);
  const std::string payload = util::base64_encode(mulaw);  // base64 never needs escaping
  constexpr std::string_view kHead = R"({"event":"media","streamSid":)";
  constexpr std::string_view kMiddle = R"(,"media":{"payload":")";
  constexpr std::string_view kTail = R"("}})";
  std::string out;
  out.reserve(kHead.size() + sid.size() + kMiddle.size() + payload.size() + kTail.size());
  out.append(kHead).append(sid).append(kMiddle).append(payload).append(kTail);
  return out;
}

std::string mark_message(std::string_view stream_sid, std::string_view name) {
  const std::string sid = quoted(stream_sid);
  const std::string quoted_name = quoted(name);
  constexpr std::string_view kHead = R"({"event":"mark","streamSid":)";
  constexpr std::string_view kMiddle = R"(,"mark":{"name":)";
  constexpr std::string_view kTail = R"(}})";
  std::string out;
  out.reserve(kHead.size() + sid.size() + kMiddle.size() + quoted_name.size() + kTail.size());
  out.append(kHead).append(sid).append(kMiddle).append(quoted_name).append(kTail);
  return out;
}

std::string clear_message(std::string_view stream_sid) {
  const std::string sid = quoted(stream_sid);
  constexpr std::string_view kHead = R"({"event":"clear","streamSid":)";
  std::string out;
  out.reserve(kHead.size() + sid.size() + 1);
  out.append(kHead).append(sid).append("}");
  return out;
}

}  // namespace voxgate::twilio
