// Tests for app/settings: defaults, the precedence of flags over environment over file over
// defaults, rejection of unknown keys, wrong types and bad values (each rule at its
// boundaries), secret masking in describe(), and the shipped example config. The environment
// is always a fake; config files are written to a fresh temporary directory per test.
#include "app/settings.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <stdlib.h>
#include <toml++/toml.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <string>

namespace voxgate::app {
namespace {

namespace fs = std::filesystem;
using ::testing::AllOf;
using ::testing::HasSubstr;
using ::testing::Not;

using EnvMap = std::map<std::string, std::string, std::less<>>;

EnvLookup fake_env(EnvMap vars) {
  return [vars = std::move(vars)](std::string_view name) -> std::optional<std::string> {
    auto it = vars.find(name);
    if (it == vars.end()) return std::nullopt;
    return it->second;
  };
}

class SettingsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern = (fs::temp_directory_path() / "voxgate-settings-XXXXXX").string();
    ASSERT_NE(mkdtemp(pattern.data()), nullptr);
    dir_ = pattern;
  }
  void TearDown() override { fs::remove_all(dir_); }

  // Writes text to a new file in the temp dir and returns its path.
  std::string write(std::string_view text, std::string_view name = "voxgate.toml") {
    const fs::path path = dir_ / name;
    std::ofstream(path, std::ios::binary) << text;
    return path.string();
  }

  Settings load_text(std::string_view toml, EnvMap env = {}, SettingsOverrides flags = {}) {
    return load_settings(write(toml), fake_env(std::move(env)), flags);
  }

  // The message of the SettingsError that loading throws ("" when nothing is thrown).
  std::string error_of(std::string_view toml, EnvMap env = {}, SettingsOverrides flags = {}) {
    try {
      load_text(toml, std::move(env), flags);
    } catch (const SettingsError& e) {
      return e.what();
    }
    return "";
  }

  std::string error_of_flags(SettingsOverrides flags) { return error_of("", {}, flags); }
  std::string error_of_env(EnvMap env) { return error_of("", std::move(env)); }

  fs::path dir_;
};

// --- defaults and precedence -------------------------------------------------------------------

TEST_F(SettingsTest, DefaultsWithoutFileEnvOrFlags) {
  const Settings s = load_settings(std::nullopt, fake_env({}), {});
  EXPECT_EQ(s, Settings{});
  EXPECT_EQ(s.server.host, "127.0.0.1");
  EXPECT_EQ(s.server.port, 5001);
  EXPECT_EQ(s.server.public_base_url, "");
  EXPECT_EQ(s.server.io_threads, 0);
  EXPECT_EQ(s.server.max_concurrent_calls, 2000);
  EXPECT_EQ(s.server.max_body_bytes, 1024u * 1024u);
  EXPECT_EQ(s.server.request_timeout_s, 30);
  EXPECT_EQ(s.server.idle_timeout_s, 75);
  EXPECT_EQ(s.server.drain_timeout_s, 20);
  EXPECT_FALSE(s.server.allow_unsigned);
  EXPECT_EQ(s.server.log_level, "info");
  EXPECT_EQ(s.server.log_format, LogFormat::kText);
  EXPECT_EQ(s.twilio.api_base_url, "https://api.twilio.com");
  EXPECT_EQ(s.twilio.recording_hosts, std::vector<std::string>{"api.twilio.com"});
  EXPECT_TRUE(s.twilio.delete_recordings);
  EXPECT_EQ(s.call.mode, "streaming");
  EXPECT_EQ(s.call.greeting, "Hello! How can I help you today?");
  EXPECT_EQ(s.call.endpoint_silence_ms, 500);
  EXPECT_EQ(s.call.barge_in_min_speech_ms, 200);
  EXPECT_EQ(s.call.max_call_s, 3600);
  EXPECT_EQ(s.store.redis_url, "");
  EXPECT_EQ(s.stt.engine, "pocketsphinx");
  EXPECT_EQ(s.tts.engine, "flite");
  EXPECT_EQ(s.agent.engine, "scripted");
  EXPECT_EQ(s.agent.script, "config/front-desk.toml");
}

TEST_F(SettingsTest, EmptyFileAndEmptySectionsGiveDefaults) {
  EXPECT_EQ(load_text(""), Settings{});
  EXPECT_EQ(load_text("[server]\n[twilio]\n[call]\n[store]\n[stt]\n[tts]\n[agent]\n"), Settings{});
}

TEST_F(SettingsTest, NullEnvLookupIsNoEnvironment) {
  EXPECT_EQ(load_settings(std::nullopt, EnvLookup{}, {}), Settings{});
}

TEST_F(SettingsTest, HostAndPortFileBeatsDefaultFlagBeatsFile) {
  const std::string file = "[server]\nhost = \"0.0.0.0\"\nport = 6000\n";
  Settings s = load_text(file);
  EXPECT_EQ(s.server.host, "0.0.0.0");
  EXPECT_EQ(s.server.port, 6000);

  SettingsOverrides flags;
  flags.host = "::1";
  flags.port = 7000;
  s = load_text(file, {}, flags);
  EXPECT_EQ(s.server.host, "::1");
  EXPECT_EQ(s.server.port, 7000);
}

