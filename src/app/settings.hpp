// The effective settings of `voxgate serve`, gathered from four layers: command-line flags
// beat environment variables, which beat the TOML config file, which beats the defaults
// written below (DESIGN.md §3 is the contract for the names). Loading validates every value
// as it is applied, so a Settings returned by load_settings() is always usable as is.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace voxgate::app {

enum class LogFormat { kText, kJson };

inline constexpr std::size_t kKiB = 1024;
inline constexpr std::size_t kMiB = 1024 * kKiB;

// [server]
struct ServerSettings {
  std::string host = "127.0.0.1";
  std::uint16_t port = 5001;  // 0 = let the OS pick a free port
  // Where Twilio reaches us: absolute http(s) URL without query or fragment, stored without a
  // trailing slash; empty = derive from the request's Host header (development only).
  std::string public_base_url;
  std::string stream_secret;  // secret; see Settings::effective_stream_secret()
  int io_threads = 0;         // 0 = one per core
  std::string admin_token;    // secret; when set, /calls needs "Authorization: Bearer <token>"
  int max_concurrent_calls = 2000;
  std::size_t max_body_bytes = kMiB;
  int request_timeout_s = 30;
  int idle_timeout_s = 75;
  int drain_timeout_s = 20;
  bool allow_unsigned = false;
  std::string log_level = "info";  // trace | debug | info | warn | error | critical | off
  LogFormat log_format = LogFormat::kText;

  bool operator==(const ServerSettings&) const = default;
};

// [twilio]
struct TwilioSettings {
  std::string account_sid;  // empty or "AC…"
  std::string auth_token;   // secret; empty = development mode
  std::string phone_number;
  std::string api_base_url = "https://api.twilio.com";            // stored without a trailing slash
  std::vector<std::string> recording_hosts = {"api.twilio.com"};  // "host" or "host:port"
  bool delete_recordings = true;

  bool operator==(const TwilioSettings&) const = default;
};

// [call]
struct CallSettings {
  std::string mode = "streaming";  // streaming | hybrid
  std::string greeting = "Hello! How can I help you today?";
  int endpoint_silence_ms = 500;
  int barge_in_min_speech_ms = 200;
  // Outbound 20 ms frames per Media Streams message, 1..5. Two halve the messages and timer
  // wake-ups per call (BENCHMARKS: 1,200 streams at p99 lateness ≤ 3 ms instead of ~1,000
  // at ≤ 7.5 ms) and send at most 20 ms more ahead of real time.
  int frames_per_message = 2;
  int max_call_s = 3600;
  // Recording mode: a turn's TwiML must reach Twilio within this (Twilio waits 15 s);
  // slower turns answer <Pause> + <Redirect> to a poll route.
  int answer_budget_s = 10;

  bool operator==(const CallSettings&) const = default;
};

// [store]
struct StoreSettings {
  std::string redis_url;  // empty = in memory; else redis://, rediss:// or unix://

  bool operator==(const StoreSettings&) const = default;
};

// [stt]
// The network engines speak OpenAI-compatible APIs: `base_url` ends before the API's path
// ("https://api.openai.com/v1", "http://whisper.lan:8000/v1"); empty means the environment's
// OPENAI_BASE_URL, else kOpenAiBaseUrl. An empty `api_key` means OPENAI_API_KEY (a self-hosted
// server may need none). Only the hosts of configured URLs are ever fetched.
inline constexpr std::string_view kOpenAiBaseUrl = "https://api.openai.com/v1";
inline std::string remote_base_url(const std::string& configured) {
  return configured.empty() ? std::string(kOpenAiBaseUrl) : configured;
}

struct SttSettings {
  std::string engine = "pocketsphinx";  // pocketsphinx | openai
  std::string base_url;                 // openai
  std::string api_key;                  // openai
  std::string model = "whisper-1";      // openai
  std::string language;                 // openai: ISO-639-1 hint, "" = let the model detect
  int timeout_s = 10;                   // openai: the whole request

  bool operator==(const SttSettings&) const = default;
};

