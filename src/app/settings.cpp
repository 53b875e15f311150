// Loading, validating and printing voxgate's settings. Every value passes through one setter
// per key whatever layer it comes from (file, environment, flag), so a rule is written once
// and an error can always say where the bad value came from. The file is walked against an
// explicit schema rather than queried key by key: that is what lets a typo like 'server.hots'
// be an error instead of a silently ignored line.
#include "app/settings.hpp"

#include <toml++/toml.h>

#include <algorithm>
#include <boost/url/parse.hpp>
#include <boost/url/scheme.hpp>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <limits>
#include <span>
#include <sstream>
#include <utility>

namespace voxgate::app {

std::string Settings::effective_stream_secret() const {
  if (!server.stream_secret.empty()) return server.stream_secret;
  return twilio.auth_token;
}

EnvLookup process_environment() {
  return [](std::string_view name) -> std::optional<std::string> {
    const char* value = std::getenv(std::string(name).c_str());
    if (value == nullptr) return std::nullopt;
    return std::string(value);
  };
}

namespace {

constexpr std::int64_t kIntMax = std::numeric_limits<int>::max();
constexpr std::string_view kMask = "***";

constexpr std::string_view kLogLevels[] = {"trace", "debug",    "info", "warn",
                                           "error", "critical", "off"};
constexpr std::string_view kLogFormats[] = {"text", "json"};
constexpr std::string_view kCallModes[] = {"streaming", "hybrid"};
constexpr std::string_view kSttEngines[] = {"pocketsphinx", "openai"};
constexpr std::string_view kTtsEngines[] = {"flite", "espeak", "openai"};
constexpr std::string_view kAgentEngines[] = {"scripted", "echo", "webhook", "openai"};
constexpr std::string_view kRedisSchemes[] = {"redis://", "rediss://", "unix://"};

// One value on its way into Settings: its key in the contract and where it came from.
struct Field {
  std::string key;     // "server.port"
  std::string origin;  // "voxgate.toml, line 2" | "environment TWILIO_AUTH_TOKEN" | "flag --port"
};

[[noreturn]] void fail(const Field& field, std::string_view problem) {
  throw SettingsError(field.key + ": " + std::string(problem) + " [" + field.origin + "]");
}

std::string quoted(std::string_view value) {
  std::string out;
  out.reserve(value.size() + 2);
  out.append(1, '"').append(value).append(1, '"');
  return out;
}

std::int64_t check_range(const Field& field, std::int64_t value, std::int64_t lo, std::int64_t hi) {
  if (value < lo || value > hi) {
    fail(field, "must be between " + std::to_string(lo) + " and " + std::to_string(hi) + " (got " +
                    std::to_string(value) + ")");
  }
  return value;
}

int check_int(const Field& field, std::int64_t value, std::int64_t lo, std::int64_t hi) {
  return static_cast<int>(check_range(field, value, lo, hi));
}

std::string join(std::span<const std::string_view> words) {
  std::string out;
  for (std::string_view word : words) {
    if (!out.empty()) out += ", ";
    out += word;
  }
  return out;
}

std::string check_one_of(const Field& field, std::string value,
                         std::span<const std::string_view> choices) {
  if (std::find(choices.begin(), choices.end(), value) == choices.end()) {
    fail(field, "must be one of " + join(choices) + " (got " + quoted(value) + ")");
  }
  return value;
}

std::string check_not_empty(const Field& field, std::string value) {
  if (value.empty()) fail(field, "must not be empty");
  return value;
}

// A base URL other URLs are appended to: absolute http(s), a host, no query or fragment.
// Trailing slashes go so that base + "/phone/..." never has "//".
std::string check_base_url(const Field& field, std::string value) {
  const std::string got = " (got " + quoted(value) + ")";
  if (value.find('#') != std::string::npos) fail(field, "must not have a fragment" + got);
  auto parsed = boost::urls::parse_absolute_uri(value);
  if (!parsed) fail(field, "must be an absolute http or https URL" + got);
  const boost::urls::url_view url = *parsed;
  if (url.scheme_id() != boost::urls::scheme::http &&
      url.scheme_id() != boost::urls::scheme::https) {
    fail(field, "must be an http or https URL" + got);
  }
  if (!url.has_authority() || url.encoded_host().empty()) fail(field, "must have a host" + got);
  if (url.has_query()) fail(field, "must not have a query" + got);
  if (url.has_port()) {
    const std::string_view port = url.port();
    if (port.empty() || port.size() > 5 || std::stoi(std::string(port)) > 65535) {
      fail(field, "has an invalid port" + got);
    }
  }
  while (!value.empty() && value.back() == '/') value.pop_back();
  return value;
}

std::string check_optional_base_url(const Field& field, std::string value) {
  if (value.empty()) return value;
  return check_base_url(field, std::move(value));
}

std::string check_public_base_url(const Field& field, std::string value) {
  return check_optional_base_url(field, std::move(value));
}

// A RecordingUrl's authority is compared against these, so they carry no scheme or path.
std::string check_recording_host(const Field& field, std::string value) {
  const std::string got = " (got " + quoted(value) + ")";
  auto parsed = boost::urls::parse_authority(value);
  if (value.empty() || !parsed || parsed->has_userinfo() || parsed->encoded_host().empty()) {
    fail(field, "must be a host or host:port, without scheme or path" + got);
  }
  if (parsed->has_port()) {
    const std::string_view port = parsed->port();
    if (port.empty() || port.size() > 5 || std::stoi(std::string(port)) == 0 ||
        std::stoi(std::string(port)) > 65535) {
      fail(field, "has an invalid port" + got);
    }
  }
  return value;
}

// The URL may hold a password, so it is never echoed.
std::string check_redis_url(const Field& field, std::string value) {
  if (value.empty()) return value;
  for (std::string_view scheme : kRedisSchemes) {
    if (value.starts_with(scheme)) {
      if (value.size() == scheme.size()) fail(field, "must name a host or socket after the scheme");
      return value;
    }
  }
  fail(field,
       "must start with redis://, rediss:// or unix:// (value not shown: may hold a "
       "password)");
}

std::string check_account_sid(const Field& field, std::string value) {
  if (!value.empty() && !value.starts_with("AC")) {
    fail(field, "must start with \"AC\" (got " + quoted(value) + ")");
  }
  return value;
}

LogFormat to_log_format(const Field& field, std::string value) {
  return check_one_of(field, std::move(value), kLogFormats) == "json" ? LogFormat::kJson
                                                                      : LogFormat::kText;
}

std::string_view log_format_name(LogFormat format) {
  return format == LogFormat::kJson ? "json" : "text";
}

// --- reading the file ------------------------------------------------------------------------

std::string type_name(toml::node_type type) {
  switch (type) {
    case toml::node_type::string:
      return "a string";
    case toml::node_type::integer:
      return "an integer";
    case toml::node_type::floating_point:
      return "a floating-point number";
    case toml::node_type::boolean:
      return "a boolean";
    case toml::node_type::date:
      return "a date";
    case toml::node_type::time:
      return "a time";
    case toml::node_type::date_time:
      return "a date-time";
    case toml::node_type::array:
      return "an array";
    case toml::node_type::table:
      return "a table";
    case toml::node_type::none:
      break;
  }
  return "nothing";
}

[[noreturn]] void fail_type(const Field& field, std::string_view expected, const toml::node& got) {
  fail(field, "expected " + std::string(expected) + ", got " + type_name(got.type()));
}

std::string read_string(const toml::node& node, const Field& field) {
  if (const auto* value = node.as_string()) return value->get();
  fail_type(field, "a string", node);
}

std::int64_t read_integer(const toml::node& node, const Field& field) {
  if (const auto* value = node.as_integer()) return value->get();
  fail_type(field, "an integer", node);
}

bool read_bool(const toml::node& node, const Field& field) {
  if (const auto* value = node.as_boolean()) return value->get();
  fail_type(field, "a boolean", node);
}

// One entry of the file on its way into Settings.
struct Entry {
  const toml::node& node;
  Settings& to;
  Field field;