TEST_F(SettingsTest, PublicBaseUrlEveryLevel) {
  EXPECT_EQ(load_text("").server.public_base_url, "");

  const std::string file = "[server]\npublic_base_url = \"https://file.example\"\n";
  EXPECT_EQ(load_text(file).server.public_base_url, "https://file.example");

  const EnvMap env = {{"PUBLIC_BASE_URL", "https://env.example"}};
  EXPECT_EQ(load_text(file, env).server.public_base_url, "https://env.example");

  SettingsOverrides flags;
  flags.public_base_url = "https://flag.example";
  EXPECT_EQ(load_text(file, env, flags).server.public_base_url, "https://flag.example");
}

TEST_F(SettingsTest, FlaskBaseUrlIsAnAliasAndPublicBaseUrlWins) {
  EXPECT_EQ(load_text("", {{"FLASK_BASE_URL", "https://flask.example"}}).server.public_base_url,
            "https://flask.example");
  EXPECT_EQ(load_text("", {{"FLASK_BASE_URL", "https://flask.example"},
                           {"PUBLIC_BASE_URL", "https://public.example"}})
                .server.public_base_url,
            "https://public.example");
}

TEST_F(SettingsTest, EmptyEnvironmentVariableCountsAsUnset) {
  const Settings s = load_text(
      "[twilio]\nauth_token = \"file-token\"\n[server]\npublic_base_url = "
      "\"https://file.example\"\n",
      {{"TWILIO_AUTH_TOKEN", ""},
       {"PUBLIC_BASE_URL", ""},
       {"REDIS_URL", ""},
       {"VOXGATE_ADMIN_TOKEN", ""}});
  EXPECT_EQ(s.twilio.auth_token, "file-token");
  EXPECT_EQ(s.server.public_base_url, "https://file.example");
  EXPECT_EQ(s.store.redis_url, "");
  EXPECT_EQ(s.server.admin_token, "");

  // An empty PUBLIC_BASE_URL does not hide a set FLASK_BASE_URL.
  EXPECT_EQ(load_text("", {{"PUBLIC_BASE_URL", ""}, {"FLASK_BASE_URL", "https://flask.example"}})
                .server.public_base_url,
            "https://flask.example");
}

TEST_F(SettingsTest, EveryEnvironmentVariableBeatsTheFile) {
  const std::string file = R"(
[server]
stream_secret = "file-stream"
admin_token = "file-admin"
[twilio]
account_sid = "ACfile"
auth_token = "file-auth"
phone_number = "+15550000000"
[store]
redis_url = "redis://file:6379"
)";
  const Settings s = load_text(file, {{"TWILIO_ACCOUNT_SID", "ACenv"},
                                      {"TWILIO_AUTH_TOKEN", "env-auth"},
                                      {"TWILIO_PHONE_NUMBER", "+15551111111"},
                                      {"REDIS_URL", "rediss://env:6380/1"},
                                      {"VOXGATE_STREAM_SECRET", "env-stream"},
                                      {"VOXGATE_ADMIN_TOKEN", "env-admin"}});
  EXPECT_EQ(s.twilio.account_sid, "ACenv");
  EXPECT_EQ(s.twilio.auth_token, "env-auth");
  EXPECT_EQ(s.twilio.phone_number, "+15551111111");
  EXPECT_EQ(s.store.redis_url, "rediss://env:6380/1");
  EXPECT_EQ(s.server.stream_secret, "env-stream");
  EXPECT_EQ(s.server.admin_token, "env-admin");

  const Settings from_file = load_text(file);
  EXPECT_EQ(from_file.twilio.account_sid, "ACfile");
  EXPECT_EQ(from_file.server.admin_token, "file-admin");
}

TEST_F(SettingsTest, OtherFlagsBeatTheFile) {
  const std::string file =
      "[server]\nlog_level = \"debug\"\nlog_format = \"json\"\nallow_unsigned = true\n"
      "io_threads = 4\n";
  Settings s = load_text(file);
  EXPECT_EQ(s.server.log_level, "debug");
  EXPECT_EQ(s.server.log_format, LogFormat::kJson);
  EXPECT_TRUE(s.server.allow_unsigned);
  EXPECT_EQ(s.server.io_threads, 4);

  SettingsOverrides flags;
  flags.log_level = "warn";
  flags.log_format = "text";
  flags.allow_unsigned = false;
  flags.io_threads = 8;
  s = load_text(file, {}, flags);
  EXPECT_EQ(s.server.log_level, "warn");
  EXPECT_EQ(s.server.log_format, LogFormat::kText);
  EXPECT_FALSE(s.server.allow_unsigned);
  EXPECT_EQ(s.server.io_threads, 8);
}

