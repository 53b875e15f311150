// Logging: spdlog configured once at start, as human-readable text or as JSON lines.
//
// Every line about a call carries its call_sid. Code that works for one call opens a
// CallScope on entry (a webhook handler, a step on the call's strand); the formatter
// then adds the sid to every line written on that thread while the scope lives. Calls
// are served on strands, so one thread works for one call at a time and a thread-local
// scope is exact.
//
// Secrets (auth tokens, signatures, stream tokens) are never passed to the logger.
#pragma once

#include <spdlog/spdlog.h>

#include <string>
#include <string_view>

namespace voxgate::log {

enum class Format { kText, kJson };

// Replaces spdlog's default logger with one that writes to stderr in `format`.
// Not thread-safe: call once at start, before other threads log.
void init(spdlog::level::level_enum level, Format format);

// Formats one line as `init` does; exposed for tests.
std::unique_ptr<spdlog::formatter> make_formatter(Format format);

// Marks the lines logged on this thread, while alive, as being about `call_sid`.
// Scopes nest: the previous sid comes back when an inner scope ends.
class CallScope {
 public:
  explicit CallScope(std::string_view call_sid);
  ~CallScope();
  CallScope(const CallScope&) = delete;
  CallScope& operator=(const CallScope&) = delete;

 private:
  std::string previous_;
};

// The call_sid of the innermost CallScope on this thread, or "" outside any.
std::string_view current_call_sid();

}  // namespace voxgate::log
