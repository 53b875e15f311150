#include "agent/webhook/webhook_agent.hpp"

#include <boost/json.hpp>

#include <utility>

namespace voxgate::agent {

namespace json = boost::json;

namespace {

json::object turn_request(const CallInfo& call, const Input& input) {
  json::array history;
  if (input.history != nullptr) {
    for (const Turn& turn : *input.history) {
      history.push_back(json::object{
          {"caller", turn.caller}, {"agent", turn.agent}, {"heard", turn.heard}});
    }
  }
  return json::object{{"call_sid", call.call_sid},        {"from", call.from},
                      {"to", call.to},                    {"transcript", input.transcript},
                      {"digits", input.digits},           {"history", std::move(history)}};
}

util::Error invalid(std::string message) {
  return util::Error{util::ErrorCode::kInvalidInput, "webhook answer: " + std::move(message)};
}

class WebhookSession final : public AgentSession {
 public:
  WebhookSession(std::shared_ptr<http::Client> client, const WebhookAgentOptions& options,
                 boost::asio::any_io_executor executor, CallInfo call)
      : client_(std::move(client)),
        options_(options),
        executor_(std::move(executor)),
        call_(std::move(call)) {}
  ~WebhookSession() override { cancel(); }

  std::string greeting() override { return options_.greeting; }

  void respond(Input input, std::function<void(std::string)> on_sentence,
               std::function<void(util::Result<Reply>)> on_done) override {
    cancel();
    http::Request request;
    request.method = "POST";
    request.url = options_.url;
    request.headers = {{"Content-Type", "application/json"}, {"Accept", "application/json"}};
    if (!options_.bearer_token.empty()) {
      request.headers.emplace_back("Authorization", "Bearer " + options_.bearer_token);
    }
    request.body = json::serialize(turn_request(call_, input));
    request.timeout = options_.timeout;
    request.max_response_bytes = 1u << 20;
    // The transfer is cancelled on this strand before the session goes, so `this` is alive
    // whenever a callback runs (http/client.hpp).
    transfer_ = client_->start(
        std::move(request), executor_,
        [this, on_sentence = std::move(on_sentence),
         on_done = std::move(on_done)](util::Result<http::Response> response) {
          const auto finished = std::move(transfer_);  // keeps this callback alive to its end
          if (!response.ok()) return on_done(response.error());
          if (response->status < 200 || response->status > 299) {
            return on_done(util::Error{util::ErrorCode::kUnavailable,
                                       "webhook answered HTTP " + std::to_string(response->status)});
          }
          util::Result<Reply> reply = parse_webhook_answer(response->body);
          if (reply.ok() && !reply->text.empty()) on_sentence(reply->text);
          on_done(std::move(reply));
        });
  }

  void cancel() override {
    if (transfer_) transfer_->cancel();
    transfer_.reset();
  }

 private:
  std::shared_ptr<http::Client> client_;
  const WebhookAgentOptions options_;
  boost::asio::any_io_executor executor_;
  CallInfo call_;
  std::shared_ptr<http::Transfer> transfer_;
};

}  // namespace

util::Result<Reply> parse_webhook_answer(std::string_view body) {
  boost::system::error_code ec;
  const json::value value = json::parse(body, ec);
  if (ec) return invalid("not JSON (" + ec.message() + ")");
  const json::object* object = value.if_object();
  if (object == nullptr) return invalid("not a JSON object");
  const json::value* reply_value = object->if_contains("reply");
  if (reply_value == nullptr || !reply_value->is_string()) {
    return invalid("\"reply\" must be a string");
  }
  Reply reply;
  reply.text = std::string(reply_value->get_string());
  if (const json::value* action = object->if_contains("action");
      action != nullptr && !action->is_null()) {
    if (!action->is_string()) return invalid("\"action\" must be a string or null");
    const std::string_view name = action->get_string();
    if (name == "hangup") {
      reply.action.kind = ActionKind::kHangup;
    } else if (name.starts_with("transfer:") && name.size() > 9) {
      reply.action.kind = ActionKind::kTransfer;
      reply.action.transfer_to = std::string(name.substr(9));
    } else if (!name.empty()) {
      return invalid("unknown action \"" + std::string(name) +
                     "\" (expected hangup or transfer:<number>)");
    }
  }
  return reply;
}

WebhookAgentEngine::WebhookAgentEngine(std::shared_ptr<http::Client> client,
                                       WebhookAgentOptions options)
    : client_(std::move(client)), options_(std::move(options)) {}

std::unique_ptr<AgentSession> WebhookAgentEngine::open(boost::asio::any_io_executor executor,
                                                        const CallInfo& call) {
  return std::make_unique<WebhookSession>(client_, options_, std::move(executor), call);
}

}  // namespace voxgate::agent