TEST_F(SettingsTest, EveryKeyIsReadFromTheFile) {
  const Settings s = load_text(R"(
[server]
host = "0.0.0.0"
port = 8080
public_base_url = "https://voice.example.com/base/"
stream_secret = "s1"
io_threads = 3
admin_token = "a1"
max_concurrent_calls = 10
max_body_bytes = 2048
request_timeout_s = 5
idle_timeout_s = 6
drain_timeout_s = 7
allow_unsigned = true
log_level = "trace"
log_format = "json"

[twilio]
account_sid = "AC123"
auth_token = "t1"
phone_number = "+15550001111"
api_base_url = "http://127.0.0.1:9000/"
recording_hosts = ["127.0.0.1:9000", "api.twilio.com"]
delete_recordings = false

[call]
mode = "hybrid"
greeting = "Hi there."
endpoint_silence_ms = 700
barge_in_min_speech_ms = 0
max_call_s = 600
answer_budget_s = 7

[store]
redis_url = "unix:///run/redis.sock"

[stt]
engine = "openai"
base_url = "http://whisper.lan:8000/v1/"
api_key = "k1"
model = "large-v3"
language = "en"
timeout_s = 11

[tts]
engine = "espeak"
voice = "en-gb"
base_url = "http://tts.lan/v1"
api_key = "k2"
model = "kokoro"
timeout_s = 12

[agent]
engine = "webhook"
script = "other.toml"
url = "https://app.example.com/voice/turn"
base_url = "http://llm.lan:8080/v1"
api_key = "k3"
model = "llama"
system_prompt = "Be brief."
transfer_number = "+15550002222"
timeout_s = 13
)");
  EXPECT_EQ(s.server.host, "0.0.0.0");
  EXPECT_EQ(s.server.port, 8080);
  EXPECT_EQ(s.server.public_base_url, "https://voice.example.com/base");
  EXPECT_EQ(s.server.stream_secret, "s1");
  EXPECT_EQ(s.server.io_threads, 3);
  EXPECT_EQ(s.server.admin_token, "a1");
  EXPECT_EQ(s.server.max_concurrent_calls, 10);
  EXPECT_EQ(s.server.max_body_bytes, 2048u);
  EXPECT_EQ(s.server.request_timeout_s, 5);
  EXPECT_EQ(s.server.idle_timeout_s, 6);
  EXPECT_EQ(s.server.drain_timeout_s, 7);
  EXPECT_TRUE(s.server.allow_unsigned);
  EXPECT_EQ(s.server.log_level, "trace");
  EXPECT_EQ(s.server.log_format, LogFormat::kJson);
  EXPECT_EQ(s.twilio.account_sid, "AC123");
  EXPECT_EQ(s.twilio.auth_token, "t1");
  EXPECT_EQ(s.twilio.phone_number, "+15550001111");
  EXPECT_EQ(s.twilio.api_base_url, "http://127.0.0.1:9000");
  EXPECT_EQ(s.twilio.recording_hosts,
            (std::vector<std::string>{"127.0.0.1:9000", "api.twilio.com"}));
  EXPECT_FALSE(s.twilio.delete_recordings);
  EXPECT_EQ(s.call.mode, "hybrid");
  EXPECT_EQ(s.call.greeting, "Hi there.");
  EXPECT_EQ(s.call.endpoint_silence_ms, 700);
  EXPECT_EQ(s.call.barge_in_min_speech_ms, 0);
  EXPECT_EQ(s.call.max_call_s, 600);
  EXPECT_EQ(s.call.answer_budget_s, 7);
  EXPECT_EQ(s.store.redis_url, "unix:///run/redis.sock");
  EXPECT_EQ(s.stt.engine, "openai");
  EXPECT_EQ(s.stt.base_url, "http://whisper.lan:8000/v1");
  EXPECT_EQ(s.stt.api_key, "k1");
  EXPECT_EQ(s.stt.model, "large-v3");
  EXPECT_EQ(s.stt.language, "en");
  EXPECT_EQ(s.stt.timeout_s, 11);
  EXPECT_EQ(s.tts.engine, "espeak");
  EXPECT_EQ(s.tts.voice, "en-gb");
  EXPECT_EQ(s.tts.base_url, "http://tts.lan/v1");
  EXPECT_EQ(s.tts.api_key, "k2");
  EXPECT_EQ(s.tts.model, "kokoro");
  EXPECT_EQ(s.tts.timeout_s, 12);
  EXPECT_EQ(s.agent.engine, "webhook");
  EXPECT_EQ(s.agent.script, "other.toml");
  EXPECT_EQ(s.agent.url, "https://app.example.com/voice/turn");
  EXPECT_EQ(s.agent.base_url, "http://llm.lan:8080/v1");
  EXPECT_EQ(s.agent.api_key, "k3");
  EXPECT_EQ(s.agent.model, "llama");
  EXPECT_EQ(s.agent.system_prompt, "Be brief.");
  EXPECT_EQ(s.agent.transfer_number, "+15550002222");
  EXPECT_EQ(s.agent.timeout_s, 13);
}

