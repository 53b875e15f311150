// The Twilio REST stand-in. Shaped like Beast's server examples: one Session per connection
// doing read -> answer -> read on the single io thread (so no strand is needed), around a pure
// step, Impl::answer(), that turns a request into an Answer under the state mutex without
// touching a socket. The form and Basic-auth decoding are written here, not taken from src/,
// so that the client's encoder is checked against an independent reading of the format.
#include "twilio_rest_fake.hpp"

#include <algorithm>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>
#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>
#include <cctype>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <thread>

namespace voxgate::testing {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = boost::beast::http;
namespace json = boost::json;
using tcp = boost::asio::ip::tcp;

constexpr std::size_t kMaxBodyBytes = 1u << 20;
// Twilio's documented limit on the Twiml parameter of a call update.
constexpr std::size_t kMaxTwimlChars = 4000;

std::string lowercase(std::string_view text) {
  std::string out(text);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// application/x-www-form-urlencoded (WHATWG URL standard): '+' is a space, %XX a byte. A bad
// escape is kept as is, as the standard's decoder does.
std::string form_decode(std::string_view text) {
  std::string out;
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '+') {
      out += ' ';
    } else if (text[i] == '%' && i + 2 < text.size() && hex_value(text[i + 1]) >= 0 &&
               hex_value(text[i + 2]) >= 0) {
      out += static_cast<char>(hex_value(text[i + 1]) * 16 + hex_value(text[i + 2]));
      i += 2;
    } else {
      out += text[i];
    }
  }
  return out;
}

FormFields parse_form(std::string_view body) {
  FormFields fields;
  while (!body.empty()) {
    const auto amp = body.find('&');
    const std::string_view pair = body.substr(0, amp);
    body = amp == std::string_view::npos ? std::string_view() : body.substr(amp + 1);
    if (pair.empty()) continue;
    const auto eq = pair.find('=');
    fields.emplace_back(form_decode(pair.substr(0, eq)), eq == std::string_view::npos
                                                             ? std::string()
                                                             : form_decode(pair.substr(eq + 1)));
  }
  return fields;
}

std::optional<std::string> base64_decode(std::string_view text) {
  static constexpr std::string_view kAlphabet =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  while (text.ends_with('=')) text.remove_suffix(1);
  std::string out;
  unsigned bits = 0;
  int n_bits = 0;
  for (char c : text) {
    const auto value = kAlphabet.find(c);
    if (value == std::string_view::npos) return std::nullopt;
    bits = (bits << 6) | static_cast<unsigned>(value);
    n_bits += 6;
    if (n_bits >= 8) {
      n_bits -= 8;
      out += static_cast<char>((bits >> n_bits) & 0xFF);
    }
  }
  return out;
}

std::size_t utf8_chars(std::string_view text) {
  return static_cast<std::size_t>(
      std::count_if(text.begin(), text.end(), [](unsigned char c) { return (c & 0xC0) != 0x80; }));
}

struct Answer {
  unsigned status = 200;
  std::string content_type = "application/json";
  std::string body;
};

// Twilio's error JSON (twilio-protocol.md §5).
Answer error_answer(unsigned status, int code, std::string_view message) {
  json::object error{{"code", code},
                     {"message", message},
                     {"more_info", "https://www.twilio.com/docs/errors/" + std::to_string(code)},
                     {"status", status}};
  return Answer{status, "application/json", json::serialize(error)};
}

Answer not_found(std::string_view path) {
  return error_answer(404, 20404, "The requested resource " + std::string(path) + " was not found");
}

struct StoredRecording {
  std::string bytes;
  std::string content_type;
  std::string mp3;
  int not_ready_left = 0;
};

// The session's view of its owner, so Session needs nothing private of TwilioRestFake.
class RequestHandler {
 public:
  virtual ~RequestHandler() = default;
  virtual Answer on_request(const http::request<http::string_body>& request) = 0;
};

std::string first_field(const FormFields& form, std::string_view name) {
  for (const auto& [key, value] : form) {
    if (key == name) return value;
  }
  return {};
}

}  // namespace

