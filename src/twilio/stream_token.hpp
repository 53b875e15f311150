// Per-call tokens for the Media Streams WebSocket.
//
// The TwiML that opens a <Connect><Stream> carries <Parameter name="token" value="..."/>; Twilio
// echoes it in the `start` message's customParameters (twilio-protocol.md §1.2, §1.5), so the
// WebSocket side can check that the stream belongs to a call we answered. An unauthenticated
// stream endpoint would let anyone spend our STT/LLM/TTS budget (§6, "Other notes").
//
// token = base64url without padding (RFC 4648 §5) of HMAC-SHA256(secret, call_sid). Tokens are
// stateless: every worker configured with the same secret accepts every other worker's tokens.
//
// Contract:
// - Immutable after construction; all methods are const and safe to call from many threads.
// - The constructor throws std::invalid_argument on an empty secret (start-up configuration).
// - issue() and verify() never throw: an empty call SID yields "" and false, as does an OpenSSL
//   failure. verify() compares in constant time.
#pragma once

#include <string>
#include <string_view>

namespace voxgate::twilio {

class StreamTokenIssuer {
 public:
  // Throws std::invalid_argument when `secret` is empty.
  explicit StreamTokenIssuer(std::string secret);

  // The token for `call_sid` (43 characters), or "" when call_sid is empty.
  std::string issue(std::string_view call_sid) const;

  // True when `token` is exactly issue(call_sid). Empty call_sid or token -> false.
  bool verify(std::string_view call_sid, std::string_view token) const;

  // 32 random bytes from RAND_bytes, as 64 lower-case hex characters: a secret for development
  // mode when none is configured (tokens then only verify on this process). Throws
  // std::runtime_error if the random generator fails (start-up only).
  static std::string random_secret();

 private:
  std::string secret_;
};

}  // namespace voxgate::twilio