TEST_F(SettingsTest, OpenAiVariablesFillTheEnginesThatDoNotNameTheirOwn) {
  const Settings s = load_settings(write("[stt]\napi_key = \"mine\"\n[agent]\nbase_url = "
                                         "\"http://llm.lan/v1\"\n",
                                         "voxgate.toml"),
                                   fake_env({{"OPENAI_API_KEY", "env-key"},
                                             {"OPENAI_BASE_URL", "http://gateway.lan/v1/"}}),
                                   {});
  EXPECT_EQ(s.stt.api_key, "mine");
  EXPECT_EQ(s.tts.api_key, "env-key");
  EXPECT_EQ(s.agent.api_key, "env-key");
  EXPECT_EQ(s.stt.base_url, "http://gateway.lan/v1");
  EXPECT_EQ(s.agent.base_url, "http://llm.lan/v1");
  EXPECT_EQ(remote_base_url(Settings{}.tts.base_url), "https://api.openai.com/v1");
  EXPECT_THAT(describe(s), Not(HasSubstr("env-key")));
}

TEST_F(SettingsTest, DottedKeysAndInlineTablesAreTheSameKeys) {
  EXPECT_EQ(load_text("server.port = 6001\n").server.port, 6001);
  EXPECT_EQ(load_text("call = { max_call_s = 60 }\n").call.max_call_s, 60);
}

// --- file errors -------------------------------------------------------------------------------

TEST_F(SettingsTest, UnknownSectionIsRejectedByName) {
  const std::string message = error_of("[server]\nport = 1\n[sever]\nhost = \"x\"\n");
  EXPECT_THAT(message, AllOf(HasSubstr("voxgate.toml"), HasSubstr("unknown section 'sever'"),
                             HasSubstr("line 3"), HasSubstr("did you mean 'server'")));
}

TEST_F(SettingsTest, UnknownKeyIsRejectedByFullName) {
  const std::string message = error_of("[server]\nport = 1\nhots = \"0.0.0.0\"\n");
  EXPECT_THAT(message, AllOf(HasSubstr("voxgate.toml: unknown key 'server.hots'"),
                             HasSubstr("line 3"), HasSubstr("did you mean 'server.host'")));
  EXPECT_THAT(error_of("[agent]\nprompt = \"x\"\n"), HasSubstr("unknown key 'agent.prompt'"));
  EXPECT_THAT(error_of("port = 5001\n"), HasSubstr("unknown key 'port'"));
  EXPECT_THAT(error_of("[server.tls]\ncert = \"x\"\n"), HasSubstr("unknown key 'server.tls'"));
}

TEST_F(SettingsTest, NoSuggestionForAFarOffName) {
  EXPECT_THAT(error_of("[server]\ncompletely_different = 1\n"), Not(HasSubstr("did you mean")));
}

TEST_F(SettingsTest, TypeMismatchNamesTheKeyAndBothTypes) {
  EXPECT_THAT(error_of("[server]\nport = \"5001\"\n"),
              AllOf(HasSubstr("server.port: expected an integer, got a string"),
                    HasSubstr("voxgate.toml, line 2")));
  EXPECT_THAT(error_of("[server]\nport = 5001.0\n"),
              HasSubstr("server.port: expected an integer, got a floating-point number"));
  EXPECT_THAT(error_of("[server]\nhost = 1\n"),
              HasSubstr("server.host: expected a string, got an integer"));
  EXPECT_THAT(error_of("[server]\nallow_unsigned = \"yes\"\n"),
              HasSubstr("server.allow_unsigned: expected a boolean, got a string"));
  EXPECT_THAT(error_of("[twilio]\nrecording_hosts = \"api.twilio.com\"\n"),
              HasSubstr("twilio.recording_hosts: expected an array of strings, got a string"));
  EXPECT_THAT(error_of("[twilio]\nrecording_hosts = [\"a.example\", 7]\n"),
              HasSubstr("twilio.recording_hosts[1]: expected a string, got an integer"));
  EXPECT_THAT(error_of("server = 5\n"), HasSubstr("server: expected a table, got an integer"));
  EXPECT_THAT(error_of("[[server]]\nport = 1\n"),
              HasSubstr("server: expected a table, got an array"));
}

TEST_F(SettingsTest, IntegerBeyondIntIsAnErrorNotTruncation) {
  // 2^32 + 60 would truncate to 60, a valid max_call_s.
  EXPECT_THAT(error_of("[call]\nmax_call_s = 4294967356\n"),
              HasSubstr("call.max_call_s: must be between 10 and 86400 (got 4294967356)"));
  EXPECT_THAT(error_of("[server]\nrequest_timeout_s = 4294967326\n"),
              HasSubstr("server.request_timeout_s: must be between 1 and 2147483647 "
                        "(got 4294967326)"));
  EXPECT_THAT(error_of("[server]\nmax_concurrent_calls = 2147483648\n"),
              HasSubstr("server.max_concurrent_calls"));
  EXPECT_EQ(load_text("[server]\nmax_concurrent_calls = 2147483647\n").server.max_concurrent_calls,
            2147483647);
  // 2^16 + 80 would truncate to port 80.
  EXPECT_THAT(error_of("[server]\nport = 65616\n"), HasSubstr("server.port"));
}

