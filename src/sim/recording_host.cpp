// A small Beast HTTP server on a thread of its own, shaped like Beast's async server example:
// an acceptor loop, one session per connection with do_read/on_read, keep-alive, a timeout.
#include "sim/recording_host.hpp"

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/strand.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include <map>
#include <mutex>
#include <stdexcept>
#include <thread>
#include <vector>

#include "audio/g711.hpp"
#include "audio/wav.hpp"
#include "sim/call_runner.hpp"
#include "util/base64.hpp"

namespace voxgate::sim {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = net::ip::tcp;

namespace {

constexpr std::string_view kPrefix = "/2010-04-01/Accounts/";

struct Recording {
  std::string account_sid;
  std::string wav;
};

// "/2010-04-01/Accounts/{AC}/Recordings/{RE}[.ext]" -> {AC, RE, ext}; false for anything else.
bool parse_target(std::string_view target, std::string& account, std::string& sid,
                  std::string& ext) {
  target = target.substr(0, target.find('?'));
  if (!target.starts_with(kPrefix)) return false;
  target.remove_prefix(kPrefix.size());
  const auto slash = target.find('/');
  if (slash == std::string_view::npos) return false;
  account = std::string(target.substr(0, slash));
  target.remove_prefix(slash);
  constexpr std::string_view kRecordings = "/Recordings/";
  if (!target.starts_with(kRecordings)) return false;
  target.remove_prefix(kRecordings.size());
  const auto dot = target.find('.');
  sid = std::string(target.substr(0, dot));
  ext = dot == std::string_view::npos ? "" : std::string(target.substr(dot));
  return !account.empty() && !sid.empty() && sid.find('/') == std::string::npos;
}

}  // namespace

class RecordingHost::Impl {
 public:
  Impl(RecordingHost& owner, const std::string& bind_host, std::uint16_t port,
       std::string auth_token)
      : owner_(owner), acceptor_(net::make_strand(io_)), auth_token_(std::move(auth_token)) {
    beast::error_code ec;
    const tcp::endpoint endpoint(net::ip::make_address(bind_host, ec), port);
    if (ec) throw std::runtime_error("recording host: bad address " + bind_host);
    acceptor_.open(endpoint.protocol(), ec);
    if (!ec) acceptor_.set_option(net::socket_base::reuse_address(true), ec);
    if (!ec) acceptor_.bind(endpoint, ec);
    if (!ec) acceptor_.listen(net::socket_base::max_listen_connections, ec);
    if (ec) {
      throw std::runtime_error("recording host: cannot listen on " + bind_host + ":" +
                               std::to_string(port) + ": " + ec.message());
    }
    const tcp::endpoint bound = acceptor_.local_endpoint();
    base_url_ = "http://" + bound.address().to_string() + ":" + std::to_string(bound.port());
    do_accept();
    thread_ = std::thread([this] { io_.run(); });
  }

  ~Impl() {
    io_.stop();
    if (thread_.joinable()) thread_.join();
  }

  const std::string& base_url() const { return base_url_; }

  Added add(const std::string& account_sid, std::span<const std::uint8_t> mulaw_8k) {
    std::vector<std::int16_t> pcm;
    audio::decode_ulaw(mulaw_8k, pcm);
    const std::vector<std::uint8_t> wav = audio::encode_wav_pcm16(pcm, 8000);
    Added added;
    added.recording_sid = random_sid("RE");
    added.url = base_url_ + std::string(kPrefix) + account_sid + "/Recordings/" +
                added.recording_sid;
    std::lock_guard lock(mutex_);
    recordings_[added.recording_sid] = {account_sid, std::string(wav.begin(), wav.end())};
    return added;
  }

  std::size_t stored() const {
    std::lock_guard lock(mutex_);
    return recordings_.size();
  }

