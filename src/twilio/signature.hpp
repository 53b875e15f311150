// Twilio request validation (the X-Twilio-Signature header).
//
// Twilio signs every webhook it sends: base64(HMAC-SHA1(auth token, url + params)), as described
// in twilio-protocol.md §4.1. This file computes that signature and checks incoming requests
// against it, including the URL variants (port added or removed) that Twilio's own helper
// libraries accept, and the JSON-body variant signed over a URL carrying `bodySHA256`.
//
// Contract:
// - Pure functions and an immutable validator: safe to use from many threads at once.
// - No exceptions for bad input: malformed URLs, empty or garbled signatures and the like make
//   validation return false; compute_signature returns an empty string only if OpenSSL fails.
// - Comparisons against the received signature run in constant time.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace voxgate::twilio {

// Form parameters as received, in any order; a name may repeat (e.g. `Digits=1&Digits=2`).
// Names and values are the decoded form fields, signed byte for byte.
using Params = std::vector<std::pair<std::string, std::string>>;

// The params as an application/x-www-form-urlencoded body, in the given order, as Twilio
// sends webhooks and takes REST parameters: everything but RFC 3986's unreserved characters
// is percent-encoded, so '&', '=', '+', '<' and non-ASCII survive; spaces become %20, which
// form decoders (Twilio's included) accept as well as '+'.
std::string form_encode(const Params& params);

// base64(HMAC-SHA1(auth_token, url + name1 + value1 + name2 + value2 ...)), with the params sorted
// byte-wise by name, then by value, and exact duplicate (name, value) pairs signed once.
//
// Duplicates are dropped because that is what Twilio does: vector #9 of twilio-protocol.md §4.2
// (Digits = 5678, 1234, 1234) gives `IK+Dwps556ElfBT0I3Rgjkr1wJU=` only when the repeated
// `Digits1234` is appended once; keeping it gives `tM//N+MVWOh7+ol2z8YCNxSY0Eg=`. twilio-node
// (`toFormUrlEncodedParam`, a Set) and twilio-python (`sorted(set(values))`) both de-duplicate.
//
// `url` is used exactly as given (no decoding, no normalisation). Returns "" if OpenSSL fails.
std::string compute_signature(std::string_view auth_token, std::string_view url,
                              const Params& params);

// Lower-case hex SHA-256 of `body`: the `bodySHA256` query value of JSON-body webhooks.
std::string body_sha256_hex(std::string_view body);

// Checks X-Twilio-Signature values against one auth token.
//
// URL variants tried (as twilio-python and twilio-node do, §4.1 "Port/scheme rules"):
//   1. the URL as given;
//   2. if it carries a port, the URL with the port removed (whatever the port);
//   3. if it carries no port, the URL with the scheme's default port added
//      (443 for https and wss, 80 for http and ws; other schemes get no such variant).
// User info (`user:pass@`) is kept in every variant, as in the libraries' tests (§4.2 #5-#7).
// A URL Boost.URL cannot parse is still checked as given, without variants.
//
// Thread safety: immutable after construction; all methods are const and thread-safe.
class SignatureValidator {
 public:
  // An empty token validates nothing (every call returns false): an unset token must not make
  // the check trivially forgeable.
  explicit SignatureValidator(std::string auth_token);

  // True when `signature` matches url + params under one of the URL variants above.
  // Empty signature -> false.
  // A URL whose query carries `bodySHA256` belongs to a JSON-body request: Twilio appends no
  // params to those, so this returns false when `params` is non-empty; with empty params it
  // checks the URL signature only and NOT the body hash — use validate_body() for such requests.
  bool validate(std::string_view url, const Params& params, std::string_view signature) const;

  // JSON-body variant: true when the URL's query carries exactly one `bodySHA256` equal to the
  // hex SHA-256 of `body` (case-insensitive hex), and `signature` matches the URL alone (no
  // params) under one of the URL variants above. A URL without `bodySHA256` -> false.
  bool validate_body(std::string_view url, std::string_view body, std::string_view signature) const;

 private:
  // Constant-time check of `signature` against every URL variant of `url` signed with params.
  bool matches_any_variant(std::string_view url, const Params& params,
                           std::string_view signature) const;

  std::string auth_token_;
};

}  // namespace voxgate::twilio