TEST_F(SettingsTest, UnparsableFileReportsLineAndColumn) {
  const std::string message = error_of("[server]\nport = 5001\nhost = \n");
  EXPECT_THAT(message, AllOf(HasSubstr("voxgate.toml: parse error at line 3, column")));
  EXPECT_THAT(error_of("[server\n"), HasSubstr("line 1"));
  EXPECT_THAT(error_of("[server]\nport = 1\nport = 2\n"), HasSubstr("line 3"));
}

TEST_F(SettingsTest, MissingFileIsAnError) {
  const std::string path = (dir_ / "absent.toml").string();
  try {
    load_settings(path, fake_env({}), {});
    FAIL() << "no error for a missing file";
  } catch (const SettingsError& e) {
    EXPECT_THAT(e.what(), AllOf(HasSubstr(path), HasSubstr("cannot open")));
  }
}

TEST_F(SettingsTest, DirectoryIsAnError) {
  EXPECT_THROW(load_settings(dir_.string(), fake_env({}), {}), SettingsError);
}

// --- validation rules --------------------------------------------------------------------------

// Loads "[section]\nkey = value" and reports whether it was accepted.
class ValidationTest : public SettingsTest {
 protected:
  bool accepts(std::string_view section, std::string_view key, std::string_view value) {
    return error_of(entry(section, key, value)).empty();
  }
  std::string rejection(std::string_view section, std::string_view key, std::string_view value) {
    return error_of(entry(section, key, value));
  }
  static std::string entry(std::string_view section, std::string_view key, std::string_view value) {
    return "[" + std::string(section) + "]\n" + std::string(key) + " = " + std::string(value) +
           "\n";
  }
};

TEST_F(ValidationTest, Port) {
  EXPECT_TRUE(accepts("server", "port", "0"));
  EXPECT_TRUE(accepts("server", "port", "65535"));
  EXPECT_EQ(rejection("server", "port", "70000"),
            "server.port: must be between 0 and 65535 (got 70000) [" +
                (dir_ / "voxgate.toml").string() + ", line 2]");
  EXPECT_THAT(rejection("server", "port", "65536"), HasSubstr("(got 65536)"));
  EXPECT_THAT(rejection("server", "port", "-1"), HasSubstr("(got -1)"));

  SettingsOverrides flags;
  flags.port = 0;
  EXPECT_EQ(load_text("", {}, flags).server.port, 0);
  flags.port = 65536;
  EXPECT_THAT(error_of_flags(flags),
              AllOf(HasSubstr("server.port: must be between 0 and 65535 (got 65536)"),
                    HasSubstr("flag --port")));
  flags.port = -1;
  EXPECT_THAT(error_of_flags(flags), HasSubstr("(got -1)"));
}

TEST_F(ValidationTest, IoThreads) {
  EXPECT_TRUE(accepts("server", "io_threads", "0"));
  EXPECT_TRUE(accepts("server", "io_threads", "256"));
  EXPECT_THAT(rejection("server", "io_threads", "257"),
              HasSubstr("server.io_threads: must be between 0 and 256 (got 257)"));
  EXPECT_THAT(rejection("server", "io_threads", "-1"), HasSubstr("server.io_threads"));

  SettingsOverrides flags;
  flags.io_threads = 256;
  EXPECT_EQ(load_text("", {}, flags).server.io_threads, 256);
  flags.io_threads = 257;
  EXPECT_THAT(error_of_flags(flags), AllOf(HasSubstr("server.io_threads"), HasSubstr("(got 257)"),
                                           HasSubstr("--io-threads")));
}

TEST_F(ValidationTest, MaxConcurrentCalls) {
  EXPECT_TRUE(accepts("server", "max_concurrent_calls", "1"));
  EXPECT_THAT(rejection("server", "max_concurrent_calls", "0"),
              HasSubstr("server.max_concurrent_calls: must be between 1 and"));
}

TEST_F(ValidationTest, TimeoutsMustBePositive) {
  for (const char* key : {"request_timeout_s", "idle_timeout_s", "drain_timeout_s"}) {
    SCOPED_TRACE(key);
    EXPECT_TRUE(accepts("server", key, "1"));
    EXPECT_THAT(rejection("server", key, "0"),
                HasSubstr("server." + std::string(key) + ": must be between 1 and"));
    EXPECT_THAT(rejection("server", key, "-5"), HasSubstr("(got -5)"));
  }
}

TEST_F(ValidationTest, MaxBodyBytes) {
  EXPECT_TRUE(accepts("server", "max_body_bytes", "1024"));
  EXPECT_TRUE(accepts("server", "max_body_bytes", "67108864"));
  EXPECT_THAT(rejection("server", "max_body_bytes", "1023"),
              HasSubstr("server.max_body_bytes: must be between 1024 and 67108864 (got 1023)"));
  EXPECT_THAT(rejection("server", "max_body_bytes", "67108865"), HasSubstr("(got 67108865)"));
}

