// The outgoing HTTP client (http/client.hpp) on libcurl's multi interface.
//
// One thread per client drives one CURLM: it takes new and cancelled transfers from a
// queue under a mutex, lets curl work, and posts each transfer's callbacks to that
// transfer's executor. Once a transfer is queued, its easy handle is touched only by that
// thread, so curl itself needs no locking.
//
// URLs are parsed by curl's own URL API and the parsed handle is what the transfer fetches
// (CURLOPT_CURLU), so the allow-list check and the connection see the same host. A second
// parser could disagree with curl on inputs like "http://127.1/" (curl connects to
// 127.0.0.1) or "http://allowed@evil/", and a disagreement is a way past the allow-list.
#include "http/client.hpp"

#include <curl/curl.h>

#include <algorithm>
#include <atomic>
#include <boost/asio/post.hpp>
#include <charconv>
#include <mutex>
#include <optional>
#include <system_error>
#include <thread>
#include <unordered_map>

namespace voxgate::http {
namespace {

using util::Error;
using util::ErrorCode;

// Only an upper bound on each wait: curl_multi_poll returns sooner when one of curl's own
// timers (a timeout, a retry) is due, or when curl_multi_wakeup is called.
constexpr int kPollMaxMs = 1000;

// Keep-alive connections to one service are reused; this bounds how many a burst of
// requests opens to it (the rest wait in curl's queue, their timeout running).
constexpr long kMaxHostConnections = 16;

// curl_global_init must run before any other curl call, and only once.
bool curl_ready() {
  static std::once_flag once;
  static CURLcode code = CURLE_OK;
  std::call_once(once, [] { code = curl_global_init(CURL_GLOBAL_DEFAULT); });
  return code == CURLE_OK;
}

char ascii_lower(char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; }

std::string lowercase(std::string_view text) {
  std::string out(text);
  std::transform(out.begin(), out.end(), out.begin(), ascii_lower);
  return out;
}

std::string_view trim(std::string_view text) {
  const auto is_space = [](char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; };
  while (!text.empty() && is_space(text.front())) text.remove_prefix(1);
  while (!text.empty() && is_space(text.back())) text.remove_suffix(1);
  return text;
}

std::optional<int> parse_port(std::string_view text) {
  int port = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), port);
  if (text.empty() || ec != std::errc() || end != text.data() + text.size() || port < 1 ||
      port > 65535) {
    return std::nullopt;
  }
  return port;
}

struct CurlUrlDeleter {
  void operator()(CURLU* url) const { curl_url_cleanup(url); }
};
using CurlUrl = std::unique_ptr<CURLU, CurlUrlDeleter>;

// What the allow-list needs of a URL, and the parsed URL itself for the transfer.
struct UrlParts {
  CurlUrl handle;
  std::string host;  // lowercase; an IPv6 address in brackets
  std::optional<int> explicit_port;
  int port = 0;  // the explicit port or the scheme's default
};

std::optional<std::string> url_part(CURLU* url, CURLUPart part) {
  char* text = nullptr;
  if (curl_url_get(url, part, &text, 0) != CURLUE_OK || text == nullptr) return std::nullopt;
  std::string out(text);
  curl_free(text);
  return out;
}

std::optional<UrlParts> parse_url(std::string_view url) {
  // curl reads a C string: it would fetch only what comes before a NUL.
  if (url.find('\0') != std::string_view::npos || !curl_ready()) return std::nullopt;
  UrlParts parts{.handle = CurlUrl(curl_url())};
  if (!parts.handle) return std::nullopt;
  if (curl_url_set(parts.handle.get(), CURLUPART_URL, std::string(url).c_str(), 0) != CURLUE_OK) {
    return std::nullopt;
  }
  const auto scheme = url_part(parts.handle.get(), CURLUPART_SCHEME);
  if (!scheme) return std::nullopt;
  const std::string scheme_lower = lowercase(*scheme);
  if (scheme_lower != "http" && scheme_lower != "https") return std::nullopt;
  const auto host = url_part(parts.handle.get(), CURLUPART_HOST);
  if (!host || host->empty()) return std::nullopt;
  parts.host = lowercase(*host);
  if (const auto port_text = url_part(parts.handle.get(), CURLUPART_PORT)) {
    parts.explicit_port = parse_port(*port_text);
    if (!parts.explicit_port) return std::nullopt;
  }
  parts.port = parts.explicit_port.value_or(scheme_lower == "https" ? 443 : 80);
  return parts;
}

