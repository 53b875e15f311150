// Router: matching, placeholders, 404/405/400, handler failures, metrics, response framing.
#include "net/router.hpp"

#include <boost/beast/http/field.hpp>
#include <gtest/gtest.h>

#include <optional>
#include <stdexcept>

namespace voxgate::net {
namespace {
namespace http = boost::beast::http;

Request make_request(Method method, std::string target) {
  Request request{method, target, 11};
  request.set(http::field::host, "localhost");
  return request;
}

class RouterTest : public ::testing::Test {
 protected:
  RouterTest() : router(metrics) {
    router.add(Method::get, "/healthz", [](const Request&, const PathParams&) {
      return json_response(Status::ok, {{"status", "ok"}});
    });
    router.add(Method::post, "/phone/process-voice/{call_sid}",
               [](const Request&, const PathParams& params) {
                 return json_response(Status::ok, {{"sid", params.get("call_sid")}});
               });
    router.add(Method::get, "/audio/{id}.wav", [](const Request&, const PathParams& params) {
      return json_response(Status::ok, {{"id", params.get("id")}});
    });
    router.add(Method::get, "/boom", [](const Request&, const PathParams&) -> Response {
      throw std::runtime_error("handler bug");
    });
  }
  observe::Registry metrics;
  Router router;
};

TEST_F(RouterTest, MatchesLiteralRoute) {
  const Response response = router.handle(make_request(Method::get, "/healthz"));
  EXPECT_EQ(response.result(), Status::ok);
  EXPECT_EQ(response[http::field::content_type], "application/json");
  EXPECT_EQ(response.body(), "{\"status\":\"ok\"}\n");
  EXPECT_EQ(response[http::field::content_length], std::to_string(response.body().size()));
}

TEST_F(RouterTest, PlaceholderCapturesPercentDecodedSegmentAndQueryIsIgnored) {
  const Response response =
      router.handle(make_request(Method::post, "/phone/process-voice/CA%41bc?x=1"));
  EXPECT_EQ(response.result(), Status::ok);
  EXPECT_EQ(response.body(), "{\"sid\":\"CAAbc\"}\n");
}

TEST_F(RouterTest, PlaceholderWithSuffix) {
  EXPECT_EQ(router.handle(make_request(Method::get, "/audio/abc123.wav")).body(),
            "{\"id\":\"abc123\"}\n");
  EXPECT_EQ(router.handle(make_request(Method::get, "/audio/.wav")).result(), Status::not_found);
  EXPECT_EQ(router.handle(make_request(Method::get, "/audio/abc.mp3")).result(),
            Status::not_found);
}

TEST_F(RouterTest, EmptyPlaceholderAndExtraSegmentsDoNotMatch) {
  EXPECT_EQ(router.handle(make_request(Method::post, "/phone/process-voice/")).result(),
            Status::not_found);
  EXPECT_EQ(router.handle(make_request(Method::post, "/phone/process-voice/CA1/x")).result(),
            Status::not_found);
}

TEST_F(RouterTest, UnknownPathIs404Json) {
  const Response response = router.handle(make_request(Method::get, "/nope"));
  EXPECT_EQ(response.result(), Status::not_found);
  EXPECT_NE(response.body().find("\"error\":\"not_found\""), std::string::npos);
}

TEST_F(RouterTest, WrongMethodIs405WithAllow) {
  const Response response = router.handle(make_request(Method::post, "/healthz"));
  EXPECT_EQ(response.result(), Status::method_not_allowed);
  EXPECT_EQ(response[http::field::allow], "GET");
  EXPECT_NE(response.body().find("method_not_allowed"), std::string::npos);
}

TEST_F(RouterTest, InvalidTargetIs400) {
  EXPECT_EQ(router.handle(make_request(Method::get, "healthz")).result(), Status::bad_request);
  EXPECT_EQ(router.handle(make_request(Method::get, "/a%zz")).result(), Status::bad_request);
}

TEST_F(RouterTest, ThrowingHandlerIs500WithoutDetails) {
  const Response response = router.handle(make_request(Method::get, "/boom"));
  EXPECT_EQ(response.result(), Status::internal_server_error);
  EXPECT_EQ(response.body().find("handler bug"), std::string::npos);
}

TEST_F(RouterTest, KeepsHttpVersionAndKeepAlive) {
  Request request = make_request(Method::get, "/healthz");
  request.version(10);
  Response response = router.handle(request);
  EXPECT_EQ(response.version(), 10);
  EXPECT_FALSE(response.keep_alive());
  request.version(11);
  request.set(http::field::connection, "close");
  EXPECT_FALSE(router.handle(request).keep_alive());
  EXPECT_TRUE(router.handle(make_request(Method::get, "/healthz")).keep_alive());
}

TEST_F(RouterTest, CountsRequestsByRoutePatternNotByPath) {
  router.handle(make_request(Method::post, "/phone/process-voice/CA1"));
  router.handle(make_request(Method::post, "/phone/process-voice/CA2"));
  router.handle(make_request(Method::get, "/missing/a"));
  const std::string text = metrics.render();
  EXPECT_NE(text.find("voxgate_http_requests_total{route=\"/phone/process-voice/{call_sid}\","
                      "method=\"POST\",status=\"200\"} 2"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("route=\"unmatched\",method=\"GET\",status=\"404\"} 1"), std::string::npos);
  EXPECT_EQ(text.find("CA1"), std::string::npos);
}

TEST_F(RouterTest, AsyncRoutesAnswerLaterThroughTheResponder) {
  Router::Responder pending;
  router.add_async(Method::post, "/slow/{id}",
                   [&](const Request&, const PathParams& params, Router::Responder respond) {
                     pending = [respond, id = params.get("id")](Response) {
                       respond(json_response(Status::ok, {{"id", id}}));
                     };
                   });
  std::optional<Response> answer;
  Request request = make_request(Method::post, "/slow/42");
  request.version(10);
  router.handle_async(request, [&](Response response) { answer = std::move(response); });
  EXPECT_FALSE(answer.has_value());
  pending(Response{});
  ASSERT_TRUE(answer.has_value());
  EXPECT_EQ(answer->body(), "{\"id\":\"42\"}\n");
  EXPECT_EQ(answer->version(), 10);  // finished like a sync answer
  EXPECT_EQ((*answer)[http::field::content_length], std::to_string(answer->body().size()));
  // Sync routes answer at once through the same call.
  std::optional<Response> sync_answer;
  router.handle_async(make_request(Method::get, "/healthz"),
                      [&](Response response) { sync_answer = std::move(response); });
  ASSERT_TRUE(sync_answer.has_value());
  EXPECT_EQ(sync_answer->result(), Status::ok);
}

TEST_F(RouterTest, AsyncRouteThatThrowsIsAnswered500Once) {
  router.add_async(Method::get, "/broken",
                   [](const Request&, const PathParams&, Router::Responder) {
                     throw std::runtime_error("bug");
                   });
  int answers = 0;
  router.handle_async(make_request(Method::get, "/broken"), [&](Response response) {
    ++answers;
    EXPECT_EQ(response.result(), Status::internal_server_error);
  });
  EXPECT_EQ(answers, 1);
}

TEST_F(RouterTest, DuplicateRouteIsAStartupBug) {
  EXPECT_THROW(router.add(Method::get, "/healthz",
                          [](const Request&, const PathParams&) { return Response{}; }),
               std::logic_error);
}

TEST(RouterDrainTest, OnlyRoutesMarkedForItAreRefusedWhileDraining) {
  observe::Registry metrics;
  Router router(metrics);
  int new_calls = 0;
  router.add(
      Method::post, "/phone/incoming-call",
      [&new_calls](const Request&, const PathParams&) {
        ++new_calls;
        return empty_response(Status::ok);
      },
      {.starts_call = true});
  router.add_async(
      Method::post, "/later",
      [](const Request&, const PathParams&, Router::Responder respond) {
        respond(empty_response(Status::ok));
      },
      {.starts_call = true});
  router.add(Method::post, "/phone/call-status",
             [](const Request&, const PathParams&) { return empty_response(Status::no_content); });

  EXPECT_FALSE(router.draining());
  EXPECT_EQ(router.handle(make_request(Method::post, "/phone/incoming-call")).result(), Status::ok);
  router.set_draining(true);
  const Response refused = router.handle(make_request(Method::post, "/phone/incoming-call"));
  EXPECT_EQ(refused.result(), Status::service_unavailable);
  EXPECT_NE(refused.body().find("\"error\":\"draining\""), std::string::npos) << refused.body();
  EXPECT_EQ(new_calls, 1);  // the handler was not called
  std::optional<Response> later;
  router.handle_async(make_request(Method::post, "/later"),
                      [&later](Response response) { later = std::move(response); });
  ASSERT_TRUE(later);
  EXPECT_EQ(later->result(), Status::service_unavailable);
  // Other routes, an unknown path and a wrong method are answered as before.
  EXPECT_EQ(router.handle(make_request(Method::post, "/phone/call-status")).result(),
            Status::no_content);
  EXPECT_EQ(router.handle(make_request(Method::post, "/nowhere")).result(), Status::not_found);
  EXPECT_EQ(router.handle(make_request(Method::get, "/phone/incoming-call")).result(),
            Status::method_not_allowed);
}

}  // namespace
}  // namespace voxgate::net
