// The webhook routes called directly (no sockets): TwiML shapes, signature checks,
// admin checks, bad input, and the service routes beside them.
#include "net/phone_routes.hpp"

#include <boost/beast/http/field.hpp>
#include <boost/json/parse.hpp>
#include <boost/asio/io_context.hpp>
#include <gtest/gtest.h>

#include <chrono>
#include <optional>

#include "net/service_routes.hpp"
#include "twilio/signature.hpp"
#include "twilio/stream_token.hpp"

namespace voxgate::net {
namespace {
namespace http = boost::beast::http;

constexpr const char* kToken = "test-auth-token";
constexpr const char* kBase = "https://voice.example.com";
constexpr const char* kSeedBody = "CallSid=test123&From=%2B1234567890&To=%2B0987654321";

Request post_form(std::string target, std::string body, std::string host = "localhost:5001") {
  Request request{Method::post, target, 11};
  request.set(http::field::host, host);
  request.set(http::field::content_type, "application/x-www-form-urlencoded");
  request.body() = std::move(body);
  request.prepare_payload();
  return request;
}

void sign(Request& request, const std::string& url, const twilio::Params& params,
          const std::string& token = kToken) {
  request.set("X-Twilio-Signature", twilio::compute_signature(token, url, params));
}

const twilio::Params kSeedParams = {
    {"CallSid", "test123"}, {"From", "+1234567890"}, {"To", "+0987654321"}};

// One server's worth of routes, in development or production mode.
struct Server {
  explicit Server(WebhookAuthOptions auth_options)
      : public_base_url(auth_options.public_base_url),
        auth(std::move(auth_options), metrics),
        tokens("stream-secret"),
        ai({.public_base_url = public_base_url}),
        phone({.greeting = "Hi <there> & welcome", .executor = io.get_executor()}, auth, tokens,
              ai, history, metrics),
        service(auth, history, metrics),
        router(metrics) {
    phone.register_routes(router);
    service.register_routes(router);
  }
  // Routes may answer later (speech is synthesized for <Play>): runs the executor until
  // they do.
  Response handle(const Request& request) {
    std::optional<Response> response;
    router.handle_async(request, [&](Response answer) { response = std::move(answer); });
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
    while (!response && std::chrono::steady_clock::now() < deadline) {
      io.restart();
      io.run_for(std::chrono::milliseconds(5));
    }
    return response.value_or(Response{Status::gateway_timeout, 11});
  }
  std::string public_base_url;
  boost::asio::io_context io;
  observe::Registry metrics;
  call::CallHistory history;
  WebhookAuth auth;
  twilio::StreamTokenIssuer tokens;
  AIVoiceIntegration ai;
  PhoneRoutes phone;
  ServiceRoutes service;
  Router router;
};

TEST(PhoneRoutesTest, DevelopmentStreamingAnswerUsesHostHeaderAndWs) {
  Server server({});
  const Response response =
      server.handle(post_form("/phone/incoming-call-streaming", kSeedBody));
  ASSERT_EQ(response.result(), Status::ok) << response.body();
  EXPECT_EQ(response[http::field::content_type], "text/xml; charset=utf-8");
  const std::string token = twilio::StreamTokenIssuer("stream-secret").issue("test123");
  EXPECT_NE(response.body().find("<Connect><Stream url=\"ws://localhost:5001/phone/stream-audio/"
                                 "test123\" statusCallback=\"http://localhost:5001/phone/"
                                 "stream-status/test123\"><Parameter name=\"token\" value=\"" +
                                 token + "\"/></Stream></Connect>"),
            std::string::npos)
      << response.body();
  EXPECT_NE(response.body().find("<Redirect method=\"POST\">http://localhost:5001/phone/"
                                 "stream-ended/test123</Redirect>"),
            std::string::npos)
      << response.body();
  const auto record = server.history.find("test123");
  ASSERT_TRUE(record.has_value());
  EXPECT_EQ(record->from, "+1234567890");
  EXPECT_EQ(record->mode, call::CallMode::kStreaming);
}

TEST(PhoneRoutesTest, HybridModeFromQuery) {
  Server server({});
  server.handle(post_form("/phone/incoming-call-streaming?mode=hybrid", kSeedBody));
  EXPECT_EQ(server.history.find("test123")->mode, call::CallMode::kHybrid);
}

TEST(PhoneRoutesTest, RecordingAnswerGreetsRecordsAndRedirects) {
  Server server({});
  const Response response = server.handle(post_form("/phone/incoming-call", kSeedBody));
  ASSERT_EQ(response.result(), Status::ok);
  const std::string& xml = response.body();
  EXPECT_NE(xml.find("<Say>Hi &lt;there&gt; &amp; welcome</Say>"), std::string::npos) << xml;
  EXPECT_NE(xml.find("<Record action=\"http://localhost:5001/phone/process-voice/test123\" "
                     "method=\"POST\""),
            std::string::npos)
      << xml;
  const auto record_at = xml.find("<Record");
  const auto redirect_at = xml.find("<Redirect method=\"POST\">http://localhost:5001/phone/"
                                    "process-voice/test123</Redirect>");
  EXPECT_NE(redirect_at, std::string::npos) << xml;
  EXPECT_LT(record_at, redirect_at);
  EXPECT_EQ(server.history.find("test123")->mode, call::CallMode::kRecording);
}

TEST(PhoneRoutesTest, ProductionUsesPublicBaseUrlAndWss) {
  Server server({.public_base_url = kBase, .auth_token = kToken});
  Request request = post_form("/phone/incoming-call-streaming", kSeedBody, "internal:8080");
  sign(request, std::string(kBase) + "/phone/incoming-call-streaming", kSeedParams);
  const Response response = server.handle(request);
  ASSERT_EQ(response.result(), Status::ok) << response.body();
  EXPECT_NE(response.body().find("url=\"wss://voice.example.com/phone/stream-audio/test123\""),
            std::string::npos);
  EXPECT_NE(response.body().find(">https://voice.example.com/phone/stream-ended/test123<"),
            std::string::npos);
}

TEST(PhoneRoutesTest, SignatureOverQueryStringIsAccepted) {
  Server server({.public_base_url = kBase, .auth_token = kToken});
  Request request = post_form("/phone/incoming-call-streaming?mode=hybrid", kSeedBody);
  sign(request, std::string(kBase) + "/phone/incoming-call-streaming?mode=hybrid", kSeedParams);
  EXPECT_EQ(server.handle(request).result(), Status::ok);
}

TEST(PhoneRoutesTest, MissingForgedOrForeignSignaturesAre403AndRecordNothing) {
  Server server({.public_base_url = kBase, .auth_token = kToken});
  const std::string url = std::string(kBase) + "/phone/incoming-call";

  Request unsigned_request = post_form("/phone/incoming-call", kSeedBody);
  Response response = server.handle(unsigned_request);
  EXPECT_EQ(response.result(), Status::forbidden);
  EXPECT_NE(response.body().find("missing_signature"), std::string::npos);

  Request other_token = post_form("/phone/incoming-call", kSeedBody);
  sign(other_token, url, kSeedParams, "another-token");
  EXPECT_EQ(server.handle(other_token).result(), Status::forbidden);

  Request tampered = post_form("/phone/incoming-call",
                               "CallSid=test123&From=%2B1999&To=%2B0987654321");
  sign(tampered, url, kSeedParams);
  response = server.handle(tampered);
  EXPECT_EQ(response.result(), Status::forbidden);
  EXPECT_NE(response.body().find("bad_signature"), std::string::npos);

  Request other_route = post_form("/phone/incoming-call-streaming", kSeedBody);
  sign(other_route, url, kSeedParams);
  EXPECT_EQ(server.handle(other_route).result(), Status::forbidden);

  EXPECT_FALSE(server.history.find("test123").has_value());
  EXPECT_NE(server.metrics.render().find(
                "voxgate_webhook_rejected_total{route=\"/phone/incoming-call\","
                "reason=\"bad_signature\"} 2"),
            std::string::npos);
}

TEST(PhoneRoutesTest, BadInputGetsJsonErrors) {
  Server server({});
  auto status_of = [&](Request request) { return server.handle(request).result(); };
  EXPECT_EQ(status_of(post_form("/phone/incoming-call", "From=%2B1")), Status::bad_request);
  EXPECT_EQ(status_of(post_form("/phone/incoming-call", "CallSid=CA%ZZ")), Status::bad_request);
  EXPECT_EQ(status_of(post_form("/phone/incoming-call", "CallSid=%3Cscript%3E")),
            Status::bad_request);
  EXPECT_EQ(status_of(post_form("/phone/incoming-call", "CallSid=" + std::string(65, 'A'))),
            Status::bad_request);
  Request json = post_form("/phone/incoming-call", "{\"CallSid\":\"CA1\"}");
  json.set(http::field::content_type, "application/json");
  EXPECT_EQ(status_of(json), Status::unsupported_media_type);
  Request no_host = post_form("/phone/incoming-call", kSeedBody);
  no_host.erase(http::field::host);
  EXPECT_EQ(status_of(no_host), Status::bad_request);
  Request bad_host = post_form("/phone/incoming-call", kSeedBody, "evil.com/\"><x");
  EXPECT_EQ(status_of(bad_host), Status::bad_request);
  EXPECT_EQ(status_of(Request{Method::get, "/phone/incoming-call", 11}),
            Status::method_not_allowed);
  EXPECT_TRUE(server.history.list().empty());
}

TEST(PhoneRoutesTest, StatusCallbackEndsTheCall) {
  Server server({});
  server.handle(post_form("/phone/incoming-call-streaming", kSeedBody));
  EXPECT_EQ(server.history.active_count(), 1u);
  const Response response = server.handle(
      post_form("/phone/call-status", "CallSid=test123&CallStatus=completed&CallDuration=42"));
  EXPECT_EQ(response.result(), Status::no_content);
  EXPECT_TRUE(response.body().empty());
  EXPECT_EQ(server.history.active_count(), 0u);
  EXPECT_EQ(server.history.find("test123")->status, "completed");
  EXPECT_EQ(server.handle(post_form("/phone/call-status", "CallSid=test123")).result(),
            Status::bad_request);
}

TEST(PhoneRoutesTest, StreamStatusKeepsStreamErrors) {
  Server server({});
  server.handle(post_form("/phone/incoming-call-streaming", kSeedBody));
  const Response response = server.handle(post_form(
      "/phone/stream-status/test123",
      "CallSid=test123&StreamSid=MZ1&StreamEvent=stream-error&StreamError=Connection%20failed"));
  EXPECT_EQ(response.result(), Status::no_content);
  EXPECT_EQ(server.history.find("test123")->stream_error, "Connection failed");
  EXPECT_NE(server.metrics.render().find("voxgate_stream_errors_total 1"), std::string::npos);
  Server production({.public_base_url = kBase, .auth_token = kToken});
  EXPECT_EQ(production.handle(post_form("/phone/stream-status/test123", kSeedBody)).result(),
            Status::forbidden);
}

TEST(PhoneRoutesTest, StreamEndedFollowsTheAgentsDecision) {
  Server server({});
  server.handle(post_form("/phone/incoming-call-streaming", kSeedBody));
  server.history.record_end_action("test123", "hangup");
  Response response = server.handle(post_form("/phone/stream-ended/test123", kSeedBody));
  EXPECT_NE(response.body().find("<Hangup/>"), std::string::npos) << response.body();
  server.history.record_end_action("test123", "transfer:+14155550100");
  response = server.handle(post_form("/phone/stream-ended/test123", kSeedBody));
  EXPECT_NE(response.body().find("<Dial>+14155550100</Dial>"), std::string::npos)
      << response.body();
  // Without the agent's decision the call goes on in recording mode, history intact.
  server.history.record_end_action("test123", "");
  server.history.record_turns("test123", {{"hello", "Hi there.", "Hi there."}});
  response = server.handle(post_form("/phone/stream-ended/test123", kSeedBody));
  EXPECT_NE(response.body().find("<Record action=\"http://localhost:5001/phone/process-voice/"
                                 "test123\""),
            std::string::npos)
      << response.body();
  EXPECT_EQ(response.body().find("<Hangup/>"), std::string::npos);
  EXPECT_EQ(server.history.find("test123")->mode, call::CallMode::kRecording);
  EXPECT_EQ(server.history.find("test123")->turns.size(), 1u);
  // A stream that never connected (no call record here) goes the same way.
  response = server.handle(post_form("/phone/stream-ended/CAnever", "CallSid=CAnever"));
  EXPECT_NE(response.body().find("process-voice/CAnever"), std::string::npos) << response.body();
  Server production({.public_base_url = kBase, .auth_token = kToken});
  EXPECT_EQ(production.handle(post_form("/phone/stream-ended/test123", kSeedBody)).result(),
            Status::forbidden);
}

TEST(PhoneRoutesTest, PlainGetOfTheStreamUrlAsksForAnUpgrade) {
  Server server({});
  const Response response =
      server.handle(Request{Method::get, "/phone/stream-audio/test123", 11});
  EXPECT_EQ(response.result(), Status::upgrade_required);
  EXPECT_EQ(response[http::field::upgrade], "websocket");
}

TEST(ServiceRoutesTest, HealthzReportsActiveCallsAndDraining) {
  Server server({});
  server.handle(post_form("/phone/incoming-call", kSeedBody));
  Response response = server.handle(Request{Method::get, "/healthz", 11});
  ASSERT_EQ(response.result(), Status::ok);
  auto body = boost::json::parse(response.body()).as_object();
  EXPECT_EQ(body.at("status").as_string(), "ok");
  EXPECT_EQ(body.at("active_calls").as_int64(), 1);
  EXPECT_TRUE(body.at("development_mode").as_bool());
  EXPECT_TRUE(body.contains("version"));
  EXPECT_TRUE(body.contains("uptime_s"));
  EXPECT_FALSE(body.at("draining").as_bool());
  server.service.set_draining(true);
  response = server.handle(Request{Method::get, "/healthz", 11});
  EXPECT_EQ(response.result(), Status::service_unavailable);
  EXPECT_EQ(response[http::field::content_type], "application/json");
  body = boost::json::parse(response.body()).as_object();
  EXPECT_EQ(body.at("status").as_string(), "draining");
  EXPECT_TRUE(body.at("draining").as_bool());
  EXPECT_EQ(body.at("active_calls").as_int64(), 1);
}

// After SIGTERM (ServiceRoutes::set_draining): no new calls, so Twilio uses the number's
// fallback URL or the balancer retries on another worker; everything a call already in
// progress needs is still served.
TEST(ServiceRoutesTest, DrainingRefusesNewCallsAndServesCallsInProgress) {
  Server server({});
  ASSERT_EQ(server.handle(post_form("/phone/incoming-call-streaming", kSeedBody)).result(),
            Status::ok);
  const std::string audio_id = server.ai.replies().put(std::vector<std::uint8_t>(800, 0xFF));
  server.service.set_draining(true);
  EXPECT_TRUE(server.router.draining());

  for (const char* route : {"/phone/incoming-call", "/phone/incoming-call-streaming",
                            "/phone/incoming-call-streaming?mode=hybrid"}) {
    SCOPED_TRACE(route);
    const Response refused =
        server.handle(post_form(route, "CallSid=CAnew&From=%2B1234567890&To=%2B0987654321"));
    EXPECT_EQ(refused.result(), Status::service_unavailable);
    EXPECT_EQ(refused[http::field::content_type], "application/json");
    EXPECT_EQ(refused[http::field::retry_after], "1");
    const auto body = boost::json::parse(refused.body()).as_object();
    EXPECT_EQ(body.at("error").as_string(), "draining");
    EXPECT_FALSE(body.at("message").as_string().empty());
  }
  EXPECT_FALSE(server.history.find("CAnew").has_value());  // refused before any work

  // The call answered before the drain goes on.
  const Response audio =
      server.handle(Request{Method::get, "/audio/" + audio_id + ".wav", 11});
  EXPECT_EQ(audio.result(), Status::ok);
  EXPECT_EQ(audio[http::field::content_type], "audio/wav");
  const Response ended = server.handle(post_form("/phone/stream-ended/test123", kSeedBody));
  EXPECT_EQ(ended.result(), Status::ok) << ended.body();
  EXPECT_NE(ended.body().find("<Response>"), std::string::npos) << ended.body();
  EXPECT_EQ(server.handle(post_form("/phone/stream-status/test123",
                                    "CallSid=test123&StreamEvent=stream-stopped"))
                .result(),
            Status::no_content);
  EXPECT_EQ(server.handle(post_form("/phone/call-status",
                                    "CallSid=test123&CallStatus=completed&CallDuration=9"))
                .result(),
            Status::no_content);
  EXPECT_EQ(server.history.find("test123")->status, "completed");
  EXPECT_EQ(server.handle(Request{Method::get, "/calls/test123", 11}).result(), Status::ok);
  const Response metrics = server.handle(Request{Method::get, "/metrics", 11});
  EXPECT_NE(metrics.body().find("route=\"/phone/incoming-call-streaming\",method=\"POST\","
                                "status=\"503\"} 2"),
            std::string::npos)
      << metrics.body();

  server.service.set_draining(false);  // (not used by the server, but not one-way either)
  EXPECT_EQ(server.handle(post_form("/phone/incoming-call-streaming", kSeedBody)).result(),
            Status::ok);
}

TEST(ServiceRoutesTest, MetricsAreServedAsPrometheusText) {
  Server server({});
  server.handle(post_form("/phone/incoming-call", kSeedBody));
  const Response response = server.handle(Request{Method::get, "/metrics", 11});
  EXPECT_EQ(response[http::field::content_type], observe::kPrometheusContentType);
  EXPECT_NE(response.body().find("voxgate_active_calls 1"), std::string::npos);
  EXPECT_NE(response.body().find("voxgate_calls_started_total{mode=\"recording\"} 1"),
            std::string::npos);
  EXPECT_NE(response.body().find("voxgate_build_info{version="), std::string::npos);
}

TEST(ServiceRoutesTest, CallsNeedTheAdminTokenWhenConfigured) {
  Server open_server({});
  open_server.handle(post_form("/phone/incoming-call", kSeedBody));
  Response response = open_server.handle(Request{Method::get, "/calls", 11});
  ASSERT_EQ(response.result(), Status::ok);
  EXPECT_EQ(boost::json::parse(response.body()).at("calls").as_array().size(), 1u);
  EXPECT_EQ(open_server.handle(Request{Method::get, "/calls/test123", 11}).result(),
            Status::ok);
  EXPECT_EQ(open_server.handle(Request{Method::get, "/calls/nope", 11}).result(),
            Status::not_found);

  Server guarded({.admin_token = "admin-secret"});
  Request request{Method::get, "/calls", 11};
  EXPECT_EQ(guarded.router.handle(request).result(), Status::unauthorized);
  request.set(http::field::authorization, "Bearer wrong");
  EXPECT_EQ(guarded.router.handle(request).result(), Status::unauthorized);
  request.set(http::field::authorization, "Bearer admin-secret");
  EXPECT_EQ(guarded.router.handle(request).result(), Status::ok);

  Server production_without_admin({.public_base_url = kBase, .auth_token = kToken});
  response = production_without_admin.router.handle(Request{Method::get, "/calls", 11});
  EXPECT_EQ(response.result(), Status::unauthorized);
  EXPECT_NE(response.body().find("admin_token"), std::string::npos);
}

}  // namespace
}  // namespace voxgate::net