std::string host_and_port(const UrlParts& parts) {
  return parts.explicit_port ? parts.host + ":" + std::to_string(*parts.explicit_port) : parts.host;
}

struct AllowedHost {
  std::string host;  // lowercase; an IPv6 address in brackets
  std::optional<int> port;
};

std::optional<AllowedHost> parse_allowed(std::string_view entry) {
  entry = trim(entry);
  AllowedHost allowed;
  std::string_view port_text;
  bool has_port = false;
  if (entry.starts_with('[')) {
    const auto close = entry.find(']');
    if (close == std::string_view::npos) return std::nullopt;
    allowed.host = lowercase(entry.substr(0, close + 1));
    const std::string_view rest = entry.substr(close + 1);
    if (!rest.empty()) {
      if (rest.front() != ':') return std::nullopt;
      port_text = rest.substr(1);
      has_port = true;
    }
  } else if (std::count(entry.begin(), entry.end(), ':') > 1) {
    // A bare IPv6 address; curl reports hosts of that kind in brackets.
    allowed.host = "[" + lowercase(entry) + "]";
  } else {
    const auto colon = entry.find(':');
    allowed.host = lowercase(entry.substr(0, colon));
    if (colon != std::string_view::npos) {
      port_text = entry.substr(colon + 1);
      has_port = true;
    }
  }
  if (allowed.host.empty() || allowed.host == "[]" ||
      allowed.host.find_first_of("/@?# \t") != std::string::npos) {
    return std::nullopt;
  }
  if (has_port) {
    allowed.port = parse_port(port_text);
    if (!allowed.port) return std::nullopt;
  }
  return allowed;
}

bool is_allowed(const std::vector<AllowedHost>& allowed, const UrlParts& parts) {
  return std::any_of(allowed.begin(), allowed.end(), [&](const AllowedHost& entry) {
    return entry.host == parts.host && (!entry.port || *entry.port == parts.port);
  });
}

// RFC 9110 §5.6.2 token characters: anything else in a method or a header name, and any
// line break in a value, would let a caller's string inject its own request lines.
bool is_token(std::string_view text) {
  constexpr std::string_view kTokenPunctuation = "!#$%&'*+-.^_`|~";
  return !text.empty() && std::all_of(text.begin(), text.end(), [&](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           kTokenPunctuation.find(c) != std::string_view::npos;
  });
}

bool has_line_break(std::string_view text) {
  return text.find_first_of(std::string_view("\r\n\0", 3)) != std::string_view::npos;
}

class TransferState;

// The part of a client a Transfer reaches for cancel(). Shared, so that a Transfer kept
// after its client is gone still has somewhere to send it.
struct Core {
  ~Core() {
    if (multi_ != nullptr) curl_multi_cleanup(multi_);
  }

  void submit(std::shared_ptr<TransferState> transfer) {
    {
      std::lock_guard lock(mutex_);
      to_start_.push_back(std::move(transfer));
    }
    curl_multi_wakeup(multi_);
  }

  void request_cancel(std::shared_ptr<TransferState> transfer) {
    {
      std::lock_guard lock(mutex_);
      to_cancel_.push_back(std::move(transfer));
    }
    curl_multi_wakeup(multi_);
  }

  CURLM* multi_ = nullptr;
  std::mutex mutex_;
  std::vector<std::shared_ptr<TransferState>> to_start_;   // guarded by mutex_
  std::vector<std::shared_ptr<TransferState>> to_cancel_;  // guarded by mutex_
  bool stopping_ = false;                                  // guarded by mutex_
};

// One request: what the caller gave, what curl has received so far, and the flags every
// posted callback checks before it runs.
class TransferState final : public Transfer, public std::enable_shared_from_this<TransferState> {
 public:
  TransferState(boost::asio::any_io_executor executor, std::weak_ptr<Core> core,
                std::shared_ptr<const std::atomic<bool>> client_closed,
                std::function<void(util::Result<Response>)> on_done,
                std::function<void(std::string_view)> on_body_chunk)
      : executor_(std::move(executor)),
        core_(std::move(core)),
        client_closed_(std::move(client_closed)),
        streaming_(static_cast<bool>(on_body_chunk)),
        on_done_(std::move(on_done)),
        on_body_chunk_(std::move(on_body_chunk)) {}