TEST_F(ValidationTest, LogLevel) {
  for (const char* level : {"trace", "debug", "info", "warn", "error", "critical", "off"}) {
    EXPECT_TRUE(accepts("server", "log_level", "\"" + std::string(level) + "\"")) << level;
  }
  EXPECT_THAT(rejection("server", "log_level", "\"verbose\""),
              HasSubstr("server.log_level: must be one of trace, debug, info, warn, error, "
                        "critical, off (got \"verbose\")"));
  EXPECT_THAT(rejection("server", "log_level", "\"INFO\""), HasSubstr("server.log_level"));

  SettingsOverrides flags;
  flags.log_level = "loud";
  EXPECT_THAT(error_of_flags(flags), AllOf(HasSubstr("server.log_level"), HasSubstr("\"loud\""),
                                           HasSubstr("--log-level")));
}

TEST_F(ValidationTest, LogFormat) {
  EXPECT_TRUE(accepts("server", "log_format", "\"text\""));
  EXPECT_TRUE(accepts("server", "log_format", "\"json\""));
  EXPECT_THAT(rejection("server", "log_format", "\"xml\""),
              HasSubstr("server.log_format: must be one of text, json (got \"xml\")"));

  SettingsOverrides flags;
  flags.log_format = "yaml";
  EXPECT_THAT(error_of_flags(flags), AllOf(HasSubstr("server.log_format"), HasSubstr("\"yaml\"")));
}

TEST_F(ValidationTest, HostMustNotBeEmpty) {
  EXPECT_THAT(rejection("server", "host", "\"\""), HasSubstr("server.host: must not be empty"));
}

TEST_F(ValidationTest, PublicBaseUrl) {
  EXPECT_TRUE(accepts("server", "public_base_url", "\"\""));
  EXPECT_TRUE(accepts("server", "public_base_url", "\"http://localhost:5001\""));
  EXPECT_TRUE(accepts("server", "public_base_url", "\"https://voice.example.com/twilio\""));
  EXPECT_EQ(load_text("[server]\npublic_base_url = \"https://voice.example.com/\"\n")
                .server.public_base_url,
            "https://voice.example.com");

  for (const char* bad : {"ftp://voice.example.com", "voice.example.com", "/phone",
                          "https://voice.example.com/?a=b", "https://voice.example.com/#top",
                          "https:///path", "https:voice", "https://voice.example.com:99999"}) {
    SCOPED_TRACE(bad);
    EXPECT_THAT(rejection("server", "public_base_url", "\"" + std::string(bad) + "\""),
                AllOf(HasSubstr("server.public_base_url: "), HasSubstr(bad)));
  }
  EXPECT_THAT(rejection("server", "public_base_url", "\"https://x.example/?a=b\""),
              HasSubstr("query"));
  EXPECT_THAT(rejection("server", "public_base_url", "\"https://x.example/#f\""),
              HasSubstr("fragment"));

  EXPECT_THAT(error_of_env({{"PUBLIC_BASE_URL", "not a url"}}),
              AllOf(HasSubstr("server.public_base_url"), HasSubstr("environment PUBLIC_BASE_URL")));
  EXPECT_THAT(error_of_env({{"FLASK_BASE_URL", "ws://x.example"}}),
              HasSubstr("environment FLASK_BASE_URL"));
  SettingsOverrides flags;
  flags.public_base_url = "https://x.example/";
  EXPECT_EQ(load_text("", {}, flags).server.public_base_url, "https://x.example");
  flags.public_base_url = "x.example";
  EXPECT_THAT(error_of_flags(flags), HasSubstr("--public-base-url"));
}

TEST_F(ValidationTest, ApiBaseUrl) {
  EXPECT_TRUE(accepts("twilio", "api_base_url", "\"http://127.0.0.1:8080\""));
  EXPECT_THAT(rejection("twilio", "api_base_url", "\"api.twilio.com\""),
              HasSubstr("twilio.api_base_url: must be an absolute http or https URL"));
  EXPECT_THAT(rejection("twilio", "api_base_url", "\"\""), HasSubstr("twilio.api_base_url"));
}

TEST_F(ValidationTest, RecordingHosts) {
  EXPECT_TRUE(accepts("twilio", "recording_hosts", "[]"));
  EXPECT_TRUE(accepts("twilio", "recording_hosts",
                      "[\"api.twilio.com\", \"127.0.0.1:8443\", \"[::1]:9000\"]"));
  for (const char* bad :
       {"https://api.twilio.com", "api.twilio.com/2010-04-01", "", "api.twilio.com:https",
        "api.twilio.com:0", "api.twilio.com:70000", "user@api.twilio.com", ":443"}) {
    SCOPED_TRACE(bad);
    EXPECT_THAT(
        rejection("twilio", "recording_hosts", "[\"ok.example\", \"" + std::string(bad) + "\"]"),
        AllOf(HasSubstr("twilio.recording_hosts[1]: "),
              HasSubstr("(got \"" + std::string(bad) + "\")")));
  }
}

TEST_F(ValidationTest, CallMode) {
  EXPECT_TRUE(accepts("call", "mode", "\"streaming\""));
  EXPECT_TRUE(accepts("call", "mode", "\"hybrid\""));
  EXPECT_THAT(rejection("call", "mode", "\"recording\""),
              HasSubstr("call.mode: must be one of streaming, hybrid (got \"recording\")"));
}

