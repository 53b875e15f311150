// Tests for the outgoing HTTP client (http/client.hpp) against a small HTTP server on
// loopback, started by each test on an ephemeral port: round trips, binary bodies, auth,
// the error cases (timeout, refused, disallowed host, oversized answer), streaming,
// cancellation, shutdown with requests in flight, and the URL allow-list helpers.
//
// The request callbacks run on an io_context that the test thread runs, so "on the
// executor" below means "on the test thread, outside a callback or inside one".
#include "http/client.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>
#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

namespace voxgate::http {
namespace {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using net::ip::tcp;
using namespace std::chrono_literals;
using util::ErrorCode;

// The value of `key` in the target's query string, or `fallback`.
int query_int(std::string_view target, std::string_view key, int fallback) {
  const auto question = target.find('?');
  if (question == std::string_view::npos) return fallback;
  std::string_view query = target.substr(question + 1);
  while (!query.empty()) {
    const auto amp = query.find('&');
    const std::string_view pair = query.substr(0, amp);
    if (pair.starts_with(key) && pair.size() > key.size() && pair[key.size()] == '=') {
      return std::stoi(std::string(pair.substr(key.size() + 1)));
    }
    query = amp == std::string_view::npos ? std::string_view() : query.substr(amp + 1);
  }
  return fallback;
}

// An HTTP/1.1 server on 127.0.0.1 with keep-alive, on its own thread. Paths:
//   /echo?status=N     the request body back, with X-Method, X-Test and X-Authorization
//                      echoing the request's method and headers
//   /sleep?ms=N        "slept" after N ms
//   /big?n=N&chunked=1 N bytes of 'x', with a Content-Length unless chunked
//   /chunks            "alpha", "beta", "gamma" as separate chunks 30 ms apart
//   /hang              no answer
class TestServer {
 public:
  TestServer() : acceptor_(ioc_, tcp::endpoint(net::ip::make_address("127.0.0.1"), 0)) {
    net::co_spawn(ioc_, accept_loop(), net::detached);
    thread_ = std::thread([this] { ioc_.run(); });
  }

  ~TestServer() {
    ioc_.stop();
    thread_.join();
  }

  unsigned short port() const { return port_; }
  std::string url(std::string_view target) const {
    return "http://127.0.0.1:" + std::to_string(port_) + std::string(target);
  }

  std::atomic<int> n_connections{0};
  std::atomic<int> n_requests{0};
  std::atomic<int> n_responses{0};

 private:
  net::awaitable<void> accept_loop() {
    for (;;) {
      tcp::socket socket = co_await acceptor_.async_accept(net::use_awaitable);
      ++n_connections;
      net::co_spawn(ioc_, serve(std::move(socket)), net::detached);
    }
  }

  net::awaitable<void> pause(std::chrono::milliseconds duration) {
    net::steady_timer timer(ioc_, duration);
    co_await timer.async_wait(net::use_awaitable);
  }

  net::awaitable<void> serve(tcp::socket socket) {
    socket.set_option(tcp::no_delay(true));
    beast::flat_buffer buffer;
    for (;;) {
      bhttp::request<bhttp::string_body> request;
      co_await bhttp::async_read(socket, buffer, request, net::use_awaitable);
      ++n_requests;
      const std::string_view target = request.target();
      if (target.starts_with("/chunks")) {
        bhttp::response<bhttp::empty_body> response{bhttp::status::ok, request.version()};
        response.chunked(true);
        bhttp::response_serializer<bhttp::empty_body> serializer{response};
        co_await bhttp::async_write_header(socket, serializer, net::use_awaitable);
        for (std::string_view piece : {"alpha", "beta", "gamma"}) {
          co_await pause(30ms);
          co_await net::async_write(socket, bhttp::make_chunk(net::buffer(piece)),
                                    net::use_awaitable);
        }
        co_await net::async_write(socket, bhttp::make_chunk_last(), net::use_awaitable);
        ++n_responses;
        continue;
      }
      bhttp::response<bhttp::string_body> response{bhttp::status::ok, request.version()};
      if (target.starts_with("/echo")) {
        response.result(static_cast<unsigned>(query_int(target, "status", 200)));
        response.set("X-Method", request.method_string());
        response.set("X-Test", request["X-Test"]);
        response.set("X-Authorization", request[bhttp::field::authorization]);
        response.set(bhttp::field::content_type, "application/octet-stream");
        response.body() = request.body();
      } else if (target.starts_with("/sleep")) {
        co_await pause(std::chrono::milliseconds(query_int(target, "ms", 0)));
        response.body() = "slept";
      } else if (target.starts_with("/big")) {
        response.body().assign(static_cast<std::size_t>(query_int(target, "n", 0)), 'x');
        if (query_int(target, "chunked", 0) == 1) response.chunked(true);
      } else if (target.starts_with("/hang")) {
        co_await pause(1h);
      } else {
        response.result(bhttp::status::not_found);
      }
      if (!response.chunked()) response.prepare_payload();
      response.keep_alive(request.keep_alive());
      co_await bhttp::async_write(socket, response, net::use_awaitable);
      ++n_responses;
      if (!request.keep_alive()) co_return;
    }
  }