  ~TransferState() override { release_handles(); }

  void cancel() override {
    if (cancelled_.exchange(true)) return;
    if (auto core = core_.lock()) core->request_cancel(shared_from_this());
  }

  bool cancelled() const { return cancelled_.load(); }

  // Sets up the easy handle; an error when the request cannot be sent as given.
  std::optional<Error> prepare(Request request, UrlParts url, const std::string& user_agent);

  CURL* easy() const { return easy_; }

  // Frees the curl handles: on the client's thread once the transfer was handed to it.
  void release_handles() {
    if (easy_ != nullptr) curl_easy_cleanup(easy_);
    easy_ = nullptr;
    if (headers_ != nullptr) curl_slist_free_all(headers_);
    headers_ = nullptr;
    url_.reset();
  }

  // The outcome of a transfer curl reports finished with `code`; called before
  // release_handles, which ends curl's record of it.
  util::Result<Response> outcome(CURLcode code);

  void post_done(util::Result<Response> result) {
    boost::asio::post(executor_, [self = shared_from_this(), result = std::move(result)]() mutable {
      // Moved out so that what the callback holds is freed here, on the caller's executor.
      auto on_done = std::move(self->on_done_);
      if (self->may_deliver() && on_done) on_done(std::move(result));
    });
  }

 private:
  static std::size_t on_header(char* data, std::size_t size, std::size_t count, void* user);
  static std::size_t on_write(char* data, std::size_t size, std::size_t count, void* user);

  bool may_deliver() const { return !cancelled_.load() && !client_closed_->load(); }

  // Set once, read anywhere.
  const boost::asio::any_io_executor executor_;
  const std::weak_ptr<Core> core_;
  const std::shared_ptr<const std::atomic<bool>> client_closed_;
  const bool streaming_;
  std::atomic<bool> cancelled_{false};

  // Used only on the executor.
  std::function<void(util::Result<Response>)> on_done_;
  std::function<void(std::string_view)> on_body_chunk_;

  // Used only by the client's thread once the transfer is submitted.
  Request request_;
  std::string host_;  // "host" or "host:port", for messages
  CurlUrl url_;
  CURL* easy_ = nullptr;
  curl_slist* headers_ = nullptr;
  Response response_;
  std::size_t n_body_bytes_ = 0;
  bool too_large_ = false;
  char error_text_[CURL_ERROR_SIZE] = {};
};