  std::string string() const { return read_string(node, field); }
  bool boolean() const { return read_bool(node, field); }
  // Range-checked on the 64-bit value, before any narrowing can wrap it into range.
  std::int64_t integer(std::int64_t lo, std::int64_t hi) const {
    return check_range(field, read_integer(node, field), lo, hi);
  }
  int int_field(std::int64_t lo, std::int64_t hi) const {
    return static_cast<int>(integer(lo, hi));
  }
};

using Applier = void (*)(const Entry&);

struct KeySpec {
  std::string_view name;
  Applier apply;
};

struct SectionSpec {
  std::string_view name;
  std::span<const KeySpec> keys;
};

std::vector<std::string> read_recording_hosts(const Entry& e) {
  const toml::array* array = e.node.as_array();
  if (array == nullptr) fail_type(e.field, "an array of strings", e.node);
  std::vector<std::string> hosts;
  for (std::size_t i = 0; i < array->size(); ++i) {
    const Field item{e.field.key + "[" + std::to_string(i) + "]", e.field.origin};
    hosts.push_back(check_recording_host(item, read_string(*array->get(i), item)));
  }
  return hosts;
}

// The schema is data, one row per contract key; a key missing here is an unknown key.
const KeySpec kServerKeys[] = {
    {"host", [](const Entry& e) { e.to.server.host = check_not_empty(e.field, e.string()); }},
    {"port",
     [](const Entry& e) { e.to.server.port = static_cast<std::uint16_t>(e.integer(0, 65535)); }},
    {"public_base_url",
     [](const Entry& e) {
       e.to.server.public_base_url = check_public_base_url(e.field, e.string());
     }},
    {"stream_secret", [](const Entry& e) { e.to.server.stream_secret = e.string(); }},
    {"io_threads", [](const Entry& e) { e.to.server.io_threads = e.int_field(0, 256); }},
    {"admin_token", [](const Entry& e) { e.to.server.admin_token = e.string(); }},
    {"max_concurrent_calls",
     [](const Entry& e) { e.to.server.max_concurrent_calls = e.int_field(1, kIntMax); }},
    {"max_body_bytes",
     [](const Entry& e) { e.to.server.max_body_bytes = e.integer(kKiB, 64 * kMiB); }},
    {"request_timeout_s",
     [](const Entry& e) { e.to.server.request_timeout_s = e.int_field(1, kIntMax); }},
    {"idle_timeout_s",
     [](const Entry& e) { e.to.server.idle_timeout_s = e.int_field(1, kIntMax); }},
    {"drain_timeout_s",
     [](const Entry& e) { e.to.server.drain_timeout_s = e.int_field(1, kIntMax); }},
    {"allow_unsigned", [](const Entry& e) { e.to.server.allow_unsigned = e.boolean(); }},
    {"log_level",
     [](const Entry& e) { e.to.server.log_level = check_one_of(e.field, e.string(), kLogLevels); }},
    {"log_format",
     [](const Entry& e) { e.to.server.log_format = to_log_format(e.field, e.string()); }},
};

const KeySpec kTwilioKeys[] = {
    {"account_sid",
     [](const Entry& e) { e.to.twilio.account_sid = check_account_sid(e.field, e.string()); }},
    {"auth_token", [](const Entry& e) { e.to.twilio.auth_token = e.string(); }},
    {"phone_number", [](const Entry& e) { e.to.twilio.phone_number = e.string(); }},
    {"api_base_url",
     [](const Entry& e) { e.to.twilio.api_base_url = check_base_url(e.field, e.string()); }},
    {"recording_hosts",
     [](const Entry& e) { e.to.twilio.recording_hosts = read_recording_hosts(e); }},
    {"delete_recordings", [](const Entry& e) { e.to.twilio.delete_recordings = e.boolean(); }},
};

const KeySpec kCallKeys[] = {
    {"mode",
     [](const Entry& e) { e.to.call.mode = check_one_of(e.field, e.string(), kCallModes); }},
    {"greeting", [](const Entry& e) { e.to.call.greeting = e.string(); }},
    {"endpoint_silence_ms",
     [](const Entry& e) { e.to.call.endpoint_silence_ms = e.int_field(100, 5000); }},
    {"barge_in_min_speech_ms",
     [](const Entry& e) { e.to.call.barge_in_min_speech_ms = e.int_field(0, 5000); }},
    {"frames_per_message",
     [](const Entry& e) { e.to.call.frames_per_message = e.int_field(1, 5); }},
    {"max_call_s", [](const Entry& e) { e.to.call.max_call_s = e.int_field(10, 86400); }},
    {"answer_budget_s", [](const Entry& e) { e.to.call.answer_budget_s = e.int_field(1, 14); }},
};

const KeySpec kStoreKeys[] = {
    {"redis_url",
     [](const Entry& e) { e.to.store.redis_url = check_redis_url(e.field, e.string()); }},
};

const KeySpec kSttKeys[] = {
    {"engine",
     [](const Entry& e) { e.to.stt.engine = check_one_of(e.field, e.string(), kSttEngines); }},
    {"base_url",
     [](const Entry& e) { e.to.stt.base_url = check_optional_base_url(e.field, e.string()); }},
    {"api_key", [](const Entry& e) { e.to.stt.api_key = e.string(); }},
    {"model", [](const Entry& e) { e.to.stt.model = check_not_empty(e.field, e.string()); }},
    {"language", [](const Entry& e) { e.to.stt.language = e.string(); }},
    {"timeout_s", [](const Entry& e) { e.to.stt.timeout_s = e.int_field(1, 600); }},
};

const KeySpec kTtsKeys[] = {
    {"engine",
     [](const Entry& e) { e.to.tts.engine = check_one_of(e.field, e.string(), kTtsEngines); }},
    {"voice", [](const Entry& e) { e.to.tts.voice = e.string(); }},
    {"base_url",
     [](const Entry& e) { e.to.tts.base_url = check_optional_base_url(e.field, e.string()); }},
    {"api_key", [](const Entry& e) { e.to.tts.api_key = e.string(); }},
    {"model", [](const Entry& e) { e.to.tts.model = check_not_empty(e.field, e.string()); }},
    {"timeout_s", [](const Entry& e) { e.to.tts.timeout_s = e.int_field(1, 600); }},
    {"cache_mb", [](const Entry& e) { e.to.tts.cache_mb = e.int_field(0, 4096); }},
};

const KeySpec kAgentKeys[] = {
    {"engine",
     [](const Entry& e) { e.to.agent.engine = check_one_of(e.field, e.string(), kAgentEngines); }},
    {"script", [](const Entry& e) { e.to.agent.script = check_not_empty(e.field, e.string()); }},
    {"url", [](const Entry& e) { e.to.agent.url = check_optional_base_url(e.field, e.string()); }},
    {"base_url",
     [](const Entry& e) { e.to.agent.base_url = check_optional_base_url(e.field, e.string()); }},
    {"api_key", [](const Entry& e) { e.to.agent.api_key = e.string(); }},
    {"model", [](const Entry& e) { e.to.agent.model = check_not_empty(e.field, e.string()); }},
    {"system_prompt", [](const Entry& e) { e.to.agent.system_prompt = e.string(); }},
    {"transfer_number", [](const Entry& e) { e.to.agent.transfer_number = e.string(); }},
    {"timeout_s", [](const Entry& e) { e.to.agent.timeout_s = e.int_field(1, 600); }},
};

const SectionSpec kSections[] = {
    {"server", kServerKeys}, {"twilio", kTwilioKeys}, {"call", kCallKeys},   {"store", kStoreKeys},
    {"stt", kSttKeys},       {"tts", kTtsKeys},       {"agent", kAgentKeys},
};

std::size_t edit_distance(std::string_view a, std::string_view b) {
  std::vector<std::size_t> row(b.size() + 1);
  for (std::size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i) {
    std::size_t diagonal = row[0];
    row[0] = i;
    for (std::size_t j = 1; j <= b.size(); ++j) {
      const std::size_t above = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diagonal = above;
    }
  }
  return row[b.size()];
}

// " (did you mean 'server.host'?)" when one name is within two edits, else "".
template <typename Names>
std::string suggestion(std::string_view typed, const Names& names, std::string_view prefix) {
  std::string_view best;
  std::size_t best_distance = 3;
  for (const auto& entry : names) {
    const std::size_t distance = edit_distance(typed, entry.name);
    if (distance < best_distance) {
      best = entry.name;
      best_distance = distance;
    }
  }
  if (best.empty()) return "";
  return " (did you mean '" + std::string(prefix) + std::string(best) + "'?)";
}

std::string position(const toml::source_region& where) {
  return "line " + std::to_string(where.begin.line) + ", column " +
         std::to_string(where.begin.column);
}

std::string read_file(const std::string& path) {
  errno = 0;
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    throw SettingsError(path + ": cannot open: " + std::strerror(errno ? errno : ENOENT));
  }
  std::string content;
  char buffer[4096];
  while (in.read(buffer, sizeof buffer) || in.gcount() > 0) {
    content.append(buffer, static_cast<std::size_t>(in.gcount()));
  }
  // A directory opens fine on Linux and fails on the first read (EISDIR).
  if (in.bad()) throw SettingsError(path + ": cannot read: " + std::strerror(errno));
  return content;
}

void apply_file(const std::string& path, Settings& settings) {
  const std::string content = read_file(path);
  toml::table root;
  try {
    root = toml::parse(std::string_view(content), std::string_view(path));
  } catch (const toml::parse_error& error) {
    throw SettingsError(path + ": parse error at " + position(error.source()) + ": " +
                        std::string(error.description()));
  }

  for (const auto& [section_key, section_node] : root) {
    const std::string_view section_name = section_key.str();
    const auto* section =
        std::find_if(std::begin(kSections), std::end(kSections),
                     [&](const SectionSpec& spec) { return spec.name == section_name; });
    if (section == std::end(kSections)) {
      const bool is_table = section_node.is_table();
      throw SettingsError(path + ": unknown " + (is_table ? "section" : "key") + " '" +
                          std::string(section_name) + "' at " + position(section_key.source()) +
                          suggestion(section_name, kSections, ""));
    }
    const toml::table* table = section_node.as_table();
    if (table == nullptr) {
      fail_type(Field{std::string(section_name), path + ", " + position(section_node.source())},
                "a table", section_node);
    }
    for (const auto& [key, node] : *table) {
      const std::string_view key_name = key.str();
      const std::string full_name = std::string(section_name) + "." + std::string(key_name);
      const auto spec = std::find_if(section->keys.begin(), section->keys.end(),
                                     [&](const KeySpec& k) { return k.name == key_name; });
      if (spec == section->keys.end()) {
        throw SettingsError(path + ": unknown key '" + full_name + "' at " +
                            position(key.source()) +
                            suggestion(key_name, section->keys, std::string(section_name) + "."));
      }
      spec->apply(
          Entry{node, settings,
                Field{full_name, path + ", line " + std::to_string(node.source().begin.line)}});
    }
  }
}

// --- environment and flags ---------------------------------------------------------------------

void apply_environment(const EnvLookup& env, Settings& settings) {
  if (!env) return;
  // The seed's deployments export empty variables to mean "unset"; honour that.
  const auto get = [&](std::string_view name) -> std::optional<std::string> {
    std::optional<std::string> value = env(name);
    if (value && value->empty()) return std::nullopt;
    return value;
  };
  const auto field = [](std::string key, std::string_view variable) {
    return Field{std::move(key), "environment " + std::string(variable)};
  };

  if (auto v = get("TWILIO_ACCOUNT_SID")) {
    settings.twilio.account_sid =
        check_account_sid(field("twilio.account_sid", "TWILIO_ACCOUNT_SID"), *v);
  }
  if (auto v = get("TWILIO_AUTH_TOKEN")) settings.twilio.auth_token = *v;
  if (auto v = get("TWILIO_PHONE_NUMBER")) settings.twilio.phone_number = *v;
  // FLASK_BASE_URL is the seed's name; PUBLIC_BASE_URL is ours and wins when both are set.
  for (std::string_view variable : {"PUBLIC_BASE_URL", "FLASK_BASE_URL"}) {
    if (auto v = get(variable)) {
      settings.server.public_base_url =
          check_public_base_url(field("server.public_base_url", variable), *v);
      break;
    }
  }
  if (auto v = get("REDIS_URL")) {
    settings.store.redis_url = check_redis_url(field("store.redis_url", "REDIS_URL"), *v);
  }
  if (auto v = get("VOXGATE_STREAM_SECRET")) settings.server.stream_secret = *v;
  if (auto v = get("VOXGATE_ADMIN_TOKEN")) settings.server.admin_token = *v;
  // The OpenAI SDKs' variables: defaults for each network engine that did not name its own.
  const auto base_url = get("OPENAI_BASE_URL");
  const auto api_key = get("OPENAI_API_KEY");
  const auto default_remote = [&](std::string& url, std::string& key, const std::string& section) {
    if (url.empty() && base_url) {
      url = check_base_url(field(section + ".base_url", "OPENAI_BASE_URL"), *base_url);
    }
    if (key.empty() && api_key) key = *api_key;
  };
  default_remote(settings.stt.base_url, settings.stt.api_key, "stt");
  default_remote(settings.tts.base_url, settings.tts.api_key, "tts");
  default_remote(settings.agent.base_url, settings.agent.api_key, "agent");
}

void apply_flags(const SettingsOverrides& flags, Settings& settings) {
  const auto field = [](std::string key, std::string_view flag) {
    return Field{std::move(key), "flag " + std::string(flag)};
  };
  if (flags.host)
    settings.server.host = check_not_empty(field("server.host", "--host"), *flags.host);
  if (flags.port) {
    settings.server.port = static_cast<std::uint16_t>(
        check_range(field("server.port", "--port"), *flags.port, 0, 65535));
  }
  if (flags.public_base_url) {
    settings.server.public_base_url = check_public_base_url(
        field("server.public_base_url", "--public-base-url"), *flags.public_base_url);
  }
  if (flags.log_level) {
    settings.server.log_level =
        check_one_of(field("server.log_level", "--log-level"), *flags.log_level, kLogLevels);
  }
  if (flags.log_format) {
    settings.server.log_format =
        to_log_format(field("server.log_format", "--log-format"), *flags.log_format);
  }
  if (flags.allow_unsigned) settings.server.allow_unsigned = *flags.allow_unsigned;
  if (flags.io_threads) {
    settings.server.io_threads =
        check_int(field("server.io_threads", "--io-threads"), *flags.io_threads, 0, 256);
  }
}

// --- describe ----------------------------------------------------------------------------------

// A TOML basic string: quotes, backslashes and control characters escaped.
std::string toml_string(std::string_view value) {
  std::string out = "\"";
  for (const char c : value) {
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\t':
        out += "\\t";
        break;
      case '\r':
        out += "\\r";
        break;
      default:
        if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) {
          char escaped[8];
          std::snprintf(escaped, sizeof escaped, "\\u%04x", static_cast<unsigned char>(c));
          out += escaped;
        } else {
          out += c;
        }
    }
  }
  return out + "\"";
}

