// Decoding of application/x-www-form-urlencoded bodies, the format of every Twilio webhook
// POST (CallSid=CA...&From=%2B14155551234&...).
//
// Rules (WHATWG URL standard, "application/x-www-form-urlencoded parsing", except that a
// malformed escape is an error instead of passing through):
// - fields are separated by '&'; empty fields ("a=1&&b=2", a leading or trailing '&') are
//   skipped;
// - a field splits at its first '=' into name and value; a field without '=' is (name, "");
// - '+' decodes to a space and %XX (hex digits of either case) to that byte, so "%2B" is a
//   literal '+'; any other byte passes through unchanged (UTF-8, raw or escaped, stays
//   UTF-8; %00 gives a NUL byte);
// - a '%' not followed by two hex digits makes the whole body invalid.
//
// Contract: pure functions, safe from any thread. Bad input is reported in the result,
// never thrown (a request body comes from outside); callers answer 400.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace voxgate::net {

// Decoded (name, value) pairs in received order; a repeated name gives repeated pairs.
using FormParams = std::vector<std::pair<std::string, std::string>>;

enum class FormError {
  kInvalidEscape,  // '%' not followed by two hex digits
  kTooManyFields,  // more than FormLimits::max_fields fields
  kFieldTooLong,   // one field longer than FormLimits::max_field_bytes
};

// A short fixed description, e.g. "invalid percent escape".
std::string_view to_string(FormError error);

// Bounds on the work one body can cause. Twilio sends a few dozen short fields; the
// defaults leave room for long values (SpeechResult, UnstableSpeechResult) while keeping a
// hostile body from making thousands of allocations.
struct FormLimits {
  std::size_t max_fields = 256;             // non-empty fields
  std::size_t max_field_bytes = 64 * 1024;  // one encoded `name=value`, before decoding
};

struct FormParseResult {
  // All fields on success; empty on error, so no caller acts on half a request.
  FormParams params;
  // Set when the body was rejected.
  std::optional<FormError> error;
  // Empty on success; otherwise a sentence for the log or a 400 answer that says which field
  // (by position and byte offset, never by content, which could be anything) was wrong.
  std::string message;

  bool ok() const { return !error.has_value(); }
};

// Decodes `body` (an empty body gives no fields).
FormParseResult parse_form(std::string_view body, const FormLimits& limits = {});

// The value of the first field called `name`, or nullptr when there is none. The pointer
// refers into `params` and lives as long as it is unchanged.
const std::string* find_first(const FormParams& params, std::string_view name);

}  // namespace voxgate::net
