// The webhook agent: the conversation's thinking stays in the user's own web app (the Flask
// app voxgate replaces keeps its logic). Each turn is POSTed as JSON to a configured URL:
//
//   -> {"call_sid", "from", "to", "transcript", "digits",
//       "history": [{"caller", "agent", "heard"}, …]}        the turns before this one
//   <- {"reply": "text to speak", "action": null | "hangup" | "transfer:+15551234567"}
//
// `reply` is required (it may be ""); `action` may be absent. The answer is spoken as one
// piece. A timeout, a non-2xx status, or an answer that is not that JSON ends the turn with
// an error, which the call turns into a spoken apology (never silence); the reason is logged
// by the call, without the bearer token.
#pragma once

#include <chrono>
#include <memory>
#include <string>

#include "agent/engine.hpp"
#include "http/client.hpp"

namespace voxgate::agent {

struct WebhookAgentOptions {
  std::string url;
  std::string bearer_token;  // sent as "Authorization: Bearer …" when not empty
  std::string greeting = "Hello! How can I help you today?";
  std::chrono::milliseconds timeout{8000};
};

class WebhookAgentEngine final : public AgentEngine {
 public:
  // `client` must allow the URL's host.
  WebhookAgentEngine(std::shared_ptr<http::Client> client, WebhookAgentOptions options);
  std::string_view name() const override { return "webhook"; }
  std::unique_ptr<AgentSession> open(boost::asio::any_io_executor executor,
                                     const CallInfo& call) override;

 private:
  std::shared_ptr<http::Client> client_;
  WebhookAgentOptions options_;
};

// The webhook's answer, parsed; kInvalidInput with a reason when it is not the contract's JSON.
util::Result<Reply> parse_webhook_answer(std::string_view body);

}  // namespace voxgate::agent
