// What a JSON API said went wrong. OpenAI-compatible servers answer failures with
// {"error": {"message": "…", "type": …}} (some with {"error": "…"}); the engines put that
// sentence in their error, so a log line says "model not found" rather than "HTTP 404".
#pragma once

#include <string>
#include <string_view>

namespace voxgate::http {

// The error's message, else the first 200 bytes of the body.
std::string api_error_message(std::string_view body);

}  // namespace voxgate::http