// [tts]
struct TtsSettings {
  std::string engine = "flite";  // flite | espeak | openai
  std::string voice;             // "" = the engine's default (flite slt, espeak en-us, openai alloy)
  std::string base_url;          // openai
  std::string api_key;           // openai
  std::string model = "tts-1";   // openai
  int timeout_s = 10;            // openai: one sentence's request
  int cache_mb = 16;             // sentences said before, kept for reuse (0 = no cache)

  bool operator==(const TtsSettings&) const = default;
};

// [agent]
struct AgentSettings {
  std::string engine = "scripted";  // scripted | echo | webhook | openai
  std::string script = "config/front-desk.toml";  // scripted
  std::string url;                  // webhook: where each turn is POSTed
  std::string base_url;             // openai
  std::string api_key;              // openai; webhook: sent as "Authorization: Bearer" if set
  std::string model = "gpt-4o-mini";  // openai
  std::string system_prompt =         // openai
      "You are the voice of a small business on a phone call. Answer in one or two short, "
      "plain sentences: no lists, no markdown, no emoji. When the caller says goodbye, call "
      "end_call; when they ask for a person, call transfer_call.";
  std::string transfer_number;      // openai: where transfer_call sends the caller ("" = never)
  int timeout_s = 8;                // webhook and openai: until the whole reply

  bool operator==(const AgentSettings&) const = default;
};

struct Settings {
  ServerSettings server;
  TwilioSettings twilio;
  CallSettings call;
  StoreSettings store;
  SttSettings stt;
  TtsSettings tts;
  AgentSettings agent;

  // Without a Twilio auth token nothing can be signature-checked: the server says so loudly.
  bool development_mode() const { return twilio.auth_token.empty(); }

  // The key for per-call stream tokens: server.stream_secret, else twilio.auth_token, else ""
  // (the caller then makes a random per-process secret, valid for this worker only).
  std::string effective_stream_secret() const;

  bool operator==(const Settings&) const = default;
};

// What the command-line flags gave; an empty optional means the flag was not given.
struct SettingsOverrides {
  std::optional<std::string> host;
  std::optional<int> port;
  std::optional<std::string> public_base_url;
  std::optional<std::string> log_level;
  std::optional<std::string> log_format;
  std::optional<bool> allow_unsigned;
  std::optional<int> io_threads;
};

// Looks an environment variable up by name; nullopt when unset. load_settings() treats a
// variable set to "" as unset, so an implementation need not.
using EnvLookup = std::function<std::optional<std::string>(std::string_view name)>;

// The real process environment (getenv). Not safe against concurrent setenv().
EnvLookup process_environment();

// Thrown by load_settings(). The message is one line naming the cause: the file and position
// for file errors ("voxgate.toml: unknown key 'server.hots' at line 3, column 1"), else the key,
// the problem, the bad value and where it came from ("server.port: must be between 0 and 65535
// (got 70000) [voxgate.toml, line 2]"). Values of secrets are never echoed.
class SettingsError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Builds the effective settings: defaults, then the file at config_path (when given), then
// the environment (TWILIO_ACCOUNT_SID, TWILIO_AUTH_TOKEN, TWILIO_PHONE_NUMBER, PUBLIC_BASE_URL
// or its alias FLASK_BASE_URL, REDIS_URL, VOXGATE_STREAM_SECRET, VOXGATE_ADMIN_TOKEN), then
// the flags. Every section of the file is optional.
// Throws SettingsError for an unreadable or unparsable file (with toml++'s line and column),
// an unknown section or key, a value of the wrong type (including an integer out of range for
// its field), or a value that fails validation, wherever it came from.
Settings load_settings(const std::optional<std::string>& config_path, const EnvLookup& env,
                       const SettingsOverrides& flags);

// The settings as a TOML document, sections and keys in the contract's order, for
// `voxgate serve --print-config`. Secrets (auth_token, stream_secret, admin_token, and any
// password inside a URL) are shown as "***", empty ones as "". The output is itself a valid
// config file that loads back to the same non-secret values.
std::string describe(const Settings& settings);

// `url` with the password of its userinfo replaced by a mask, for logs and --print-config.
std::string mask_url_password(std::string_view url);

}  // namespace voxgate::app
