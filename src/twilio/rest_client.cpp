// Twilio REST calls on the async HTTP client. Each public call is one Operation: a Transfer
// the caller can cancel, which owns the HTTP transfer in flight and, for downloads, the retry
// timer. An atomic flag checked right before any user callback is what makes cancel() final;
// cancelling the transfer and the timer only frees resources sooner.
#include "twilio/rest_client.hpp"

#include <algorithm>
#include <atomic>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>
#include <cctype>
#include <cstdint>
#include <initializer_list>
#include <mutex>
#include <utility>

#include "twilio/signature.hpp"

namespace voxgate::twilio {
namespace {

namespace net = boost::asio;
namespace json = boost::json;
using util::Error;
using util::ErrorCode;

constexpr std::string_view kApiVersion = "/2010-04-01";
// Twilio's code for "The requested resource was not found"; on a call update it means the
// call is over (twilio-protocol.md §5).
constexpr std::int64_t kNotFoundCode = 20404;

class Operation final : public http::Transfer, public std::enable_shared_from_this<Operation> {
 public:
  Operation(std::shared_ptr<http::Client> http, net::any_io_executor executor)
      : http_(std::move(http)), executor_(executor), timer_(executor) {}

  void cancel() override {
    cancelled_.store(true);
    std::shared_ptr<http::Transfer> transfer;
    {
      std::lock_guard lock(mutex_);
      transfer = std::move(transfer_);
    }
    if (transfer) transfer->cancel();
    // The timer is not thread-safe: dispatch runs this inline when we are on the executor,
    // and queues it otherwise.
    net::dispatch(executor_, [self = shared_from_this()] { self->timer_.cancel(); });
  }

  // Starts an HTTP request; on_response runs on the executor unless cancelled by then.
  void send(http::Request request, std::function<void(util::Result<http::Response>)> on_response) {
    auto transfer = http_->start(std::move(request), executor_,
                                 [self = shared_from_this(), on_response = std::move(on_response)](
                                     util::Result<http::Response> result) {
                                   {
                                     std::lock_guard lock(self->mutex_);
                                     self->transfer_.reset();
                                   }
                                   if (self->cancelled_.load()) return;
                                   on_response(std::move(result));
                                 });
    std::lock_guard lock(mutex_);
    if (!cancelled_.load()) transfer_ = std::move(transfer);
  }

  void after(std::chrono::milliseconds delay, std::function<void()> then) {
    timer_.expires_after(delay);
    timer_.async_wait(
        [self = shared_from_this(), then = std::move(then)](const boost::system::error_code& ec) {
          if (ec || self->cancelled_.load()) return;
          then();
        });
  }

  // Runs fn on the executor later, unless cancelled by then: for answers known at once.
  void post(std::function<void()> fn) {
    net::post(executor_, [self = shared_from_this(), fn = std::move(fn)] {
      if (!self->cancelled_.load()) fn();
    });
  }