std::optional<Error> TransferState::prepare(Request request, UrlParts url,
                                            const std::string& user_agent) {
  request_ = std::move(request);
  host_ = host_and_port(url);
  url_ = std::move(url.handle);
  if (!is_token(request_.method)) {
    return Error{ErrorCode::kInvalidInput, "bad HTTP method for " + host_};
  }
  for (const auto& [name, value] : request_.headers) {
    if (!is_token(name) || has_line_break(value)) {
      return Error{ErrorCode::kInvalidInput, "bad request header name or value for " + host_};
    }
  }

  easy_ = curl_easy_init();
  if (easy_ == nullptr) return Error{ErrorCode::kInternal, "curl_easy_init failed"};
  const auto append_header = [this](const std::string& line) {
    curl_slist* appended = curl_slist_append(headers_, line.c_str());
    if (appended != nullptr) headers_ = appended;
    return appended != nullptr;
  };
  bool headers_ok = true;
  for (const auto& [name, value] : request_.headers) {
    // "Name;" is curl's spelling of a header sent with an empty value.
    headers_ok = headers_ok && append_header(value.empty() ? name + ";" : name + ": " + value);
  }
  // curl sends "Expect: 100-continue" before large bodies and waits up to a second for an
  // answer many servers never give; an empty "Expect:" turns that off.
  headers_ok = headers_ok && append_header("Expect:");
  if (!headers_ok) return Error{ErrorCode::kInternal, "curl_slist_append failed"};

  CURLcode rc = CURLE_OK;
  const auto check = [&rc](CURLcode code) {
    if (rc == CURLE_OK) rc = code;
  };
  // A zero timeout means "none" to curl; the contract has every request bounded.
  const long timeout_ms = std::max<long>(1, static_cast<long>(request_.timeout.count()));
  const long connect_timeout_ms =
      std::max<long>(1, static_cast<long>(request_.connect_timeout.count()));
  check(curl_easy_setopt(easy_, CURLOPT_CURLU, url_.get()));
  check(curl_easy_setopt(easy_, CURLOPT_PROTOCOLS_STR, "http,https"));
  check(curl_easy_setopt(easy_, CURLOPT_NOSIGNAL, 1L));
  check(curl_easy_setopt(easy_, CURLOPT_FOLLOWLOCATION, 0L));
  check(curl_easy_setopt(easy_, CURLOPT_TIMEOUT_MS, timeout_ms));
  check(curl_easy_setopt(easy_, CURLOPT_CONNECTTIMEOUT_MS, connect_timeout_ms));
  check(curl_easy_setopt(easy_, CURLOPT_USERAGENT, user_agent.c_str()));
  check(curl_easy_setopt(easy_, CURLOPT_HTTPHEADER, headers_));
  check(curl_easy_setopt(easy_, CURLOPT_HEADERFUNCTION, &TransferState::on_header));
  check(curl_easy_setopt(easy_, CURLOPT_HEADERDATA, this));
  check(curl_easy_setopt(easy_, CURLOPT_WRITEFUNCTION, &TransferState::on_write));
  check(curl_easy_setopt(easy_, CURLOPT_WRITEDATA, this));
  check(curl_easy_setopt(easy_, CURLOPT_ERRORBUFFER, error_text_));
  if (request_.max_response_bytes > 0) {
    // Fails at once when the Content-Length says too much; on_write catches the rest.
    check(curl_easy_setopt(easy_, CURLOPT_MAXFILESIZE_LARGE,
                           static_cast<curl_off_t>(request_.max_response_bytes)));
  }

  if (request_.method == "GET" && request_.body.empty()) {
    check(curl_easy_setopt(easy_, CURLOPT_HTTPGET, 1L));
  } else if (request_.method == "HEAD") {
    check(curl_easy_setopt(easy_, CURLOPT_NOBODY, 1L));
  } else {
    if (request_.method == "POST" || !request_.body.empty()) {
      // The size first: without it curl would take the body for a C string and stop at
      // its first NUL. The body is not copied; request_ outlives the easy handle.
      check(curl_easy_setopt(easy_, CURLOPT_POSTFIELDSIZE_LARGE,
                             static_cast<curl_off_t>(request_.body.size())));
      check(curl_easy_setopt(easy_, CURLOPT_POSTFIELDS, request_.body.data()));
    }
    if (request_.method != "POST") {
      check(curl_easy_setopt(easy_, CURLOPT_CUSTOMREQUEST, request_.method.c_str()));
    }
  }
  if (!request_.basic_auth_user.empty()) {
    check(curl_easy_setopt(easy_, CURLOPT_USERNAME, request_.basic_auth_user.c_str()));
    check(curl_easy_setopt(easy_, CURLOPT_PASSWORD, request_.basic_auth_password.c_str()));
    check(curl_easy_setopt(easy_, CURLOPT_HTTPAUTH, static_cast<long>(CURLAUTH_BASIC)));
  }
  if (rc != CURLE_OK) {
    return Error{ErrorCode::kInternal, std::string("curl option: ") + curl_easy_strerror(rc)};
  }
  return std::nullopt;
}

std::size_t TransferState::on_header(char* data, std::size_t size, std::size_t count, void* user) {
  auto& self = *static_cast<TransferState*>(user);
  const std::size_t n_bytes = size * count;
  const std::string_view line = trim(std::string_view(data, n_bytes));
  auto& headers = self.response_.headers;
  if (line.starts_with("HTTP/")) {
    // A new status line: what came before belonged to an interim answer (100 Continue)
    // or a proxy's CONNECT reply, not to the response.
    headers.clear();
  } else if (!line.empty() && (data[0] == ' ' || data[0] == '\t') && !headers.empty()) {
    // An obsolete folded continuation line (RFC 9112 §5.2) belongs to the previous header.
    headers.back().second.append(" ").append(line);
  } else if (const auto colon = line.find(':'); colon != std::string_view::npos) {
    headers.emplace_back(lowercase(trim(line.substr(0, colon))),
                         std::string(trim(line.substr(colon + 1))));
  }
  return n_bytes;
}

