// HttpServer's graceful stop over loopback: while draining it still accepts and answers
// (closing each connection after its response) for as long as upgraded connections are
// open and a quiet period after, then closes the listener and idle connections, and the
// io_context runs out of work.
#include "net/http_server.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/write.hpp>
#include <chrono>
#include <optional>
#include <thread>

namespace voxgate::net {
namespace {
namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = boost::beast::http;
using tcp = asio::ip::tcp;
using namespace std::chrono_literals;

// Stands in for the Media Streams endpoint: takes no upgrades, reports what the test sets.
class FakeUpgrades final : public UpgradeHandler {
 public:
  bool accepts(const Request&) const override { return false; }
  void upgrade(Request, beast::tcp_stream) override {}
  std::size_t open_connections() const override { return open.load(); }
  std::atomic<std::size_t> open{0};
};

// A blocking HTTP/1.1 client connection.
class Client {
 public:
  explicit Client(unsigned short port) : socket_(io_) {
    socket_.connect({asio::ip::make_address("127.0.0.1"), port});
  }
  // Connection refused (the listener is closed): nullopt.
  static std::optional<Client> try_connect(unsigned short port) {
    try {
      return std::optional<Client>(std::in_place, port);
    } catch (const boost::system::system_error&) {
      return std::nullopt;
    }
  }
  Response get(const std::string& target) {
    Request request{Method::get, target, 11};
    request.set(http::field::host, "localhost");
    http::write(socket_, request);
    Response response;
    http::read(socket_, buffer_, response);
    return response;
  }
  // True when the server closed the connection (end of stream before any byte).
  bool closed_by_server() {
    char byte = 0;
    boost::system::error_code ec;
    socket_.read_some(asio::buffer(&byte, 1), ec);
    return ec == asio::error::eof || ec == asio::error::connection_reset;
  }

 private:
  asio::io_context io_;
  tcp::socket socket_;
  beast::flat_buffer buffer_;
};

class HttpServerDrainTest : public ::testing::Test {
 protected:
  HttpServerDrainTest() : router(metrics) {
    router.add(Method::get, "/healthz", [](const Request&, const PathParams&) {
      return json_response(Status::ok, {{"status", "ok"}});
    });
    server.emplace(io, router,
                   HttpServerOptions{.upgrade_handler = &upgrades, .drain_quiet_period = 200ms},
                   metrics);
    port = server->listen({asio::ip::make_address("127.0.0.1"), 0}).port();
    runner = std::thread([this] {
      io.run();
      io_finished = true;
    });
  }
  ~HttpServerDrainTest() override {
    io.stop();
    if (runner.joinable()) runner.join();
  }
  // Polls until the listener refuses connections; false if it still accepts after `within`.
  bool listener_closes_within(std::chrono::milliseconds within) {
    const auto deadline = std::chrono::steady_clock::now() + within;
    while (std::chrono::steady_clock::now() < deadline) {
      if (!Client::try_connect(port)) return true;
      std::this_thread::sleep_for(20ms);
    }
    return false;
  }

  observe::Registry metrics;
  Router router;
  FakeUpgrades upgrades;
  asio::io_context io;
  std::optional<HttpServer> server;
  unsigned short port = 0;
  std::atomic<bool> io_finished{false};
  std::thread runner;
};

TEST_F(HttpServerDrainTest, KeepsServingWhileStreamsAreOpenThenCloses) {
  Client idle(port);  // a pooled keep-alive connection, idle through the drain
  EXPECT_TRUE(idle.get("/healthz").keep_alive());
  upgrades.open = 1;
  server->stop();
  // Well past the quiet period: with a stream open the listener must still take requests.
  std::this_thread::sleep_for(600ms);
  for (int i = 0; i < 3; ++i) {
    std::optional<Client> late = Client::try_connect(port);
    ASSERT_TRUE(late) << "the listener closed while a stream was open";
    const Response response = late->get("/healthz");
    EXPECT_EQ(response.result(), Status::ok);
    EXPECT_FALSE(response.keep_alive());  // draining: one request per connection
    EXPECT_TRUE(late->closed_by_server());
  }
  EXPECT_FALSE(io_finished);

  upgrades.open = 0;  // the last stream ended
  EXPECT_TRUE(listener_closes_within(5s));
  EXPECT_TRUE(idle.closed_by_server());
  runner.join();  // the io_context ran out of the server's work
  EXPECT_TRUE(io_finished);
}

TEST_F(HttpServerDrainTest, WithoutStreamsTheListenerClosesAfterTheQuietPeriod) {
  const auto stopped = std::chrono::steady_clock::now();
  server->stop();
  server->stop();  // idempotent
  EXPECT_TRUE(listener_closes_within(5s));
  // Not at once: follow-up requests of calls that just ended still had the quiet period.
  EXPECT_GE(std::chrono::steady_clock::now() - stopped, 200ms);
  runner.join();
  EXPECT_TRUE(io_finished);
}

}  // namespace
}  // namespace voxgate::net