std::string TwilioCallUpdate::field(std::string_view name) const { return first_field(form, name); }

bool TwilioCallUpdate::has(std::string_view name) const {
  return std::any_of(form.begin(), form.end(), [&](const auto& kv) { return kv.first == name; });
}

std::string TwilioRequest::header(std::string_view name) const {
  const std::string wanted = lowercase(name);
  for (const auto& [key, value] : headers) {
    if (key == wanted) return value;
  }
  return {};
}

class TwilioRestFake::Impl final : public RequestHandler {
 public:
  Impl(std::string account_sid, std::string auth_token)
      : account_sid_(std::move(account_sid)),
        auth_token_(std::move(auth_token)),
        acceptor_(io_, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0)) {
    port_ = acceptor_.local_endpoint().port();
    do_accept();
    thread_ = std::thread([this] { io_.run(); });
  }

  ~Impl() {
    io_.stop();
    thread_.join();
  }

  // Called on the io thread once a request has been read: records it and decides the answer.
  Answer on_request(const http::request<http::string_body>& request) override {
    TwilioRequest record;
    record.method = std::string(request.method_string());
    record.target = std::string(request.target());
    record.path = record.target.substr(0, record.target.find('?'));
    for (const auto& field : request) {
      record.headers.emplace_back(lowercase(field.name_string()), std::string(field.value()));
    }
    record.body = request.body();
    std::lock_guard lock(mutex_);
    Answer answer = answer_locked(record);
    record.status = answer.status;
    requests_.push_back(std::move(record));
    return answer;
  }

  void on_connection() {
    std::lock_guard lock(mutex_);
    ++connections_;
  }

  const std::string account_sid_;
  const std::string auth_token_;
  unsigned short port_ = 0;
  mutable std::mutex mutex_;
  std::map<std::string, StoredRecording, std::less<>> recordings_;
  std::set<std::string, std::less<>> ended_calls_;
  std::vector<TwilioCallUpdate> updates_;
  std::vector<std::string> deleted_;
  std::vector<TwilioRequest> requests_;
  std::size_t recording_gets_ = 0;
  std::size_t unauthorized_ = 0;
  std::size_t connections_ = 0;

 private:
  bool authorized(const TwilioRequest& request) const {
    const std::string value = request.header("authorization");
    constexpr std::string_view kBasic = "basic ";
    if (value.size() <= kBasic.size() || lowercase(value.substr(0, kBasic.size())) != kBasic) {
      return false;
    }
    const auto decoded = base64_decode(std::string_view(value).substr(kBasic.size()));
    return decoded && *decoded == account_sid_ + ":" + auth_token_;
  }

  Answer answer_locked(const TwilioRequest& request) {
    if (!authorized(request)) {
      ++unauthorized_;
      return error_answer(401, 20003, "Authenticate");
    }
    const std::string prefix = "/2010-04-01/Accounts/" + account_sid_ + "/";
    if (!request.path.starts_with(prefix)) return not_found(request.path);
    const std::string_view rest = std::string_view(request.path).substr(prefix.size());

    constexpr std::string_view kRecordings = "Recordings/";
    constexpr std::string_view kCalls = "Calls/";
    if (rest.starts_with(kRecordings)) {
      const std::string_view name = rest.substr(kRecordings.size());
      if (name.find('/') != std::string_view::npos) return not_found(request.path);
      if (name.ends_with(".json")) {
        if (request.method != "DELETE") return error_answer(405, 20004, "Method not allowed");
        return delete_recording(name.substr(0, name.size() - 5), request.path);
      }
      if (request.method != "GET") return error_answer(405, 20004, "Method not allowed");
      return get_recording(name, request.path);
    }
    if (rest.starts_with(kCalls) && rest.ends_with(".json")) {
      const std::string_view sid = rest.substr(kCalls.size(), rest.size() - kCalls.size() - 5);
      if (sid.empty() || sid.find('/') != std::string_view::npos) return not_found(request.path);
      if (request.method != "POST") return error_answer(405, 20004, "Method not allowed");
      return update_call(std::string(sid), request);
    }
    return not_found(request.path);
  }

  Answer get_recording(std::string_view name, std::string_view path) {
    ++recording_gets_;
    bool mp3 = false;
    std::string_view sid = name;
    if (name.ends_with(".wav")) {
      sid = name.substr(0, name.size() - 4);
    } else if (name.ends_with(".mp3")) {
      sid = name.substr(0, name.size() - 4);
      mp3 = true;
    }
    const auto found = recordings_.find(sid);
    if (found == recordings_.end()) return not_found(path);
    StoredRecording& recording = found->second;
    if (recording.not_ready_left > 0) {
      --recording.not_ready_left;
      return not_found(path);
    }
    if (mp3) {
      if (recording.mp3.empty()) return not_found(path);
      return Answer{200, "audio/mpeg", recording.mp3};
    }
    return Answer{200, recording.content_type, recording.bytes};
  }

  Answer delete_recording(std::string_view sid, std::string_view path) {
    const auto found = recordings_.find(sid);
    if (found == recordings_.end()) return not_found(path);
    recordings_.erase(found);
    deleted_.emplace_back(sid);
    return Answer{204, "", ""};
  }

  Answer update_call(std::string sid, const TwilioRequest& request) {
    TwilioCallUpdate update;
    update.call_sid = sid;
    const std::string content_type = lowercase(request.header("content-type"));
    if (content_type.starts_with("application/x-www-form-urlencoded")) {
      update.form = parse_form(request.body);
    }
    Answer answer = decide_update(sid, update, content_type, request.path);
    update.status = answer.status;
    updates_.push_back(std::move(update));
    return answer;
  }

  Answer decide_update(const std::string& sid, const TwilioCallUpdate& update,
                       std::string_view content_type, std::string_view path) {
    if (ended_calls_.contains(sid)) return not_found(path);
    if (!content_type.starts_with("application/x-www-form-urlencoded")) {
      return error_answer(400, 21201, "Form-encoded body required");
    }
    const bool completes = update.field("Status") == "completed";
    if (!update.has("Twiml") && !update.has("Url") && !completes) {
      return error_answer(400, 21201, "One of Twiml, Url or Status is required");
    }
    if (utf8_chars(update.field("Twiml")) > kMaxTwimlChars) {
      return error_answer(400, 21220, "Twiml is longer than 4000 characters");
    }
    if (update.has("Method") && update.field("Method") != "GET" &&
        update.field("Method") != "POST") {
      return error_answer(400, 21201, "Method must be GET or POST");
    }
    if (completes) ended_calls_.insert(sid);
    const json::object call{
        {"sid", sid},
        {"account_sid", account_sid_},
        {"status", completes ? "completed" : "in-progress"},
        {"api_version", "2010-04-01"},
        {"uri", "/2010-04-01/Accounts/" + account_sid_ + "/Calls/" + sid + ".json"}};
    return Answer{200, "application/json", json::serialize(call)};
  }

  void do_accept();

  asio::io_context io_;
  tcp::acceptor acceptor_;
  std::thread thread_;
};

