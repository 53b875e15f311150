// X-Twilio-Signature computation and validation (twilio-protocol.md §4). HMAC, SHA-256 and
// base64 come from OpenSSL; URL variants are built with Boost.URL so that the bytes Twilio
// signed are changed only where a port is added or removed.
#include "twilio/signature.hpp"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <algorithm>
#include <boost/url.hpp>
#include <climits>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace voxgate::twilio {
namespace {

// Query parameter Twilio adds to the URL of JSON-body webhooks (§4.1 "JSON bodies").
constexpr std::string_view kBodyHashParam = "bodySHA256";

std::string base64_encode(const unsigned char* data, std::size_t n_bytes) {
  std::string out(4 * ((n_bytes + 2) / 3) + 1, '\0');  // +1: EVP_EncodeBlock writes a NUL
  const int n_chars = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()), data,
                                      static_cast<int>(n_bytes));
  out.resize(n_chars < 0 ? 0 : static_cast<std::size_t>(n_chars));
  return out;
}

std::string to_hex(const unsigned char* data, std::size_t n_bytes) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  out.reserve(2 * n_bytes);
  for (std::size_t i = 0; i < n_bytes; ++i) {
    out.push_back(kDigits[data[i] >> 4]);
    out.push_back(kDigits[data[i] & 0x0f]);
  }
  return out;
}

// Equal length is not secret (a signature is always 28 characters), so only the contents are
// compared in constant time.
bool constant_time_equal(std::string_view a, std::string_view b) {
  return !a.empty() && a.size() == b.size() && CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

std::uint16_t standard_port(boost::urls::scheme id) {
  switch (id) {
    case boost::urls::scheme::https:
    case boost::urls::scheme::wss:
      return 443;
    case boost::urls::scheme::http:
    case boost::urls::scheme::ws:
      return 80;
    default:
      return 0;
  }
}

// The URLs Twilio's helper libraries try for one request: twilio-python's validate() checks
// `remove_port(uri)` and `add_port(uri)`; twilio-node checks the URL with and without the
// standard port (§4.1). Voice callbacks over HTTPS are signed without the port while HTTP ones
// keep it, and a proxy may or may not show the port to us, hence both directions.
std::vector<std::string> url_variants(std::string_view url) {
  std::vector<std::string> variants{std::string(url)};
  const auto parsed = boost::urls::parse_uri(url);
  if (!parsed) return variants;
  boost::urls::url u(*parsed);
  if (u.has_port()) {
    u.remove_port();
    variants.emplace_back(u.buffer());
  } else if (const std::uint16_t port = standard_port(u.scheme_id());
             port != 0 && u.has_authority() && !u.encoded_host().empty()) {
    u.set_port_number(port);
    variants.emplace_back(u.buffer());
  }
  return variants;
}

struct BodyHashQuery {
  std::size_t count = 0;  // how many bodySHA256 parameters the query holds
  std::string value;      // the last one, percent-decoded
};

BodyHashQuery find_body_hash(std::string_view url) {
  BodyHashQuery found;
  const auto parsed = boost::urls::parse_uri(url);
  if (!parsed || !parsed->has_query()) return found;
  for (const auto& param : parsed->params()) {
    if (param.key == kBodyHashParam) {
      ++found.count;
      found.value = param.value;
    }
  }
  return found;
}

}  // namespace

std::string compute_signature(std::string_view auth_token, std::string_view url,
                              const Params& params) {
  if (auth_token.size() > static_cast<std::size_t>(INT_MAX)) return {};

  // std::string_view compares through char_traits<char>, which orders bytes as unsigned char:
  // the byte-wise, case-sensitive ("Unix-style") order of §4.1.
  std::vector<std::pair<std::string_view, std::string_view>> sorted(params.begin(), params.end());
  std::sort(sorted.begin(), sorted.end());
  sorted.erase(std::unique(sorted.begin(), sorted.end()), sorted.end());

  std::size_t n_bytes = url.size();
  for (const auto& [name, value] : sorted) n_bytes += name.size() + value.size();
  std::string message;
  message.reserve(n_bytes);
  message.append(url);
  for (const auto& [name, value] : sorted) {
    message.append(name);
    message.append(value);
  }

  // An empty string_view may hold a null pointer; give OpenSSL a real (empty) key buffer.
  static constexpr unsigned char kEmptyKey[1] = {0};
  const void* key = auth_token.empty() ? static_cast<const void*>(kEmptyKey) : auth_token.data();
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int n_mac = 0;
  if (HMAC(EVP_sha1(), key, static_cast<int>(auth_token.size()),
           reinterpret_cast<const unsigned char*>(message.data()), message.size(), mac,
           &n_mac) == nullptr) {
    return {};
  }
  return base64_encode(mac, n_mac);
}

std::string body_sha256_hex(std::string_view body) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int n_digest = 0;
  if (EVP_Digest(body.data(), body.size(), digest, &n_digest, EVP_sha256(), nullptr) != 1) {
    return {};
  }
  return to_hex(digest, n_digest);
}

SignatureValidator::SignatureValidator(std::string auth_token)
    : auth_token_(std::move(auth_token)) {}

bool SignatureValidator::validate(std::string_view url, const Params& params,
                                  std::string_view signature) const {
  // Twilio signs JSON-body requests over the URL alone (§4.1); form params next to a
  // bodySHA256 URL mean the request is not what Twilio sent.
  if (!params.empty() && find_body_hash(url).count != 0) return false;
  return matches_any_variant(url, params, signature);
}

bool SignatureValidator::validate_body(std::string_view url, std::string_view body,
                                       std::string_view signature) const {
  const BodyHashQuery query = find_body_hash(url);
  // Two bodySHA256 values would let a forger pick which one we check; Twilio sends one.
  if (query.count != 1) return false;
  std::string claimed = query.value;
  std::transform(claimed.begin(), claimed.end(), claimed.begin(), [](unsigned char c) {
    return static_cast<char>(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
  });
  const bool body_ok = constant_time_equal(body_sha256_hex(body), claimed);
  const bool signature_ok = matches_any_variant(url, {}, signature);
  return body_ok && signature_ok;
}

bool SignatureValidator::matches_any_variant(std::string_view url, const Params& params,
                                             std::string_view signature) const {
  if (auth_token_.empty() || signature.empty()) return false;
  // Every variant is computed and compared, so timing does not reveal which one matched.
  bool matched = false;
  for (const std::string& variant : url_variants(url)) {
    const bool equal =
        constant_time_equal(compute_signature(auth_token_, variant, params), signature);
    matched = matched || equal;
  }
  return matched;
}

std::string form_encode(const Params& params) {
  std::string body;
  for (const auto& [name, value] : params) {
    if (!body.empty()) body += '&';
    body += boost::urls::encode(name, boost::urls::unreserved_chars);
    body += '=';
    body += boost::urls::encode(value, boost::urls::unreserved_chars);
  }
  return body;
}

}  // namespace voxgate::twilio
