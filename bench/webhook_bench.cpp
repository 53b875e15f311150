// The CPU cost of answering one Twilio webhook, piece by piece and whole (no sockets):
// form decoding, signature validation, TwiML building, and Router::handle end to end.
// The wire-level figure (wrk over loopback) is bench/webhook_load.sh.
#include <benchmark/benchmark.h>

#include <boost/beast/http/field.hpp>
#include <spdlog/spdlog.h>

#include "net/form.hpp"
#include "net/phone_routes.hpp"
#include "net/router.hpp"
#include "net/webhook_auth.hpp"
#include "twilio/signature.hpp"
#include "twilio/stream_token.hpp"
#include "twilio/twiml.hpp"

namespace {

using namespace voxgate;

const std::string kBody =
    "AccountSid=AC00000000000000000000000000000001&ApiVersion=2010-04-01"
    "&CallSid=CA11111111111111111111111111111111&CallStatus=ringing&Called=%2B14155550199"
    "&Caller=%2B14155550100&Direction=inbound&From=%2B14155550100&FromCity=SAN+FRANCISCO"
    "&FromCountry=US&FromState=CA&FromZip=94105&To=%2B14155550199&ToCountry=US";
const std::string kUrl = "https://voice.example.com/phone/incoming-call-streaming";
const std::string kToken = "bench-auth-token";

void BM_ParseForm(benchmark::State& state) {
  for (auto _ : state) benchmark::DoNotOptimize(net::parse_form(kBody));
}
BENCHMARK(BM_ParseForm);

void BM_ValidateSignature(benchmark::State& state) {
  const auto params = net::parse_form(kBody).params;
  const std::string signature = twilio::compute_signature(kToken, kUrl, params);
  const twilio::SignatureValidator validator(kToken);
  for (auto _ : state) benchmark::DoNotOptimize(validator.validate(kUrl, params, signature));
}
BENCHMARK(BM_ValidateSignature);

void BM_StreamingTwiml(benchmark::State& state) {
  for (auto _ : state) {
    twilio::TwimlResponse twiml;
    twiml.connect_stream({.url = "wss://voice.example.com/phone/stream-audio/CA1111",
                          .parameters = {{"token", "o3rSw3pDKue3Tks8ph4--IrCskk361XJJDI3rcCtROI"}}});
    twiml.redirect("https://voice.example.com/phone/stream-ended/CA1111");
    benchmark::DoNotOptimize(twiml.str());
  }
}
BENCHMARK(BM_StreamingTwiml);

// The whole route: parse, check the signature, record the call, build TwiML, count it.
// Logging is off: what a log line costs depends on where it goes, not on the route.
void BM_SignedStreamingWebhook(benchmark::State& state) {
  spdlog::set_level(spdlog::level::off);
  observe::Registry metrics;
  call::CallHistory history;
  const net::WebhookAuth auth({.public_base_url = "https://voice.example.com",
                               .auth_token = kToken},
                              metrics);
  const twilio::StreamTokenIssuer tokens("stream-secret");
  AIVoiceIntegration ai({.public_base_url = "https://voice.example.com"});
  net::PhoneRoutes routes({}, auth, tokens, ai, history, metrics);
  net::Router router(metrics);
  routes.register_routes(router);
  net::Request request{net::Method::post, "/phone/incoming-call-streaming", 11};
  request.set(boost::beast::http::field::content_type, "application/x-www-form-urlencoded");
  request.set("X-Twilio-Signature",
              twilio::compute_signature(kToken, kUrl, net::parse_form(kBody).params));
  request.body() = kBody;
  request.prepare_payload();
  for (auto _ : state) {
    const net::Response response = router.handle(request);
    if (response.result() != net::Status::ok) state.SkipWithError("webhook refused");
    benchmark::DoNotOptimize(response.body().data());
  }
}
BENCHMARK(BM_SignedStreamingWebhook);

}  // namespace