  net::io_context ioc_;
  tcp::acceptor acceptor_;
  unsigned short port_ = acceptor_.local_endpoint().port();
  std::thread thread_;
};

class ClientTest : public ::testing::Test {
 protected:
  std::unique_ptr<Client> make_client(std::vector<std::string> allowed = {"127.0.0.1"}) {
    auto client = Client::create({.allowed_hosts = std::move(allowed)});
    EXPECT_TRUE(client.ok()) << client.error().message;
    return std::move(client.value());
  }

  // Runs the executor until `done` holds or `limit` passes; whether `done` held.
  bool run_until(const std::function<bool()>& done, std::chrono::milliseconds limit = 3s) {
    const auto deadline = std::chrono::steady_clock::now() + limit;
    while (!done()) {
      if (std::chrono::steady_clock::now() >= deadline) return false;
      ioc_.run_one_for(10ms);
    }
    return true;
  }

  // Waits, without running the executor, until `done` holds or 3 s pass.
  static bool wait_for_server(const std::function<bool()>& done) {
    for (int i = 0; i < 600 && !done(); ++i) std::this_thread::sleep_for(5ms);
    return done();
  }

  // Starts `request` and runs the executor until its on_done.
  util::Result<Response> fetch(Client& client, Request request) {
    std::optional<util::Result<Response>> result;
    auto transfer = client.start(std::move(request), ioc_.get_executor(),
                                 [&](util::Result<Response> r) { result.emplace(std::move(r)); });
    if (!run_until([&] { return result.has_value(); })) {
      transfer->cancel();
      return util::Error{ErrorCode::kInternal, "test: no answer within 3 s"};
    }
    return std::move(*result);
  }

  Request get(std::string_view target) { return Request{.url = server_.url(target)}; }