TEST_F(ValidationTest, EndpointSilence) {
  EXPECT_TRUE(accepts("call", "endpoint_silence_ms", "100"));
  EXPECT_TRUE(accepts("call", "endpoint_silence_ms", "5000"));
  EXPECT_THAT(rejection("call", "endpoint_silence_ms", "99"),
              HasSubstr("call.endpoint_silence_ms: must be between 100 and 5000 (got 99)"));
  EXPECT_THAT(rejection("call", "endpoint_silence_ms", "5001"), HasSubstr("(got 5001)"));
}

TEST_F(ValidationTest, BargeInMinSpeech) {
  EXPECT_TRUE(accepts("call", "barge_in_min_speech_ms", "0"));
  EXPECT_TRUE(accepts("call", "barge_in_min_speech_ms", "5000"));
  EXPECT_THAT(rejection("call", "barge_in_min_speech_ms", "-1"),
              HasSubstr("call.barge_in_min_speech_ms: must be between 0 and 5000 (got -1)"));
  EXPECT_THAT(rejection("call", "barge_in_min_speech_ms", "5001"), HasSubstr("(got 5001)"));
}

TEST_F(ValidationTest, MaxCall) {
  EXPECT_TRUE(accepts("call", "max_call_s", "10"));
  EXPECT_TRUE(accepts("call", "max_call_s", "86400"));
  EXPECT_THAT(rejection("call", "max_call_s", "9"),
              HasSubstr("call.max_call_s: must be between 10 and 86400 (got 9)"));
  EXPECT_THAT(rejection("call", "max_call_s", "86401"), HasSubstr("(got 86401)"));
}

TEST_F(ValidationTest, Engines) {
  for (const char* e : {"pocketsphinx", "openai"}) {
    EXPECT_TRUE(accepts("stt", "engine", "\"" + std::string(e) + "\"")) << e;
  }
  for (const char* e : {"flite", "espeak", "openai"}) {
    EXPECT_TRUE(accepts("tts", "engine", "\"" + std::string(e) + "\"")) << e;
  }
  for (const char* e : {"scripted", "echo", "webhook", "openai"}) {
    EXPECT_TRUE(accepts("agent", "engine", "\"" + std::string(e) + "\"")) << e;
  }
  EXPECT_THAT(rejection("stt", "engine", "\"whisper\""),
              HasSubstr("stt.engine: must be one of pocketsphinx, openai (got \"whisper\")"));
  EXPECT_THAT(rejection("tts", "engine", "\"piper\""),
              HasSubstr("tts.engine: must be one of flite, espeak, openai (got \"piper\")"));
  EXPECT_THAT(rejection("agent", "engine", "\"llama\""),
              HasSubstr("agent.engine: must be one of scripted, echo, webhook, openai "
                        "(got \"llama\")"));
}

TEST_F(ValidationTest, RedisUrlNeverEchoesTheValue) {
  for (const char* ok : {"", "redis://localhost:6379/0", "rediss://:pw@cache.example:6380",
                         "unix:///run/redis/redis.sock"}) {
    EXPECT_TRUE(accepts("store", "redis_url", "\"" + std::string(ok) + "\"")) << ok;
  }
  const std::string message =
      rejection("store", "redis_url", "\"http://user:hunter2secret@cache.example\"");
  EXPECT_THAT(message, AllOf(HasSubstr("store.redis_url: must start with redis://"),
                             Not(HasSubstr("hunter2secret"))));
  EXPECT_THAT(rejection("store", "redis_url", "\"redis://\""), HasSubstr("store.redis_url"));

  const std::string from_env = error_of_env({{"REDIS_URL", "memcached://:hunter2secret@x"}});
  EXPECT_THAT(from_env, AllOf(HasSubstr("environment REDIS_URL"), Not(HasSubstr("hunter2secret"))));
}

TEST_F(ValidationTest, AccountSid) {
  EXPECT_TRUE(accepts("twilio", "account_sid", "\"\""));
  EXPECT_TRUE(accepts("twilio", "account_sid", "\"AC0123456789abcdef0123456789abcdef\""));
  EXPECT_THAT(rejection("twilio", "account_sid", "\"SK123\""),
              HasSubstr("twilio.account_sid: must start with \"AC\" (got \"SK123\")"));
  EXPECT_THAT(error_of_env({{"TWILIO_ACCOUNT_SID", "XX1"}}),
              AllOf(HasSubstr("twilio.account_sid"), HasSubstr("environment TWILIO_ACCOUNT_SID")));
}

TEST_F(ValidationTest, AgentScriptMustNotBeEmpty) {
  EXPECT_THAT(rejection("agent", "script", "\"\""), HasSubstr("agent.script: must not be empty"));
}

// --- derived values ----------------------------------------------------------------------------

TEST(SettingsDerived, DevelopmentModeIsNoAuthToken) {
  Settings s;
  EXPECT_TRUE(s.development_mode());
  s.twilio.auth_token = "token";
  EXPECT_FALSE(s.development_mode());
}

