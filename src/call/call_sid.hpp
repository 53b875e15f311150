// What a call sid from outside may look like. Twilio's are "CA" + 32 hex digits, but test
// tools and the seed's own curl example use short ones ("test123"), so any 1 to 64
// letters, digits, '_' or '-' are accepted, and nothing else: the sid goes into URLs,
// TwiML, store keys and log lines.
#pragma once

#include <cctype>
#include <string_view>

namespace voxgate::call {

inline constexpr std::size_t kMaxCallSidLength = 64;

inline bool is_valid_call_sid(std::string_view sid) {
  if (sid.empty() || sid.size() > kMaxCallSidLength) return false;
  for (const char c : sid) {
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '_' && c != '-') return false;
  }
  return true;
}

}  // namespace voxgate::call