  TestServer server_;
  net::io_context ioc_;
  net::executor_work_guard<net::io_context::executor_type> work_ = net::make_work_guard(ioc_);
};

bool has_upper(std::string_view text) {
  return std::any_of(text.begin(), text.end(), [](char c) { return c >= 'A' && c <= 'Z'; });
}

TEST_F(ClientTest, GetRoundTrip) {
  auto client = make_client();
  Request request = get("/echo");
  request.headers = {{"X-Test", "hello there"}};
  const auto result = fetch(*client, request);
  ASSERT_TRUE(result.ok()) << result.error().message;
  EXPECT_EQ(result->status, 200);
  EXPECT_EQ(result->header("x-method"), "GET");
  EXPECT_EQ(result->header("x-test"), "hello there");
  EXPECT_EQ(result->header("content-type"), "application/octet-stream");
  EXPECT_EQ(result->header("x-authorization"), "");
  EXPECT_EQ(result->header("no-such-header"), "");
  EXPECT_EQ(result->body, "");
  EXPECT_GT(result->total_ms, 0.0);
  for (const auto& [name, value] : result->headers) EXPECT_FALSE(has_upper(name)) << name;
}

TEST_F(ClientTest, PostRoundTripPassesAnyStatusThrough) {
  auto client = make_client();
  for (int status : {201, 404, 500}) {
    Request request = get("/echo?status=" + std::to_string(status));
    request.method = "POST";
    request.headers = {{"Content-Type", "text/plain"}};
    request.body = "payload " + std::to_string(status);
    const auto result = fetch(*client, request);
    ASSERT_TRUE(result.ok()) << result.error().message;
    EXPECT_EQ(result->status, status);
    EXPECT_EQ(result->header("x-method"), "POST");
    EXPECT_EQ(result->body, request.body);
  }
}

TEST_F(ClientTest, OtherMethodsAreSentAsGiven) {
  auto client = make_client();
  Request put = get("/echo");
  put.method = "PUT";
  put.body = "new value";
  auto result = fetch(*client, put);
  ASSERT_TRUE(result.ok()) << result.error().message;
  EXPECT_EQ(result->header("x-method"), "PUT");
  EXPECT_EQ(result->body, "new value");

  Request del = get("/echo");
  del.method = "DELETE";
  result = fetch(*client, del);
  ASSERT_TRUE(result.ok()) << result.error().message;
  EXPECT_EQ(result->header("x-method"), "DELETE");
  EXPECT_EQ(result->body, "");
}

TEST_F(ClientTest, BinaryBodiesSurviveBothWays) {
  auto client = make_client();
  Request request = get("/echo");
  request.method = "POST";
  for (int i = 0; i < 512; ++i) request.body.push_back(static_cast<char>(i % 256));
  ASSERT_EQ(request.body[0], '\0');
  const auto result = fetch(*client, request);
  ASSERT_TRUE(result.ok()) << result.error().message;
  EXPECT_EQ(result->body.size(), 512u);
  EXPECT_EQ(result->body, request.body);
}

TEST_F(ClientTest, SendsBasicAuth) {
  auto client = make_client();
  Request request = get("/echo");
  request.basic_auth_user = "user";
  request.basic_auth_password = "pass";
  const auto result = fetch(*client, request);
  ASSERT_TRUE(result.ok()) << result.error().message;
  EXPECT_EQ(result->header("x-authorization"), "Basic dXNlcjpwYXNz");  // base64("user:pass")
}

TEST_F(ClientTest, ReusesTheConnection) {
  auto client = make_client();
  for (int i = 0; i < 3; ++i) {
    const auto result = fetch(*client, get("/echo"));
    ASSERT_TRUE(result.ok()) << result.error().message;
  }
  EXPECT_EQ(server_.n_connections.load(), 1);
}

TEST_F(ClientTest, SlowAnswerTimesOut) {
  auto client = make_client();
  Request request = get("/sleep?ms=5000");
  request.timeout = 200ms;
  const auto started = std::chrono::steady_clock::now();
  const auto result = fetch(*client, request);
  const auto elapsed = std::chrono::steady_clock::now() - started;
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.error().code, ErrorCode::kTimeout) << result.error().message;
  EXPECT_GE(elapsed, 150ms);
  EXPECT_LT(elapsed, 1500ms);
}

TEST_F(ClientTest, RefusedConnectionIsUnavailable) {
  unsigned short closed_port = 0;
  {
    net::io_context ioc;
    tcp::acceptor acceptor(ioc, tcp::endpoint(net::ip::make_address("127.0.0.1"), 0));
    closed_port = acceptor.local_endpoint().port();
  }
  auto client = make_client();
  const auto result =
      fetch(*client, Request{.url = "http://127.0.0.1:" + std::to_string(closed_port) + "/"});
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.error().code, ErrorCode::kUnavailable);
  EXPECT_NE(result.error().message.find("127.0.0.1:" + std::to_string(closed_port)),
            std::string::npos)
      << result.error().message;
}

TEST_F(ClientTest, ErrorsNeverShowTheCredentials) {
  auto client = make_client();
  Request request = get("/sleep?ms=5000");
  request.timeout = 50ms;
  request.basic_auth_user = "someone";
  request.basic_auth_password = "s3cret-pw";
  request.headers = {{"Authorization", "Bearer tok-123"}};
  const auto result = fetch(*client, request);
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.error().message.find("s3cret-pw"), std::string::npos);
  EXPECT_EQ(result.error().message.find("tok-123"), std::string::npos);
}

