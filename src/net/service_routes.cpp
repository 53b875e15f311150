#include "net/service_routes.hpp"

#include <boost/beast/http/field.hpp>
#include <boost/json/array.hpp>
#include <boost/json/object.hpp>

#include <ctime>

#include "util/version.hpp"

namespace voxgate::net {
namespace http = boost::beast::http;

namespace {

std::string iso8601(call::TimePoint when) {
  if (when == call::TimePoint{}) return {};
  const std::time_t t = std::chrono::system_clock::to_time_t(when);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char text[32];
  std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return text;
}

std::string dtmf_digits(const call::CallRecord& record) {
  std::string digits;
  for (const auto& event : record.dtmf) digits += event.digit;
  return digits;
}

boost::json::array turns_json(const call::CallRecord& record) {
  boost::json::array turns;
  for (const auto& turn : record.turns) {
    turns.push_back({{"caller", turn.caller}, {"agent", turn.agent}, {"heard", turn.heard}});
  }
  return turns;
}

boost::json::object to_json(const call::CallRecord& record) {
  return {{"call_sid", record.call_sid},
          {"from", record.from},
          {"to", record.to},
          {"mode", call::to_string(record.mode)},
          {"status", record.status},
          {"ended", record.ended()},
          {"started_at", iso8601(record.started_at)},
          {"updated_at", iso8601(record.updated_at)},
          {"stream_sid", record.stream_sid},
          {"dtmf", dtmf_digits(record)},
          {"turns", turns_json(record)},
          {"end_action", record.end_action}};
}

}  // namespace

ServiceRoutes::ServiceRoutes(const WebhookAuth& auth, const call::CallHistory& history,
                             observe::Registry& metrics)
    : auth_(auth),
      history_(history),
      metrics_(metrics),
      active_calls_(metrics.gauge("voxgate_active_calls", "Calls answered and not yet ended.")
                        .with({})),
      uptime_s_(metrics.gauge("voxgate_uptime_seconds", "Seconds since the server started.")
                    .with({})) {
  metrics.gauge("voxgate_build_info", "Build identity; the value is always 1.", {"version"})
      .with({kVersion})
      .set(1);
}

void ServiceRoutes::register_routes(Router& router) {
  router_ = &router;
  router.add(Method::get, "/healthz",
             [this](const Request&, const PathParams&) { return healthz(); });
  router.add(Method::get, "/metrics",
             [this](const Request&, const PathParams&) { return metrics(); });
  router.add(Method::get, "/calls",
             [this](const Request& request, const PathParams&) { return list_calls(request); });
  router.add(Method::get, "/calls/{call_sid}",
             [this](const Request& request, const PathParams& params) {
               return get_call(request, params.get("call_sid"));
             });
}

void ServiceRoutes::set_draining(bool draining) {
  if (router_ != nullptr) router_->set_draining(draining);
}

void ServiceRoutes::set_store(std::string name, std::function<bool()> available) {
  store_name_ = std::move(name);
  store_available_ = std::move(available);
}

Response ServiceRoutes::healthz() const {
  const auto uptime =
      std::chrono::duration_cast<std::chrono::seconds>(std::chrono::steady_clock::now() - started_);
  const bool draining = router_ != nullptr && router_->draining();
  return json_response(draining ? Status::service_unavailable : Status::ok,
                       {{"status", draining ? "draining" : "ok"},
                        {"draining", draining},
                        {"version", kVersion},
                        {"uptime_s", uptime.count()},
                        {"active_calls", history_.active_count()},
                        {"store", store_name_},
                        {"store_ok", !store_available_ || store_available_()},
                        {"development_mode", auth_.development_mode()}});
}

Response ServiceRoutes::metrics() const {
  // Gauges that mirror state elsewhere are brought up to date when scraped.
  active_calls_.set(static_cast<double>(history_.active_count()));
  const std::chrono::duration<double> uptime = std::chrono::steady_clock::now() - started_;
  uptime_s_.set(uptime.count());
  Response response{Status::ok, 11};
  response.set(http::field::content_type, std::string(observe::kPrometheusContentType));
  response.body() = metrics_.render();
  return response;
}

Response ServiceRoutes::list_calls(const Request& request) const {
  if (auto refusal = auth_.check_admin(request)) return std::move(*refusal);
  boost::json::array calls;
  for (const auto& record : history_.list()) calls.push_back(to_json(record));
  return json_response(Status::ok, {{"calls", std::move(calls)}});
}

Response ServiceRoutes::get_call(const Request& request, const std::string& call_sid) const {
  if (auto refusal = auth_.check_admin(request)) return std::move(*refusal);
  const auto record = history_.find(call_sid);
  if (!record) return error_response(Status::not_found, "unknown_call", "No call with that sid.");
  return json_response(Status::ok, to_json(*record));
}

}  // namespace voxgate::net
