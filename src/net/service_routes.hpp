// The routes that serve operators rather than Twilio: /healthz for load balancers,
// /metrics for Prometheus, and /calls for the call history (admin token when set).
#pragma once

#include <chrono>
#include <functional>
#include <string>

#include "call/call_history.hpp"
#include "net/router.hpp"
#include "net/webhook_auth.hpp"
#include "observe/metrics.hpp"

namespace voxgate::net {

class ServiceRoutes {
 public:
  // Everything passed by reference must outlive the routes.
  ServiceRoutes(const WebhookAuth& auth, const call::CallHistory& history,
                observe::Registry& metrics);

  // Also remembers `router`, which set_draining drains with these routes.
  void register_routes(Router& router);

  // Thread-safe; call it after register_routes (the router holds the flag). While draining,
  // /healthz answers 503 {"status":"draining"} so balancers
  // take this worker out of rotation, and the router these routes were registered on
  // refuses new calls (Router::set_draining), while requests of calls in progress are
  // still served.
  void set_draining(bool draining);

  // Shared state: /healthz reports the store ("store": "memory" | "redis", "store_ok"). A
  // store that is down does not make the worker unhealthy (its live calls go on, and every
  // worker shares the same Redis): new calls are refused by the router instead. Set at
  // start-up.
  void set_store(std::string name, std::function<bool()> available);

 private:
  Response healthz() const;
  Response metrics() const;
  Response list_calls(const Request& request) const;
  Response get_call(const Request& request, const std::string& call_sid) const;

  const WebhookAuth& auth_;
  const call::CallHistory& history_;
  observe::Registry& metrics_;
  observe::Gauge& active_calls_;
  observe::Gauge& uptime_s_;
  const std::chrono::steady_clock::time_point started_ = std::chrono::steady_clock::now();
  Router* router_ = nullptr;  // set at start-up by register_routes
  std::string store_name_ = "memory";
  std::function<bool()> store_available_;
};

}  // namespace voxgate::net