TEST_F(ClientTest, DisallowedHostFailsWithoutAConnection) {
  auto client = make_client({"127.0.0.1:1"});
  std::optional<util::Result<Response>> result;
  client->start(get("/echo"), ioc_.get_executor(),
                [&](util::Result<Response> r) { result.emplace(std::move(r)); });
  EXPECT_FALSE(result.has_value());  // posted, not called inline
  ASSERT_TRUE(run_until([&] { return result.has_value(); }));
  ASSERT_FALSE(result->ok());
  EXPECT_EQ(result->error().code, ErrorCode::kInvalidInput);
  EXPECT_EQ(result->error().message,
            "host not allowed: 127.0.0.1:" + std::to_string(server_.port()));

  const auto by_name = fetch(
      *make_client(), Request{.url = "http://localhost:" + std::to_string(server_.port()) + "/"});
  ASSERT_FALSE(by_name.ok());
  EXPECT_EQ(by_name.error().code, ErrorCode::kInvalidInput);

  const auto not_http = fetch(*client, Request{.url = "ftp://127.0.0.1/file"});
  ASSERT_FALSE(not_http.ok());
  EXPECT_EQ(not_http.error().code, ErrorCode::kInvalidInput);
  EXPECT_EQ(server_.n_connections.load(), 0);
}

TEST_F(ClientTest, RejectsMethodsAndHeadersThatWouldInjectLines) {
  auto client = make_client();
  Request bad_method = get("/echo");
  bad_method.method = "GET / HTTP/1.1\r\nX-Evil: 1\r\n";
  auto result = fetch(*client, bad_method);
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.error().code, ErrorCode::kInvalidInput);

  Request bad_header = get("/echo");
  bad_header.headers = {{"X-Test", "a\r\nX-Evil: 1"}};
  result = fetch(*client, bad_header);
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.error().code, ErrorCode::kInvalidInput);
  EXPECT_EQ(server_.n_connections.load(), 0);
}

TEST_F(ClientTest, OversizedResponseIsAnError) {
  auto client = make_client();
  for (std::string_view target : {"/big?n=100000", "/big?n=100000&chunked=1"}) {
    Request request = get(target);
    request.max_response_bytes = 1000;
    const auto result = fetch(*client, request);
    ASSERT_FALSE(result.ok()) << target;
    EXPECT_EQ(result.error().code, ErrorCode::kInvalidInput) << target;
    EXPECT_NE(result.error().message.find("response larger than 1000 bytes"), std::string::npos)
        << result.error().message;
  }
  Request exact = get("/big?n=1000&chunked=1");
  exact.max_response_bytes = 1000;
  const auto result = fetch(*client, exact);
  ASSERT_TRUE(result.ok()) << result.error().message;
  EXPECT_EQ(result->body, std::string(1000, 'x'));
}

TEST_F(ClientTest, StreamsTheBodyInChunksThenCallsOnDone) {
  auto client = make_client();
  std::vector<std::string> events;
  std::optional<util::Result<Response>> result;
  client->start(
      get("/chunks"), ioc_.get_executor(),
      [&](util::Result<Response> r) {
        events.push_back("done");
        result.emplace(std::move(r));
      },
      [&](std::string_view chunk) { events.emplace_back(chunk); });
  ASSERT_TRUE(run_until([&] { return result.has_value(); }));
  ASSERT_TRUE(result->ok()) << result->error().message;
  EXPECT_EQ(events, (std::vector<std::string>{"alpha", "beta", "gamma", "done"}));
  EXPECT_EQ((*result)->status, 200);
  EXPECT_EQ((*result)->body, "");
  EXPECT_EQ((*result)->header("transfer-encoding"), "chunked");
}