namespace {

class Session : public std::enable_shared_from_this<Session> {
 public:
  Session(tcp::socket socket, RequestHandler& owner) : socket_(std::move(socket)), owner_(owner) {}

  void start() { do_read(); }

 private:
  void do_read() {
    parser_.emplace();
    parser_->body_limit(kMaxBodyBytes);
    http::async_read(
        socket_, buffer_, *parser_,
        [self = shared_from_this()](beast::error_code ec, std::size_t) { self->on_read(ec); });
  }

  void on_read(beast::error_code ec) {
    if (ec) return close();
    const auto request = parser_->release();
    const Answer answer = owner_.on_request(request);
    response_ = http::response<http::string_body>{static_cast<http::status>(answer.status), 11};
    response_.set(http::field::server, "voxgate-twilio-rest-fake");
    if (!answer.content_type.empty()) response_.set(http::field::content_type, answer.content_type);
    response_.keep_alive(request.keep_alive());
    response_.body() = answer.body;
    response_.prepare_payload();
    http::async_write(socket_, response_,
                      [self = shared_from_this()](beast::error_code ec, std::size_t) {
                        if (ec || !self->response_.keep_alive()) return self->close();
                        self->do_read();
                      });
  }

  void close() {
    beast::error_code ignored;
    socket_.shutdown(tcp::socket::shutdown_both, ignored);
    socket_.close(ignored);
  }