std::string masked(std::string_view secret) { return toml_string(secret.empty() ? "" : kMask); }

}  // namespace

// "redis://user:pw@host" -> "redis://user:***@host"; a userinfo without ':' is taken to be a
// password (redis://pw@host is common). The last '@' is used so that an unencoded '@' or '/'
// in a password is masked too; a path containing '@' (unix:///tmp/a@b) is left alone.
std::string mask_url_password(std::string_view url) {
  const std::size_t scheme_end = url.find("://");
  if (scheme_end == std::string_view::npos) return std::string(url);
  const std::size_t userinfo_begin = scheme_end + 3;
  const std::size_t at = url.rfind('@');
  if (at == std::string_view::npos || at < userinfo_begin) return std::string(url);
  const std::string_view userinfo = url.substr(userinfo_begin, at - userinfo_begin);
  if (userinfo.starts_with('/')) return std::string(url);
  const std::size_t colon = userinfo.find(':');
  const std::string user =
      colon == std::string_view::npos ? "" : std::string(userinfo.substr(0, colon + 1));
  return std::string(url.substr(0, userinfo_begin)) + user + std::string(kMask) +
         std::string(url.substr(at));
}

Settings load_settings(const std::optional<std::string>& config_path, const EnvLookup& env,
                       const SettingsOverrides& flags) {
  Settings settings;
  if (config_path) apply_file(*config_path, settings);
  apply_environment(env, settings);
  apply_flags(flags, settings);
  return settings;
}

