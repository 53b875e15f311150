// The server's streaming modules wired as `voxgate serve` wires them, running in the
// calling process on real loopback sockets, so a test or a load program can reach the
// live calls (make them speak, interrupt them) while a Twilio stand-in drives the wire.
#pragma once

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>

#include <string>
#include <thread>
#include <vector>

#include "call/call_history.hpp"
#include "call/live_calls.hpp"
#include "call/stream_metrics.hpp"
#include "net/http_server.hpp"
#include "net/media_stream_endpoint.hpp"
#include "net/router.hpp"
#include "net/webhook_auth.hpp"
#include "twilio/signature.hpp"
#include "twilio/stream_token.hpp"
#include "twilio_media_client.hpp"

namespace voxgate::testing {

inline constexpr const char* kAuthToken = "media-auth-token";
inline constexpr const char* kPublicBase = "https://voice.example.com";

// The server's modules, wired as `voxgate serve` wires them, on two I/O threads.
class InProcessServer {
 public:
  InProcessServer(bool production, std::size_t max_calls = 200, int io_threads = 2,
                  call::ConversationEngines engines = {})
      : auth_token_(production ? kAuthToken : ""),
        live_calls(max_calls),
        stream_metrics(metrics),
        turn_metrics(metrics),
        tokens("stream-secret"),
        auth({.public_base_url = production ? kPublicBase : "", .auth_token = auth_token_},
             metrics),
        router(metrics),
        endpoint({.public_base_url = production ? kPublicBase : "",
                  .auth_token = auth_token_,
                  .engines = engines,
                  .turn_metrics = &turn_metrics},
                 tokens, history, live_calls, stream_metrics),
        server(io, router, {.upgrade_handler = &endpoint}, metrics),
        work(boost::asio::make_work_guard(io)) {
    const auto bound = server.listen({boost::asio::ip::make_address("127.0.0.1"), 0});
    port = bound.port();
    for (int i = 0; i < io_threads; ++i) threads.emplace_back([this] { io.run(); });
  }

  ~InProcessServer() {
    server.stop();
    work.reset();
    io.stop();
    for (auto& thread : threads) thread.join();
  }

  // What Twilio would be told by the streaming webhook, and the signed upgrade.
  StreamScript script_for(const std::string& call_sid) const {
    StreamScript script;
    script.port = port;
    script.path = "/phone/stream-audio/" + call_sid;
    script.call_sid = call_sid;
    script.custom_parameters = {{"token", tokens.issue(call_sid)}};
    if (!auth_token_.empty()) {
      script.upgrade_headers = {
          {"x-twilio-signature",
           twilio::compute_signature(auth_token_,
                                     std::string("wss://voice.example.com") + script.path, {})}};
    }
    return script;
  }

  void answer(const std::string& call_sid) {
    call::CallRecord record;
    record.call_sid = call_sid;
    record.status = "in-progress";
    history.record_incoming(record);
  }

  std::string auth_token_;
  observe::Registry metrics;
  call::CallHistory history;
  call::LiveCalls live_calls;
  call::StreamMetrics stream_metrics;
  call::TurnMetrics turn_metrics;
  twilio::StreamTokenIssuer tokens;
  net::WebhookAuth auth;
  net::Router router;
  net::MediaStreamEndpoint endpoint;
  boost::asio::io_context io;
  net::HttpServer server;
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type> work;
  std::vector<std::thread> threads;
  unsigned short port = 0;
};

}  // namespace voxgate::testing