  tcp::socket socket_;
  RequestHandler& owner_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  http::response<http::string_body> response_;
};

}  // namespace

void TwilioRestFake::Impl::do_accept() {
  acceptor_.async_accept([this](beast::error_code ec, tcp::socket socket) {
    if (ec == asio::error::operation_aborted) return;
    if (!ec) {
      on_connection();
      std::make_shared<Session>(std::move(socket), *this)->start();
    }
    do_accept();
  });
}

TwilioRestFake::TwilioRestFake(std::string account_sid, std::string auth_token)
    : impl_(std::make_unique<Impl>(std::move(account_sid), std::move(auth_token))) {}
TwilioRestFake::~TwilioRestFake() = default;

unsigned short TwilioRestFake::port() const { return impl_->port_; }

std::string TwilioRestFake::base_url() const {
  return "http://127.0.0.1:" + std::to_string(impl_->port_);
}

const std::string& TwilioRestFake::account_sid() const { return impl_->account_sid_; }
const std::string& TwilioRestFake::auth_token() const { return impl_->auth_token_; }

std::string TwilioRestFake::recording_url(std::string_view sid) const {
  return base_url() + "/2010-04-01/Accounts/" + impl_->account_sid_ + "/Recordings/" +
         std::string(sid);
}

void TwilioRestFake::add_recording(std::string sid, std::string bytes, std::string content_type) {
  std::lock_guard lock(impl_->mutex_);
  auto& recording = impl_->recordings_[std::move(sid)];
  recording.bytes = std::move(bytes);
  recording.content_type = std::move(content_type);
}

void TwilioRestFake::add_recording_mp3(std::string sid, std::string bytes) {
  std::lock_guard lock(impl_->mutex_);
  auto& recording = impl_->recordings_[std::move(sid)];
  recording.mp3 = std::move(bytes);
  if (recording.content_type.empty()) recording.content_type = "audio/x-wav";
}

void TwilioRestFake::set_not_ready(std::string_view sid, int n_requests) {
  std::lock_guard lock(impl_->mutex_);
  const auto found = impl_->recordings_.find(sid);
  if (found != impl_->recordings_.end()) found->second.not_ready_left = n_requests;
}

void TwilioRestFake::end_call(std::string call_sid) {
  std::lock_guard lock(impl_->mutex_);
  impl_->ended_calls_.insert(std::move(call_sid));
}

std::vector<TwilioCallUpdate> TwilioRestFake::call_updates() const {
  std::lock_guard lock(impl_->mutex_);
  return impl_->updates_;
}

std::vector<std::string> TwilioRestFake::deleted_recordings() const {
  std::lock_guard lock(impl_->mutex_);
  return impl_->deleted_;
}

std::vector<TwilioRequest> TwilioRestFake::requests() const {
  std::lock_guard lock(impl_->mutex_);
  return impl_->requests_;
}

std::size_t TwilioRestFake::request_count() const {
  std::lock_guard lock(impl_->mutex_);
  return impl_->requests_.size();
}

std::size_t TwilioRestFake::recording_gets() const {
  std::lock_guard lock(impl_->mutex_);
  return impl_->recording_gets_;
}

std::size_t TwilioRestFake::unauthorized_count() const {
  std::lock_guard lock(impl_->mutex_);
  return impl_->unauthorized_;
}

std::size_t TwilioRestFake::connections_accepted() const {
  std::lock_guard lock(impl_->mutex_);
  return impl_->connections_;
}

bool TwilioRestFake::has_recording(std::string_view sid) const {
  std::lock_guard lock(impl_->mutex_);
  return impl_->recordings_.contains(sid);
}

}  // namespace voxgate::testing
