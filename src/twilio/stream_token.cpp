// HMAC-SHA256 stream tokens (see stream_token.hpp). OpenSSL provides the MAC, the base64 encoder
// and the random bytes; the URL-safe alphabet is a character swap on its output.
#include "twilio/stream_token.hpp"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include <algorithm>
#include <climits>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>

namespace voxgate::twilio {
namespace {

constexpr int kSecretBytes = 32;

// base64url without padding (RFC 4648 §5): the token travels in TwiML and JSON, where '+', '/'
// and '=' are harmless, but the URL-safe form also survives being put in a URL or a log query.
std::string base64url_encode(const unsigned char* data, std::size_t n_bytes) {
  std::string out(4 * ((n_bytes + 2) / 3) + 1, '\0');  // +1: EVP_EncodeBlock writes a NUL
  const int n_chars = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()), data,
                                      static_cast<int>(n_bytes));
  out.resize(n_chars < 0 ? 0 : static_cast<std::size_t>(n_chars));
  while (!out.empty() && out.back() == '=') out.pop_back();
  std::replace(out.begin(), out.end(), '+', '-');
  std::replace(out.begin(), out.end(), '/', '_');
  return out;
}

}  // namespace

StreamTokenIssuer::StreamTokenIssuer(std::string secret) : secret_(std::move(secret)) {
  if (secret_.empty()) throw std::invalid_argument("stream token secret must not be empty");
  if (secret_.size() > static_cast<std::size_t>(INT_MAX)) {
    throw std::invalid_argument("stream token secret is too long");
  }
}

std::string StreamTokenIssuer::issue(std::string_view call_sid) const {
  if (call_sid.empty()) return {};
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int n_mac = 0;
  if (HMAC(EVP_sha256(), secret_.data(), static_cast<int>(secret_.size()),
           reinterpret_cast<const unsigned char*>(call_sid.data()), call_sid.size(), mac,
           &n_mac) == nullptr) {
    return {};
  }
  return base64url_encode(mac, n_mac);
}

bool StreamTokenIssuer::verify(std::string_view call_sid, std::string_view token) const {
  if (token.empty()) return false;
  const std::string expected = issue(call_sid);
  // Tokens have a fixed length, so only the contents need a constant-time compare. Comparing
  // the canonical encoding also rejects tokens that differ only in unused trailing bits.
  return !expected.empty() && expected.size() == token.size() &&
         CRYPTO_memcmp(expected.data(), token.data(), expected.size()) == 0;
}

std::string StreamTokenIssuer::random_secret() {
  unsigned char bytes[kSecretBytes];
  if (RAND_bytes(bytes, kSecretBytes) != 1) {
    throw std::runtime_error("RAND_bytes failed: cannot generate a stream token secret");
  }
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string hex;
  hex.reserve(2 * kSecretBytes);
  for (const unsigned char b : bytes) {
    hex.push_back(kDigits[b >> 4]);
    hex.push_back(kDigits[b & 0x0f]);
  }
  OPENSSL_cleanse(bytes, sizeof(bytes));
  return hex;
}

}  // namespace voxgate::twilio