TEST_F(ClientTest, CancelBeforeTheAnswerStopsEveryCallback) {
  auto client = make_client();
  bool called = false;
  auto transfer = client->start(
      get("/sleep?ms=50"), ioc_.get_executor(), [&](util::Result<Response>) { called = true; },
      [&](std::string_view) { called = true; });
  transfer->cancel();
  // A later, longer request on the same executor: by its answer the first would have come.
  const auto control = fetch(*client, get("/sleep?ms=150"));
  ASSERT_TRUE(control.ok()) << control.error().message;
  EXPECT_FALSE(called);
  transfer->cancel();  // twice is harmless
}

TEST_F(ClientTest, CancelInsideAChunkCallbackStopsTheRest) {
  auto client = make_client();
  std::vector<std::string> chunks;
  bool done = false;
  std::shared_ptr<Transfer> transfer;
  transfer = client->start(
      get("/chunks"), ioc_.get_executor(), [&](util::Result<Response>) { done = true; },
      [&](std::string_view chunk) {
        chunks.emplace_back(chunk);
        transfer->cancel();
      });
  ASSERT_TRUE(run_until([&] { return !chunks.empty(); }));
  const auto control = fetch(*client, get("/sleep?ms=150"));
  ASSERT_TRUE(control.ok()) << control.error().message;
  EXPECT_EQ(chunks, (std::vector<std::string>{"alpha"}));
  EXPECT_FALSE(done);
}

TEST_F(ClientTest, CancelAfterTheAnswerArrivedStillStopsOnDone) {
  auto client = make_client();
  bool called = false;
  auto transfer = client->start(get("/echo"), ioc_.get_executor(),
                                [&](util::Result<Response>) { called = true; });
  // Without running the executor: let the answer arrive and on_done be posted.
  ASSERT_TRUE(wait_for_server([&] { return server_.n_responses.load() == 1; }));
  std::this_thread::sleep_for(20ms);
  transfer->cancel();
  const auto control = fetch(*client, get("/echo"));
  ASSERT_TRUE(control.ok()) << control.error().message;
  EXPECT_FALSE(called);
}

TEST_F(ClientTest, DestroyingTheClientWithRequestsInFlightEndsThem) {
  auto client = make_client();
  bool called = false;
  auto hanging = client->start(get("/hang"), ioc_.get_executor(),
                               [&](util::Result<Response>) { called = true; });
  auto answered = client->start(get("/echo"), ioc_.get_executor(),
                                [&](util::Result<Response>) { called = true; });
  // Without running the executor: both requests reach the server, the /echo answer comes
  // back and its on_done is (most likely) posted, the /hang one stays in flight.
  ASSERT_TRUE(wait_for_server([&] { return server_.n_responses.load() == 1; }));
  std::this_thread::sleep_for(20ms);
  EXPECT_EQ(server_.n_requests.load(), 2);
  const auto started = std::chrono::steady_clock::now();
  client.reset();
  EXPECT_LT(std::chrono::steady_clock::now() - started, 1s);
  ioc_.poll();
  EXPECT_FALSE(called);
  hanging->cancel();  // a Transfer may outlive its client
}

TEST_F(ClientTest, FiftyConcurrentRequestsAllComplete) {
  auto client = make_client();
  constexpr int kRequests = 50;
  std::vector<std::optional<util::Result<Response>>> results(kRequests);
  int n_done = 0;
  std::vector<std::shared_ptr<Transfer>> transfers;
  for (int i = 0; i < kRequests; ++i) {
    Request request = get("/echo");
    request.method = "POST";
    request.body = "request " + std::to_string(i);
    transfers.push_back(
        client->start(std::move(request), ioc_.get_executor(), [&, i](util::Result<Response> r) {
          results[i].emplace(std::move(r));
          ++n_done;
        }));
  }
  ASSERT_TRUE(run_until([&] { return n_done == kRequests; }));
  for (int i = 0; i < kRequests; ++i) {
    ASSERT_TRUE(results[i]->ok()) << i << ": " << results[i]->error().message;
    EXPECT_EQ((*results[i])->body, "request " + std::to_string(i));
  }
  EXPECT_LE(server_.n_connections.load(), 16);
}