 private:
  std::shared_ptr<http::Client> http_;
  net::any_io_executor executor_;
  net::steady_timer timer_;  // used on the executor only
  std::atomic<bool> cancelled_{false};
  std::mutex mutex_;
  std::shared_ptr<http::Transfer> transfer_;
};

bool is_sid(std::string_view sid, std::string_view prefix) {
  return sid.size() > prefix.size() && sid.starts_with(prefix) &&
         std::all_of(sid.begin(), sid.end(), [](unsigned char c) { return std::isalnum(c) != 0; });
}

std::size_t utf8_chars(std::string_view text) {
  return static_cast<std::size_t>(
      std::count_if(text.begin(), text.end(), [](unsigned char c) { return (c & 0xC0) != 0x80; }));
}

// Twilio's error JSON {"code","message","more_info","status"} as "20003 Authenticate"; the
// start of the body when it is not that. The auth token is cut out in case an echo of the
// request ever carries it.
std::string twilio_error(std::string_view body, std::string_view secret) {
  std::string out;
  boost::system::error_code ec;
  const json::value value = json::parse(body, ec);
  if (!ec && value.is_object()) {
    const auto& object = value.get_object();
    if (const auto* code = object.if_contains("code"); code != nullptr && code->is_int64()) {
      out = std::to_string(code->get_int64());
    }
    if (const auto* message = object.if_contains("message");
        message != nullptr && message->is_string()) {
      if (!out.empty()) out += ' ';
      out += std::string(message->get_string());
    }
  }
  if (out.empty()) out = std::string(body.substr(0, 200));
  if (!secret.empty()) {
    for (auto at = out.find(secret); at != std::string::npos; at = out.find(secret)) {
      out.replace(at, secret.size(), "***");
    }
  }
  return out;
}

std::int64_t twilio_code(std::string_view body) {
  boost::system::error_code ec;
  const json::value value = json::parse(body, ec);
  if (ec || !value.is_object()) return 0;
  const auto* code = value.get_object().if_contains("code");
  return code != nullptr && code->is_int64() ? code->get_int64() : 0;
}

// The error for a non-2xx answer, named after what was asked ("update of call CA…").
Error http_error(const http::Response& response, std::string_view what, std::string_view secret) {
  const int status = response.status;
  std::string message = "Twilio " + std::string(what) + ": HTTP " + std::to_string(status);
  const std::string detail = twilio_error(response.body, secret);
  if (!detail.empty()) message += " (" + detail + ")";
  // 401/403 are our configuration (credentials), 429 and 5xx Twilio's state: nothing about the
  // request itself is wrong. Other 4xx say the request is.
  const bool unavailable = status == 401 || status == 403 || status == 429 || status >= 500;
  return Error{unavailable ? ErrorCode::kUnavailable : ErrorCode::kInvalidInput,
               std::move(message)};
}

template <class T>
void post_error(const std::shared_ptr<Operation>& op, std::function<void(util::Result<T>)>& done,
                Error error) {
  op->post([done = std::move(done), error = std::move(error)] { done(error); });
}

std::string call_status_of(std::string_view body) {
  boost::system::error_code ec;
  const json::value value = json::parse(body, ec);
  if (ec || !value.is_object()) return {};
  const auto* status = value.get_object().if_contains("status");
  return status != nullptr && status->is_string() ? std::string(status->get_string())
                                                  : std::string();
}

std::string_view extension_of(std::string_view url) {
  url = url.substr(0, url.find_first_of("?#"));
  const auto slash = url.rfind('/');
  const auto dot = url.rfind('.');
  if (dot == std::string_view::npos || (slash != std::string_view::npos && dot < slash)) return {};
  return url.substr(dot);
}

struct Download {
  http::Request request;
  std::string sid_or_host;  // names the recording in errors
  int max_attempts = 1;
  int attempts = 0;
  std::chrono::milliseconds delay{0};
  std::function<void(util::Result<Recording>)> done;
};

void download_attempt(const std::shared_ptr<Operation>& op, std::shared_ptr<Download> download) {
  ++download->attempts;
  op->send(download->request, [op, download](util::Result<http::Response> result) {
    if (!result) {
      return download->done(Error{result.error().code, "Twilio recording " + download->sid_or_host +
                                                           ": " + result.error().message});
    }
    const http::Response& response = *result;
    if (response.status == 404) {
      if (download->attempts >= download->max_attempts) {
        return download->done(
            Error{ErrorCode::kUnavailable, "Twilio recording " + download->sid_or_host +
                                               ": recording not available after " +
                                               std::to_string(download->attempts) + " attempts"});
      }
      const auto delay = download->delay;
      download->delay *= 2;
      return op->after(delay, [op, download] { download_attempt(op, download); });
    }
    if (response.status < 200 || response.status > 299) {
      return download->done(http_error(response, "recording " + download->sid_or_host,
                                       download->request.basic_auth_password));
    }
    if (response.body.empty()) {
      return download->done(Error{ErrorCode::kInvalidInput,
                                  "Twilio recording " + download->sid_or_host + ": empty body"});
    }
    Recording recording;
    recording.content_type = std::string(response.header("content-type"));
    if (recording.content_type.empty()) {
      recording.content_type =
          extension_of(download->request.url) == ".mp3" ? "audio/mpeg" : "audio/x-wav";
    }
    recording.bytes = std::move(result->body);
    recording.attempts = download->attempts;
    download->done(std::move(recording));
  });
}

}  // namespace

RestClient::RestClient(std::shared_ptr<http::Client> http, RestClientOptions options)
    : http_(std::move(http)), options_(std::move(options)) {
  while (options_.api_base_url.ends_with('/')) options_.api_base_url.pop_back();
}

namespace {

// The shared path of the three call updates.
RestCall update_call(const std::shared_ptr<http::Client>& http_client,
                     const RestClientOptions& options, std::string call_sid, std::string body,
                     bool ended_is_success, net::any_io_executor executor,
                     std::function<void(util::Result<CallUpdate>)> done) {
  auto op = std::make_shared<Operation>(http_client, executor);
  if (!is_sid(call_sid, "CA")) {
    post_error(op, done, Error{ErrorCode::kInvalidInput, "not a call SID: \"" + call_sid + "\""});
    return op;
  }
  if (options.account_sid.empty() || options.auth_token.empty()) {
    post_error(op, done,
               Error{ErrorCode::kUnavailable, "Twilio REST credentials are not configured"});
    return op;
  }
  http::Request request;
  request.method = "POST";
  request.url = options.api_base_url + std::string(kApiVersion) + "/Accounts/" +
                options.account_sid + "/Calls/" + call_sid + ".json";
  request.headers = {{"Content-Type", "application/x-www-form-urlencoded"},
                     {"Accept", "application/json"}};
  request.body = std::move(body);
  request.basic_auth_user = options.account_sid;
  request.basic_auth_password = options.auth_token;
  request.timeout = options.timeout;
  request.connect_timeout = std::min(request.connect_timeout, options.timeout);
  op->send(std::move(request), [call_sid, ended_is_success, done = std::move(done),
                                secret = options.auth_token](util::Result<http::Response> result) {
    const std::string what = "update of call " + call_sid;
    if (!result)
      return done(Error{result.error().code, "Twilio " + what + ": " + result.error().message});
    const http::Response& response = *result;
    if (response.status >= 200 && response.status <= 299) {
      return done(CallUpdate{response.status, call_status_of(response.body)});
    }
    if (response.status == 404 || twilio_code(response.body) == kNotFoundCode) {
      if (ended_is_success) return done(CallUpdate{response.status, "completed"});
      return done(Error{ErrorCode::kInvalidInput, "Twilio " + what + ": call " + call_sid +
                                                      " has already ended (HTTP " +
                                                      std::to_string(response.status) + ", " +
                                                      twilio_error(response.body, secret) + ")"});
    }
    done(http_error(response, what, secret));
  });
  return op;
}

}  // namespace

RestCall RestClient::update_call_twiml(std::string call_sid, std::string twiml,
                                       net::any_io_executor executor,
                                       std::function<void(util::Result<CallUpdate>)> done) const {
  const std::size_t n_chars = utf8_chars(twiml);
  if (n_chars == 0 || n_chars > kMaxTwimlChars) {
    auto op = std::make_shared<Operation>(http_, executor);
    post_error(op, done,
               Error{ErrorCode::kInvalidInput,
                     "TwiML for call " + call_sid + " has " + std::to_string(n_chars) +
                         " characters; Twilio takes 1 to " + std::to_string(kMaxTwimlChars)});
    return op;
  }
  return update_call(http_, options_, std::move(call_sid), form_encode({{"Twiml", twiml}}), false,
                     std::move(executor), std::move(done));
}

RestCall RestClient::redirect_call(std::string call_sid, std::string url,
                                   net::any_io_executor executor,
                                   std::function<void(util::Result<CallUpdate>)> done) const {
  if (url.empty()) {
    auto op = std::make_shared<Operation>(http_, executor);
    post_error(op, done,
               Error{ErrorCode::kInvalidInput, "redirect of call " + call_sid + " without a URL"});
    return op;
  }
  return update_call(http_, options_, std::move(call_sid),
                     form_encode({{"Url", url}, {"Method", "POST"}}), false, std::move(executor),
                     std::move(done));
}

RestCall RestClient::hang_up(std::string call_sid, net::any_io_executor executor,
                             std::function<void(util::Result<CallUpdate>)> done) const {
  return update_call(http_, options_, std::move(call_sid), form_encode({{"Status", "completed"}}),
                     true, std::move(executor), std::move(done));
}

RestCall RestClient::delete_recording(std::string recording_sid, net::any_io_executor executor,
                                      std::function<void(util::Result<bool>)> done) const {
  auto op = std::make_shared<Operation>(http_, executor);
  if (!is_sid(recording_sid, "RE")) {
    post_error(op, done,
               Error{ErrorCode::kInvalidInput, "not a recording SID: \"" + recording_sid + "\""});
    return op;
  }
  if (options_.account_sid.empty() || options_.auth_token.empty()) {
    post_error(op, done,
               Error{ErrorCode::kUnavailable, "Twilio REST credentials are not configured"});
    return op;
  }
  http::Request request;
  request.method = "DELETE";
  request.url = options_.api_base_url + std::string(kApiVersion) + "/Accounts/" +
                options_.account_sid + "/Recordings/" + recording_sid + ".json";
  request.basic_auth_user = options_.account_sid;
  request.basic_auth_password = options_.auth_token;
  request.timeout = options_.timeout;
  request.connect_timeout = std::min(request.connect_timeout, options_.timeout);
  op->send(std::move(request), [recording_sid, done = std::move(done),
                                secret = options_.auth_token](util::Result<http::Response> result) {
    const std::string what = "deletion of recording " + recording_sid;
    if (!result)
      return done(Error{result.error().code, "Twilio " + what + ": " + result.error().message});
    if (result->status >= 200 && result->status <= 299) return done(true);
    if (result->status == 404) return done(false);  // already gone: what we wanted
    done(http_error(*result, what, secret));
  });
  return op;
}

RestCall RestClient::download_recording(std::string recording_url, net::any_io_executor executor,
                                        std::function<void(util::Result<Recording>)> done) const {
  auto op = std::make_shared<Operation>(http_, executor);
  if (options_.account_sid.empty() || options_.auth_token.empty()) {
    post_error(op, done,
               Error{ErrorCode::kUnavailable, "Twilio REST credentials are not configured"});
    return op;
  }
  auto download = std::make_shared<Download>();
  download->sid_or_host = recording_sid_of(recording_url);
  if (download->sid_or_host.empty()) download->sid_or_host = http::host_and_port_of(recording_url);
  download->request.method = "GET";
  download->request.url = std::move(recording_url);
  download->request.basic_auth_user = options_.account_sid;
  download->request.basic_auth_password = options_.auth_token;
  download->request.timeout = options_.timeout;
  download->request.connect_timeout = std::min(download->request.connect_timeout, options_.timeout);
  download->request.max_response_bytes = options_.max_recording_bytes;
  download->max_attempts = std::max(1, options_.download_attempts);
  download->delay = options_.first_retry_delay;
  download->done = std::move(done);
  download_attempt(op, std::move(download));
  return op;
}

std::string recording_sid_of(std::string_view recording_url) {
  recording_url = recording_url.substr(0, recording_url.find_first_of("?#"));
  constexpr std::string_view kRecordings = "/Recordings/";
  const auto at = recording_url.rfind(kRecordings);
  if (at == std::string_view::npos) return {};
  std::string_view sid = recording_url.substr(at + kRecordings.size());
  for (std::string_view suffix : {".wav", ".mp3", ".json"}) {
    if (sid.ends_with(suffix)) {
      sid.remove_suffix(suffix.size());
      break;
    }
  }
  return is_sid(sid, "RE") ? std::string(sid) : std::string();
}

}  // namespace voxgate::twilio