  // The answer to one request (a pure function of the request and the stored recordings).
  http::response<http::string_body> handle(const http::request<http::string_body>& request) {
    const auto answer = [&](http::status status, std::string body, const char* type) {
      http::response<http::string_body> response{status, request.version()};
      response.set(http::field::server, "voxgate-sim");
      response.set(http::field::content_type, type);
      response.keep_alive(request.keep_alive());
      response.body() = std::move(body);
      response.prepare_payload();
      return response;
    };
    const auto json_error = [&](http::status status, std::string message) {
      return answer(status, R"({"code":)" + std::to_string(static_cast<int>(status)) +
                                R"(,"message":")" + message + R"("})",
                    "application/json");
    };
    std::string account, sid, ext;
    if (!parse_target(request.target(), account, sid, ext)) {
      return json_error(http::status::not_found, "The requested resource was not found");
    }
    if (!authorized(request, account)) {
      ++owner_.refused_;
      auto response = json_error(http::status::unauthorized, "Authentication Error");
      response.set(http::field::www_authenticate, R"(Basic realm="Twilio API")");
      return response;
    }
    std::lock_guard lock(mutex_);
    const auto found = recordings_.find(sid);
    if (found == recordings_.end() || found->second.account_sid != account) {
      return json_error(http::status::not_found, "The requested resource was not found");
    }
    if (request.method() == http::verb::delete_ && ext == ".json") {
      recordings_.erase(found);
      ++owner_.deletions_;
      return answer(http::status::no_content, "", "application/json");
    }
    if (request.method() == http::verb::get && (ext.empty() || ext == ".wav")) {
      ++owner_.downloads_;
      return answer(http::status::ok, found->second.wav, "audio/x-wav");
    }
    return json_error(http::status::method_not_allowed, "Method not allowed");
  }

 private:
  bool authorized(const http::request<http::string_body>& request,
                  const std::string& account) const {
    if (auth_token_.empty()) return true;
    const auto header = request[http::field::authorization];
    constexpr std::string_view kBasic = "Basic ";
    if (!header.starts_with(kBasic)) return false;
    std::vector<std::uint8_t> decoded;
    if (!util::base64_decode(header.substr(kBasic.size()), decoded)) return false;
    return std::string(decoded.begin(), decoded.end()) == account + ":" + auth_token_;
  }

  class Session : public std::enable_shared_from_this<Session> {
   public:
    Session(Impl& host, tcp::socket socket) : host_(host), stream_(std::move(socket)) {}

    void start() {
      net::dispatch(stream_.get_executor(), [self = shared_from_this()] { self->do_read(); });
    }

   private:
    void do_read() {
      request_ = {};
      stream_.expires_after(std::chrono::seconds(30));
      http::async_read(stream_, buffer_, request_,
                       [self = shared_from_this()](beast::error_code ec, std::size_t) {
                         self->on_read(ec);
                       });
    }

    void on_read(beast::error_code ec) {
      if (ec) return close();
      response_ = host_.handle(request_);
      http::async_write(stream_, response_,
                        [self = shared_from_this()](beast::error_code ec, std::size_t) {
                          if (ec || !self->response_.keep_alive()) return self->close();
                          self->do_read();
                        });
    }

    void close() {
      beast::error_code ignored;
      stream_.socket().shutdown(tcp::socket::shutdown_send, ignored);
    }

    Impl& host_;
    beast::tcp_stream stream_;
    beast::flat_buffer buffer_;
    http::request<http::string_body> request_;
    http::response<http::string_body> response_;
  };

  void do_accept() {
    acceptor_.async_accept(net::make_strand(io_), [this](beast::error_code ec, tcp::socket socket) {
      if (ec == net::error::operation_aborted) return;
      if (!ec) std::make_shared<Session>(*this, std::move(socket))->start();
      do_accept();
    });
  }

  RecordingHost& owner_;
  net::io_context io_;
  tcp::acceptor acceptor_;
  std::string auth_token_;
  std::string base_url_;
  mutable std::mutex mutex_;
  std::map<std::string, Recording> recordings_;
  std::thread thread_;
};

RecordingHost::RecordingHost(const std::string& bind_host, std::uint16_t port,
                             std::string auth_token)
    : impl_(std::make_unique<Impl>(*this, bind_host, port, std::move(auth_token))) {}

RecordingHost::~RecordingHost() = default;

RecordingHost::Added RecordingHost::add(const std::string& account_sid,
                                        std::span<const std::uint8_t> mulaw_8k) {
  return impl_->add(account_sid, mulaw_8k);
}

std::string RecordingHost::base_url() const { return impl_->base_url(); }

std::size_t RecordingHost::stored() const { return impl_->stored(); }

}  // namespace voxgate::sim
