#include "net/webhook_auth.hpp"

#include <boost/beast/core/string.hpp>
#include <boost/beast/http/field.hpp>
#include <openssl/crypto.h>
#include <spdlog/spdlog.h>

#include <cctype>

#include "util/log.hpp"

namespace voxgate::net {
namespace http = boost::beast::http;

namespace {

bool starts_with_ignoring_case(std::string_view text, std::string_view prefix) {
  return text.size() >= prefix.size() && boost::beast::iequals(text.substr(0, prefix.size()), prefix);
}

// Hosts are names, IPv4/IPv6 literals and an optional port: nothing that could change
// the meaning of a URL built from them.
bool is_plausible_host(std::string_view host) {
  if (host.empty() || host.size() > 255) return false;
  for (const char c : host) {
    const bool ok = std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '-' ||
                    c == ':' || c == '[' || c == ']' || c == '_';
    if (!ok) return false;
  }
  return true;
}

std::string_view field(const Request& request, http::field name) {
  const auto value = request[name];
  return {value.data(), value.size()};
}

}  // namespace

WebhookAuth::WebhookAuth(WebhookAuthOptions options, observe::Registry& metrics)
    : options_(std::move(options)),
      validator_(options_.auth_token.empty()
                     ? std::nullopt
                     : std::optional<twilio::SignatureValidator>(std::in_place,
                                                                 options_.auth_token)),
      rejected_total_(metrics.counter("voxgate_webhook_rejected_total",
                                      "Webhook and admin requests refused, by route and reason.",
                                      {"route", "reason"})) {}

std::optional<std::string> WebhookAuth::base_url(const Request& request) const {
  if (!options_.public_base_url.empty()) return options_.public_base_url;
  const std::string_view host = field(request, http::field::host);
  if (!is_plausible_host(host)) return std::nullopt;
  return "http://" + std::string(host);
}

std::variant<WebhookRequest, Response> WebhookAuth::check_twilio(const Request& request,
                                                                  std::string_view route) const {
  const std::string_view content_type = field(request, http::field::content_type);
  if (!content_type.empty() &&
      !starts_with_ignoring_case(content_type, "application/x-www-form-urlencoded")) {
    rejected_total_.with({std::string(route), "unsupported_media_type"}).inc();
    return error_response(Status::unsupported_media_type, "unsupported_media_type",
                          "Twilio webhooks are application/x-www-form-urlencoded.");
  }
  FormParseResult form = parse_form(request.body());
  if (form.error) {
    rejected_total_.with({std::string(route), "malformed_form"}).inc();
    return error_response(Status::bad_request, "malformed_form", form.message);
  }
  auto base = base_url(request);
  if (!base) {
    rejected_total_.with({std::string(route), "no_base_url"}).inc();
    return error_response(Status::bad_request, "missing_host",
                          "No Host header and no PUBLIC_BASE_URL configured.");
  }
  if (validator_) {
    // Header names compare case-insensitively, so the lowercase x-twilio-signature of
    // WebSocket upgrades (twilio-protocol.md §4.1) is found too.
    const auto header = request["X-Twilio-Signature"];
    const std::string_view signature{header.data(), header.size()};
    const std::string url = *base + std::string(request.target());
    const char* reason = nullptr;
    if (signature.empty()) {
      reason = "missing_signature";
    } else if (!validator_->validate(url, form.params, signature)) {
      reason = "bad_signature";
    }
    if (reason != nullptr) {
      const std::string* call_sid = find_first(form.params, "CallSid");
      log::CallScope scope(call_sid != nullptr ? *call_sid : std::string_view{});
      spdlog::warn("Refused {} {}: {} (signed URL expected: {})",
                   std::string(request.method_string()), route, reason, url);
      rejected_total_.with({std::string(route), reason}).inc();
      return error_response(Status::forbidden, reason,
                            signature.empty()
                                ? "This webhook needs an X-Twilio-Signature header."
                                : "The X-Twilio-Signature does not match this request.");
    }
  }
  return WebhookRequest{std::move(form.params), std::move(*base)};
}

std::optional<Response> WebhookAuth::check_admin(const Request& request) const {
  if (options_.admin_token.empty()) {
    if (development_mode()) return std::nullopt;
    rejected_total_.with({"admin", "no_admin_token"}).inc();
    return error_response(Status::unauthorized, "admin_token_not_configured",
                          "This API needs server.admin_token (VOXGATE_ADMIN_TOKEN) to be set "
                          "when the server runs with a Twilio auth token.");
  }
  const std::string_view authorization = field(request, http::field::authorization);
  const std::string expected = "Bearer " + options_.admin_token;
  const bool ok = authorization.size() == expected.size() &&
                  CRYPTO_memcmp(authorization.data(), expected.data(), expected.size()) == 0;
  if (ok) return std::nullopt;
  rejected_total_.with({"admin", authorization.empty() ? "missing_bearer" : "bad_bearer"}).inc();
  Response response = error_response(Status::unauthorized, "unauthorized",
                                     "This API needs 'Authorization: Bearer <admin token>'.");
  response.set(http::field::www_authenticate, "Bearer");
  return response;
}

}  // namespace voxgate::net