std::size_t TransferState::on_write(char* data, std::size_t size, std::size_t count, void* user) {
  auto& self = *static_cast<TransferState*>(user);
  const std::size_t n_bytes = size * count;
  // Anything but n_bytes makes curl abort the transfer: a cancelled one stops at once
  // instead of downloading on until the cancel reaches this thread.
  if (self.cancelled()) return 0;
  if (n_bytes > self.request_.max_response_bytes - self.n_body_bytes_) {
    self.too_large_ = true;
    return 0;
  }
  self.n_body_bytes_ += n_bytes;
  if (!self.streaming_) {
    self.response_.body.append(data, n_bytes);
    return n_bytes;
  }
  boost::asio::post(self.executor_,
                    [self = self.shared_from_this(), chunk = std::string(data, n_bytes)] {
                      if (self->may_deliver()) self->on_body_chunk_(chunk);
                    });
  return n_bytes;
}

util::Result<Response> TransferState::outcome(CURLcode code) {
  if (too_large_ || code == CURLE_FILESIZE_EXCEEDED) {
    return Error{ErrorCode::kInvalidInput, "response larger than " +
                                               std::to_string(request_.max_response_bytes) +
                                               " bytes from " + host_};
  }
  if (code != CURLE_OK) {
    // curl's messages name hosts, ports and times, never the credentials it was given.
    const std::string detail = error_text_[0] != '\0' ? error_text_ : curl_easy_strerror(code);
    ErrorCode error_code = ErrorCode::kUnavailable;
    if (code == CURLE_OPERATION_TIMEDOUT) error_code = ErrorCode::kTimeout;
    if (code == CURLE_URL_MALFORMAT || code == CURLE_UNSUPPORTED_PROTOCOL) {
      error_code = ErrorCode::kInvalidInput;
    }
    return Error{error_code, host_ + ": " + detail};
  }
  long status = 0;
  curl_off_t total_us = 0;
  curl_easy_getinfo(easy_, CURLINFO_RESPONSE_CODE, &status);
  curl_easy_getinfo(easy_, CURLINFO_TOTAL_TIME_T, &total_us);
  response_.status = static_cast<int>(status);
  response_.total_ms = static_cast<double>(total_us) / 1000.0;
  return std::move(response_);
}

class CurlClient final : public Client {
 public:
  CurlClient(ClientOptions options, std::vector<AllowedHost> allowed, std::shared_ptr<Core> core)
      : options_(std::move(options)), allowed_(std::move(allowed)), core_(std::move(core)) {
    thread_ = std::thread([this] { run(); });
  }

  ~CurlClient() override {
    closed_->store(true);
    {
      std::lock_guard lock(core_->mutex_);
      core_->stopping_ = true;
    }
    curl_multi_wakeup(core_->multi_);
    thread_.join();
    std::lock_guard lock(core_->mutex_);
    core_->to_start_.clear();
    core_->to_cancel_.clear();
  }

  std::shared_ptr<Transfer> start(Request request, boost::asio::any_io_executor executor,
                                  std::function<void(util::Result<Response>)> on_done,
                                  std::function<void(std::string_view)> on_body_chunk) override {
    auto transfer = std::make_shared<TransferState>(std::move(executor), core_, closed_,
                                                    std::move(on_done), std::move(on_body_chunk));
    auto url = parse_url(request.url);
    if (!url) {
      transfer->post_done(Error{ErrorCode::kInvalidInput, "not an absolute http(s) URL"});
      return transfer;
    }
    if (!is_allowed(allowed_, *url)) {
      transfer->post_done(
          Error{ErrorCode::kInvalidInput, "host not allowed: " + host_and_port(*url)});
      return transfer;
    }
    if (auto error = transfer->prepare(std::move(request), std::move(*url), options_.user_agent)) {
      transfer->post_done(std::move(*error));
      return transfer;
    }
    core_->submit(transfer);
    return transfer;
  }

  bool allowed(std::string_view url) const override {
    const auto parts = parse_url(url);
    return parts && is_allowed(allowed_, *parts);
  }