TEST(HostAndPortOf, GivesTheLowercaseHostAndAnExplicitPort) {
  EXPECT_EQ(host_and_port_of("https://API.Example.com/v1/chat"), "api.example.com");
  EXPECT_EQ(host_and_port_of("HTTP://Example.COM"), "example.com");
  EXPECT_EQ(host_and_port_of("http://example.com:8080/x?y=1"), "example.com:8080");
  EXPECT_EQ(host_and_port_of("https://example.com:443/"), "example.com:443");
  EXPECT_EQ(host_and_port_of("https://user:pw@example.com/"), "example.com");
  EXPECT_EQ(host_and_port_of("http://allowed.com@evil.com/"), "evil.com");
  EXPECT_EQ(host_and_port_of("http://[::1]:8080/"), "[::1]:8080");
  EXPECT_EQ(host_and_port_of("http://[::1]/"), "[::1]");
  EXPECT_EQ(host_and_port_of("http://127.1/"), "127.0.0.1");  // as curl will connect
  EXPECT_EQ(host_and_port_of("http://example.com?q"), "example.com");
}

TEST(HostAndPortOf, IsEmptyForAnythingButAbsoluteHttp) {
  EXPECT_EQ(host_and_port_of(""), "");
  EXPECT_EQ(host_and_port_of("example.com/path"), "");
  EXPECT_EQ(host_and_port_of("/relative"), "");
  EXPECT_EQ(host_and_port_of("ftp://example.com/"), "");
  EXPECT_EQ(host_and_port_of("ws://example.com/"), "");
  EXPECT_EQ(host_and_port_of("http://example.com:99999/"), "");
  EXPECT_EQ(host_and_port_of("http://exa mple.com/"), "");
  EXPECT_EQ(host_and_port_of(std::string_view("http://a.com\0.evil.com/", 23)), "");
}

TEST(Allowed, MatchesHostsAndPorts) {
  auto created =
      Client::create({.allowed_hosts = {"api.example.com", "127.0.0.1:8080", "Upper.Example.com",
                                        "secure.example.com:443", "[::1]:9000"}});
  ASSERT_TRUE(created.ok()) << created.error().message;
  const Client& client = **created;
  EXPECT_TRUE(client.allowed("https://api.example.com/v1"));
  EXPECT_TRUE(client.allowed("http://API.example.com:9999/"));  // "host" allows any port
  EXPECT_TRUE(client.allowed("http://127.0.0.1:8080/x"));
  EXPECT_FALSE(client.allowed("http://127.0.0.1:8081/x"));
  EXPECT_FALSE(client.allowed("http://127.0.0.1/x"));
  EXPECT_TRUE(client.allowed("https://upper.example.com/"));
  EXPECT_TRUE(client.allowed("https://secure.example.com/"));  // 443 by default
  EXPECT_TRUE(client.allowed("https://secure.example.com:443/"));
  EXPECT_FALSE(client.allowed("http://secure.example.com/"));  // 80
  EXPECT_TRUE(client.allowed("http://[::1]:9000/"));
  EXPECT_FALSE(client.allowed("http://[::1]:9001/"));
  EXPECT_FALSE(client.allowed("https://evil.com/"));
  EXPECT_FALSE(client.allowed("https://api.example.com.evil.com/"));
  EXPECT_FALSE(client.allowed("https://evil.com/api.example.com"));
  EXPECT_FALSE(client.allowed("http://api.example.com@evil.com/"));
  EXPECT_FALSE(client.allowed("ftp://api.example.com/"));
  EXPECT_FALSE(client.allowed("api.example.com"));
  EXPECT_FALSE(client.allowed(""));
}

TEST(Allowed, NothingWhenTheListIsEmpty) {
  auto created = Client::create({});
  ASSERT_TRUE(created.ok()) << created.error().message;
  EXPECT_FALSE((*created)->allowed("https://example.com/"));
}

TEST(Allowed, CreateRejectsMalformedEntries) {
  for (const char* entry : {"", "host:", "host:http", "host:70000", "https://host", "[::1"}) {
    auto created = Client::create({.allowed_hosts = {entry}});
    ASSERT_FALSE(created.ok()) << entry;
    EXPECT_EQ(created.error().code, ErrorCode::kInvalidInput);
  }
}

}  // namespace
}  // namespace voxgate::http
