// Who may call what (DESIGN.md §2): Twilio's webhooks carry X-Twilio-Signature, checked
// against the public URL Twilio requested when an auth token is configured; the admin
// APIs carry a bearer token. Both also need the server's public base URL, which comes
// from configuration or, in development mode only, from the request's Host header.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <variant>

#include "net/form.hpp"
#include "net/router.hpp"
#include "observe/metrics.hpp"
#include "twilio/signature.hpp"

namespace voxgate::net {

struct WebhookAuthOptions {
  // "https://voice.example.com" (no trailing slash), or "" in development mode.
  std::string public_base_url;
  // Twilio auth token; "" means development mode: signatures are not checked.
  std::string auth_token;
  // Bearer token for /calls and the HTTP chunk API; "" means none configured.
  std::string admin_token;
};

// A webhook request that passed the checks: its form fields and the base URL to build
// absolute TwiML URLs from.
struct WebhookRequest {
  FormParams params;
  std::string base_url;
};

// Thread-safe (immutable after construction).
class WebhookAuth {
 public:
  WebhookAuth(WebhookAuthOptions options, observe::Registry& metrics);

  // Parses a Twilio webhook (form-encoded POST) and checks its signature. On failure,
  // returns the response to send instead: 400 malformed form or no usable base URL,
  // 415 not a form, 403 missing or wrong signature (logged, never with the signature).
  // `route` names the route in logs and metrics.
  std::variant<WebhookRequest, Response> check_twilio(const Request& request,
                                                      std::string_view route) const;

  // Checks the bearer token of an admin API request; nullopt when it may go on.
  std::optional<Response> check_admin(const Request& request) const;

  // The base URL for absolute links: the configured one, else "http://" + Host.
  // nullopt when neither is usable.
  std::optional<std::string> base_url(const Request& request) const;

  bool development_mode() const { return options_.auth_token.empty(); }

 private:
  const WebhookAuthOptions options_;
  const std::optional<twilio::SignatureValidator> validator_;
  observe::Family<observe::Counter>& rejected_total_;
};

}  // namespace voxgate::net