std::string describe(const Settings& s) {
  std::ostringstream out;
  const auto line = [&out](std::string_view key, const auto& value) {
    out << key << " = " << value << '\n';
  };
  const auto boolean = [](bool value) { return value ? "true" : "false"; };

  out << "# Effective settings of voxgate serve; secrets are shown as \"***\".\n";
  out << "[server]\n";
  line("host", toml_string(s.server.host));
  line("port", s.server.port);
  line("public_base_url", toml_string(mask_url_password(s.server.public_base_url)));
  line("stream_secret", masked(s.server.stream_secret));
  line("io_threads", s.server.io_threads);
  line("admin_token", masked(s.server.admin_token));
  line("max_concurrent_calls", s.server.max_concurrent_calls);
  line("max_body_bytes", s.server.max_body_bytes);
  line("request_timeout_s", s.server.request_timeout_s);
  line("idle_timeout_s", s.server.idle_timeout_s);
  line("drain_timeout_s", s.server.drain_timeout_s);
  line("allow_unsigned", boolean(s.server.allow_unsigned));
  line("log_level", toml_string(s.server.log_level));
  line("log_format", toml_string(log_format_name(s.server.log_format)));

  out << "\n[twilio]\n";
  line("account_sid", toml_string(s.twilio.account_sid));
  line("auth_token", masked(s.twilio.auth_token));
  line("phone_number", toml_string(s.twilio.phone_number));
  line("api_base_url", toml_string(mask_url_password(s.twilio.api_base_url)));
  std::string hosts = "[";
  for (const std::string& host : s.twilio.recording_hosts) {
    if (hosts.size() > 1) hosts += ", ";
    hosts += toml_string(host);
  }
  line("recording_hosts", hosts + "]");
  line("delete_recordings", boolean(s.twilio.delete_recordings));

  out << "\n[call]\n";
  line("mode", toml_string(s.call.mode));
  line("greeting", toml_string(s.call.greeting));
  line("endpoint_silence_ms", s.call.endpoint_silence_ms);
  line("barge_in_min_speech_ms", s.call.barge_in_min_speech_ms);
  line("frames_per_message", s.call.frames_per_message);
  line("max_call_s", s.call.max_call_s);
  line("answer_budget_s", s.call.answer_budget_s);

  out << "\n[store]\n";
  line("redis_url", toml_string(mask_url_password(s.store.redis_url)));

  out << "\n[stt]\n";
  line("engine", toml_string(s.stt.engine));
  line("base_url", toml_string(mask_url_password(s.stt.base_url)));
  line("api_key", masked(s.stt.api_key));
  line("model", toml_string(s.stt.model));
  line("language", toml_string(s.stt.language));
  line("timeout_s", s.stt.timeout_s);

  out << "\n[tts]\n";
  line("engine", toml_string(s.tts.engine));
  line("voice", toml_string(s.tts.voice));
  line("base_url", toml_string(mask_url_password(s.tts.base_url)));
  line("api_key", masked(s.tts.api_key));
  line("model", toml_string(s.tts.model));
  line("timeout_s", s.tts.timeout_s);
  line("cache_mb", s.tts.cache_mb);

  out << "\n[agent]\n";
  line("engine", toml_string(s.agent.engine));
  line("script", toml_string(s.agent.script));
  line("url", toml_string(mask_url_password(s.agent.url)));
  line("base_url", toml_string(mask_url_password(s.agent.base_url)));
  line("api_key", masked(s.agent.api_key));
  line("model", toml_string(s.agent.model));
  line("system_prompt", toml_string(s.agent.system_prompt));
  line("transfer_number", toml_string(s.agent.transfer_number));
  line("timeout_s", s.agent.timeout_s);
  return out.str();
}

}  // namespace voxgate::app