 private:
  // The client's thread: the only one that touches the multi handle and, once submitted,
  // the transfers' easy handles.
  void run() {
    CURLM* multi = core_->multi_;
    for (;;) {
      std::vector<std::shared_ptr<TransferState>> to_start;
      std::vector<std::shared_ptr<TransferState>> to_cancel;
      {
        std::lock_guard lock(core_->mutex_);
        if (core_->stopping_) break;
        to_start.swap(core_->to_start_);
        to_cancel.swap(core_->to_cancel_);
      }
      for (auto& transfer : to_start) {
        if (transfer->cancelled()) continue;  // its handles go with its last owner
        if (curl_multi_add_handle(multi, transfer->easy()) != CURLM_OK) {
          transfer->release_handles();
          transfer->post_done(Error{ErrorCode::kInternal, "curl_multi_add_handle failed"});
          continue;
        }
        active_.emplace(transfer->easy(), std::move(transfer));
      }
      for (auto& transfer : to_cancel) {
        const auto it = active_.find(transfer->easy());
        if (transfer->easy() == nullptr || it == active_.end() || it->second != transfer) continue;
        active_.erase(it);
        curl_multi_remove_handle(multi, transfer->easy());
        transfer->release_handles();
      }
      int n_running = 0;
      curl_multi_perform(multi, &n_running);
      int n_queued = 0;
      while (CURLMsg* message = curl_multi_info_read(multi, &n_queued)) {
        if (message->msg == CURLMSG_DONE) finish(message->easy_handle, message->data.result);
      }
      curl_multi_poll(multi, nullptr, 0, kPollMaxMs, nullptr);
    }
    for (auto& [easy, transfer] : active_) {
      curl_multi_remove_handle(multi, easy);
      transfer->release_handles();
    }
    active_.clear();
  }

  void finish(CURL* easy, CURLcode code) {
    const auto it = active_.find(easy);
    if (it == active_.end()) return;
    const std::shared_ptr<TransferState> transfer = std::move(it->second);
    active_.erase(it);
    curl_multi_remove_handle(core_->multi_, easy);
    util::Result<Response> result = transfer->outcome(code);
    transfer->release_handles();
    transfer->post_done(std::move(result));
  }

  const ClientOptions options_;
  const std::vector<AllowedHost> allowed_;
  const std::shared_ptr<Core> core_;
  // Set by the destructor; every posted callback checks it, so none runs after.
  const std::shared_ptr<std::atomic<bool>> closed_ = std::make_shared<std::atomic<bool>>(false);
  std::unordered_map<CURL*, std::shared_ptr<TransferState>> active_;  // the thread's own
  std::thread thread_;
};

}  // namespace

std::string_view Response::header(std::string_view lowercase_name) const {
  for (const auto& [name, value] : headers) {
    if (name == lowercase_name) return value;
  }
  return {};
}

util::Result<std::unique_ptr<Client>> Client::create(ClientOptions options) {
  std::vector<AllowedHost> allowed;
  for (const auto& entry : options.allowed_hosts) {
    auto parsed = parse_allowed(entry);
    if (!parsed) {
      return Error{ErrorCode::kInvalidInput,
                   "allowed host \"" + entry + "\" is not \"host\" or \"host:port\""};
    }
    allowed.push_back(std::move(*parsed));
  }
  if (!curl_ready()) return Error{ErrorCode::kUnavailable, "curl_global_init failed"};
  auto core = std::make_shared<Core>();
  core->multi_ = curl_multi_init();
  if (core->multi_ == nullptr) return Error{ErrorCode::kUnavailable, "curl_multi_init failed"};
  curl_multi_setopt(core->multi_, CURLMOPT_MAX_HOST_CONNECTIONS, kMaxHostConnections);
  try {
    return std::unique_ptr<Client>(
        std::make_unique<CurlClient>(std::move(options), std::move(allowed), std::move(core)));
  } catch (const std::system_error& e) {
    return Error{ErrorCode::kUnavailable,
                 std::string("cannot start the HTTP client's thread: ") + e.what()};
  }
}

std::string host_and_port_of(std::string_view url) {
  const auto parts = parse_url(url);
  return parts ? host_and_port(*parts) : std::string();
}

}  // namespace voxgate::http