TEST(SettingsDerived, EffectiveStreamSecretFallsBackToAuthTokenThenEmpty) {
  Settings s;
  EXPECT_EQ(s.effective_stream_secret(), "");
  s.twilio.auth_token = "auth";
  EXPECT_EQ(s.effective_stream_secret(), "auth");
  s.server.stream_secret = "stream";
  EXPECT_EQ(s.effective_stream_secret(), "stream");
  s.twilio.auth_token.clear();
  EXPECT_EQ(s.effective_stream_secret(), "stream");
}

// --- describe ----------------------------------------------------------------------------------

TEST_F(SettingsTest, DescribeMasksSecretsAndParsesBack) {
  Settings s;
  s.server.host = "0.0.0.0";
  s.server.port = 8080;
  s.server.public_base_url = "https://voice.example.com";
  s.server.stream_secret = "stream-SECRET-1";
  s.server.admin_token = "admin-SECRET-2";
  s.server.log_format = LogFormat::kJson;
  s.server.max_body_bytes = 4096;
  s.twilio.account_sid = "AC42";
  s.twilio.auth_token = "auth-SECRET-3";
  s.twilio.recording_hosts = {"api.twilio.com", "127.0.0.1:9000"};
  s.twilio.delete_recordings = false;
  s.call.greeting = "Say \"hi\"\\ then\ttalk.\n";
  s.store.redis_url = "redis://worker:redis-SECRET-4@cache.example:6379/2";
  s.agent.engine = "echo";

  const std::string text = describe(s);
  for (const char* secret :
       {"stream-SECRET-1", "admin-SECRET-2", "auth-SECRET-3", "redis-SECRET-4"}) {
    EXPECT_THAT(text, Not(HasSubstr(secret)));
  }
  EXPECT_THAT(text, HasSubstr("redis://worker:***@cache.example:6379/2"));

  const toml::table parsed = toml::parse(text);
  EXPECT_EQ(parsed["server"]["stream_secret"].value<std::string>(), "***");
  EXPECT_EQ(parsed["server"]["admin_token"].value<std::string>(), "***");
  EXPECT_EQ(parsed["twilio"]["auth_token"].value<std::string>(), "***");
  EXPECT_EQ(parsed["server"]["port"].value<std::int64_t>(), 8080);

  // The output is a config file in its own right: loading it gives the same settings, with
  // secrets replaced by the mask.
  Settings reloaded = load_settings(write(text, "described.toml"), fake_env({}), {});
  Settings expected = s;
  expected.server.stream_secret = "***";
  expected.server.admin_token = "***";
  expected.twilio.auth_token = "***";
  expected.store.redis_url = "redis://worker:***@cache.example:6379/2";
  EXPECT_EQ(reloaded, expected);
}

TEST_F(SettingsTest, DescribeShowsEmptySecretsAsEmpty) {
  const std::string text = describe(Settings{});
  EXPECT_THAT(text, Not(HasSubstr("= \"***\"")));
  const toml::table parsed = toml::parse(text);
  EXPECT_EQ(parsed["twilio"]["auth_token"].value<std::string>(), "");
  EXPECT_EQ(parsed["server"]["stream_secret"].value<std::string>(), "");
  EXPECT_EQ(parsed["server"]["admin_token"].value<std::string>(), "");
  EXPECT_EQ(load_settings(write(text), fake_env({}), {}), Settings{});
}

TEST_F(SettingsTest, DescribeMasksRedisPasswordForms) {
  Settings s;
  s.store.redis_url = "rediss://:only-SECRET@cache.example:6380";
  EXPECT_THAT(describe(s),
              AllOf(HasSubstr("rediss://:***@cache.example:6380"), Not(HasSubstr("only-SECRET"))));
  s.store.redis_url = "redis://bare-SECRET@cache.example";
  EXPECT_THAT(describe(s),
              AllOf(HasSubstr("redis://***@cache.example"), Not(HasSubstr("bare-SECRET"))));
  s.store.redis_url = "redis://u:we@ird/SECRET@cache.example";
  EXPECT_THAT(describe(s),
              AllOf(HasSubstr("redis://u:***@cache.example"), Not(HasSubstr("ird/SECRET"))));
  s.store.redis_url = "unix:///run/redis@1.sock";
  EXPECT_THAT(describe(s), HasSubstr("unix:///run/redis@1.sock"));
}

// --- the shipped example -----------------------------------------------------------------------

TEST(SettingsExample, ExampleConfigIsExactlyTheDefaults) {
  const fs::path example =
      fs::path(__FILE__).parent_path() / "../../../config/voxgate.example.toml";
  ASSERT_TRUE(fs::exists(example)) << example;
  EXPECT_EQ(load_settings(example.string(), fake_env({}), {}), Settings{});

  // Equal to the defaults could also mean "a key left out": it must list every key.
  const toml::table listed = toml::parse_file(example.string());
  const toml::table all_keys = toml::parse(describe(Settings{}));
  for (const auto& [section, keys] : all_keys) {
    for (const auto& [key, value] : *keys.as_table()) {
      EXPECT_TRUE(listed[section.str()][key.str()]) << section << "." << key << " is missing";
    }
  }
}

}  // namespace
}  // namespace voxgate::app
