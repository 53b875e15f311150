// A real HTTP client for integration tests (libcurl), plus a raw TCP connection for
// sending bytes no well-behaved client would.
#pragma once

#include <curl/curl.h>

#include <map>
#include <string>
#include <vector>

#include "twilio/signature.hpp"

namespace voxgate::testing {

struct HttpResult {
  long status = 0;
  std::string body;
  std::map<std::string, std::string> headers;  // lowercase names
  long new_connections = 0;                    // 0 when a kept-alive connection was reused
  std::string error;                           // curl's error, empty on success
};

// One client = one connection cache: consecutive requests reuse a kept-alive connection.
class HttpClient {
 public:
  HttpClient();
  ~HttpClient();
  HttpClient(const HttpClient&) = delete;
  HttpClient& operator=(const HttpClient&) = delete;

  HttpResult get(const std::string& url, const std::vector<std::string>& headers = {});
  HttpResult post(const std::string& url, const std::string& body,
                  const std::vector<std::string>& headers = {
                      "Content-Type: application/x-www-form-urlencoded"});
  HttpResult remove(const std::string& url, const std::vector<std::string>& headers = {});

 private:
  HttpResult perform(const std::string& url, const std::string* body,
                     const std::vector<std::string>& headers, const char* method = nullptr);
  CURL* curl_;
};

// A blocking loopback TCP connection.
class RawConnection {
 public:
  explicit RawConnection(unsigned short port);
  ~RawConnection();
  void send(const std::string& bytes);
  // Reads until the peer closes or `timeout_ms` passes without data.
  std::string read_all(int timeout_ms = 5000);

 private:
  int fd_ = -1;
};

std::string form_encode(const std::vector<std::pair<std::string, std::string>>& params);

// A webhook as Twilio sends it: `params` form-encoded to `server` + `path`, signed with
// `auth_token` over `public_base` + `path` (the URL Twilio was given).
inline HttpResult post_signed(HttpClient& client, const std::string& server,
                              const std::string& path, const twilio::Params& params,
                              const std::string& auth_token, const std::string& public_base) {
  return client.post(server + path, form_encode(params),
                     {"Content-Type: application/x-www-form-urlencoded",
                      "X-Twilio-Signature: " +
                          twilio::compute_signature(auth_token, public_base + path, params)});
}

}  // namespace voxgate::testing
