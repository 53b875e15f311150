// A custom spdlog formatter rather than a pattern string: the JSON form must escape the
// message and carry call_sid as its own field, which spdlog's pattern flags cannot do.
#include "util/log.hpp"

#include <boost/json/serialize.hpp>
#include <boost/json/string.hpp>
#include <spdlog/sinks/stdout_sinks.h>

#include <chrono>
#include <ctime>

namespace voxgate::log {
namespace {

thread_local std::string t_call_sid;

// UTC, millisecond precision, ISO 8601: sortable and unambiguous across machines.
void append_timestamp(std::chrono::system_clock::time_point when, spdlog::memory_buf_t& out) {
  const auto since_epoch = when.time_since_epoch();
  const auto seconds = std::chrono::duration_cast<std::chrono::seconds>(since_epoch);
  const auto millis = std::chrono::duration_cast<std::chrono::milliseconds>(since_epoch - seconds);
  const std::time_t t = seconds.count();
  std::tm tm{};
  gmtime_r(&t, &tm);
  fmt::format_to(std::back_inserter(out), "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z",
                 tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                 static_cast<int>(millis.count()));
}

std::string_view level_name(spdlog::level::level_enum level) {
  const auto& name = spdlog::level::to_string_view(level);
  return {name.data(), name.size()};
}

class TextFormatter final : public spdlog::formatter {
 public:
  void format(const spdlog::details::log_msg& msg, spdlog::memory_buf_t& dest) override {
    append_timestamp(msg.time, dest);
    fmt::format_to(std::back_inserter(dest), " {:<5}", level_name(msg.level));
    if (!t_call_sid.empty()) fmt::format_to(std::back_inserter(dest), " [{}]", t_call_sid);
    dest.push_back(' ');
    dest.append(msg.payload.begin(), msg.payload.end());
    dest.push_back('\n');
  }
  std::unique_ptr<spdlog::formatter> clone() const override {
    return std::make_unique<TextFormatter>();
  }
};

class JsonFormatter final : public spdlog::formatter {
 public:
  void format(const spdlog::details::log_msg& msg, spdlog::memory_buf_t& dest) override {
    dest.append(std::string_view{"{\"ts\":\""});
    append_timestamp(msg.time, dest);
    fmt::format_to(std::back_inserter(dest), "\",\"level\":\"{}\"", level_name(msg.level));
    if (!t_call_sid.empty()) append_field(dest, "call_sid", t_call_sid);
    append_field(dest, "msg", {msg.payload.data(), msg.payload.size()});
    dest.append(std::string_view{"}\n"});
  }
  std::unique_ptr<spdlog::formatter> clone() const override {
    return std::make_unique<JsonFormatter>();
  }

 private:
  static void append_field(spdlog::memory_buf_t& dest, std::string_view key,
                           std::string_view value) {
    fmt::format_to(std::back_inserter(dest), ",\"{}\":", key);
    const std::string quoted = boost::json::serialize(boost::json::string_view{value});
    dest.append(quoted.data(), quoted.data() + quoted.size());
  }
};

}  // namespace

std::unique_ptr<spdlog::formatter> make_formatter(Format format) {
  if (format == Format::kJson) return std::make_unique<JsonFormatter>();
  return std::make_unique<TextFormatter>();
}

void init(spdlog::level::level_enum level, Format format) {
  auto logger = std::make_shared<spdlog::logger>(
      "voxgate", std::make_shared<spdlog::sinks::stderr_sink_mt>());
  logger->set_formatter(make_formatter(format));
  logger->set_level(level);
  logger->flush_on(spdlog::level::info);
  spdlog::set_default_logger(std::move(logger));
}

CallScope::CallScope(std::string_view call_sid) : previous_(std::move(t_call_sid)) {
  t_call_sid.assign(call_sid);
}

CallScope::~CallScope() { t_call_sid = std::move(previous_); }

std::string_view current_call_sid() { return t_call_sid; }

}  // namespace voxgate::log
