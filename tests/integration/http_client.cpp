#include "http_client.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <stdexcept>

namespace voxgate::testing {
namespace {

size_t append_body(char* data, size_t size, size_t count, void* user) {
  static_cast<std::string*>(user)->append(data, size * count);
  return size * count;
}

size_t append_header(char* data, size_t size, size_t count, void* user) {
  std::string line(data, size * count);
  const auto colon = line.find(':');
  if (colon != std::string::npos) {
    std::string name = line.substr(0, colon);
    std::transform(name.begin(), name.end(), name.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    std::string value = line.substr(colon + 1);
    value.erase(0, value.find_first_not_of(' '));
    value.erase(value.find_last_not_of("\r\n ") + 1);
    (*static_cast<std::map<std::string, std::string>*>(user))[name] = value;
  }
  return size * count;
}

}  // namespace

HttpClient::HttpClient() : curl_(curl_easy_init()) {
  if (curl_ == nullptr) throw std::runtime_error("curl_easy_init failed");
}

HttpClient::~HttpClient() { curl_easy_cleanup(curl_); }

HttpResult HttpClient::get(const std::string& url, const std::vector<std::string>& headers) {
  return perform(url, nullptr, headers);
}

HttpResult HttpClient::post(const std::string& url, const std::string& body,
                            const std::vector<std::string>& headers) {
  return perform(url, &body, headers);
}

HttpResult HttpClient::remove(const std::string& url, const std::vector<std::string>& headers) {
  return perform(url, nullptr, headers, "DELETE");
}

HttpResult HttpClient::perform(const std::string& url, const std::string* body,
                               const std::vector<std::string>& headers, const char* method) {
  HttpResult result;
  curl_easy_setopt(curl_, CURLOPT_CUSTOMREQUEST, method);  // nullptr: the default for the call
  curl_easy_setopt(curl_, CURLOPT_URL, url.c_str());
  // Twilio waits 15 s for a webhook answer (twilio-protocol.md §2.1): so does this client.
  curl_easy_setopt(curl_, CURLOPT_TIMEOUT_MS, 15000L);
  curl_easy_setopt(curl_, CURLOPT_WRITEFUNCTION, append_body);
  curl_easy_setopt(curl_, CURLOPT_WRITEDATA, &result.body);
  curl_easy_setopt(curl_, CURLOPT_HEADERFUNCTION, append_header);
  curl_easy_setopt(curl_, CURLOPT_HEADERDATA, &result.headers);
  if (body != nullptr) {
    curl_easy_setopt(curl_, CURLOPT_POST, 1L);
    curl_easy_setopt(curl_, CURLOPT_POSTFIELDS, body->data());
    curl_easy_setopt(curl_, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(body->size()));
  } else {
    curl_easy_setopt(curl_, CURLOPT_HTTPGET, 1L);
  }
  curl_slist* list = nullptr;
  for (const auto& header : headers) list = curl_slist_append(list, header.c_str());
  curl_easy_setopt(curl_, CURLOPT_HTTPHEADER, list);
  const CURLcode code = curl_easy_perform(curl_);
  curl_slist_free_all(list);
  if (code != CURLE_OK) result.error = curl_easy_strerror(code);
  curl_easy_getinfo(curl_, CURLINFO_RESPONSE_CODE, &result.status);
  curl_easy_getinfo(curl_, CURLINFO_NUM_CONNECTS, &result.new_connections);
  return result;
}

RawConnection::RawConnection(unsigned short port) {
  fd_ = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(port);
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (fd_ < 0 || connect(fd_, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0) {
    throw std::runtime_error("cannot connect to the server");
  }
}

RawConnection::~RawConnection() {
  if (fd_ >= 0) close(fd_);
}

void RawConnection::send(const std::string& bytes) {
  size_t sent = 0;
  while (sent < bytes.size()) {
    const ssize_t n = ::send(fd_, bytes.data() + sent, bytes.size() - sent, MSG_NOSIGNAL);
    if (n <= 0) return;  // the server may close early; the test reads what it said
    sent += static_cast<size_t>(n);
  }
}

std::string RawConnection::read_all(int timeout_ms) {
  std::string received;
  char buffer[4096];
  for (;;) {
    pollfd poll_fd{fd_, POLLIN, 0};
    if (poll(&poll_fd, 1, timeout_ms) <= 0) break;
    const ssize_t n = recv(fd_, buffer, sizeof buffer, 0);
    if (n <= 0) break;
    received.append(buffer, static_cast<size_t>(n));
  }
  return received;
}

std::string form_encode(const std::vector<std::pair<std::string, std::string>>& params) {
  std::string body;
  for (const auto& [name, value] : params) {
    if (!body.empty()) body += '&';
    char* name_escaped = curl_easy_escape(nullptr, name.c_str(), static_cast<int>(name.size()));
    char* value_escaped = curl_easy_escape(nullptr, value.c_str(), static_cast<int>(value.size()));
    body += name_escaped;
    body += '=';
    body += value_escaped;
    curl_free(name_escaped);
    curl_free(value_escaped);
  }
  return body;
}

}  // namespace voxgate::testing
