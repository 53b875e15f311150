#include "agent/openai/openai_agent.hpp"

#include <boost/json.hpp>

#include <utility>

#include "http/api_error.hpp"
#include "util/sentences.hpp"

namespace voxgate::agent {

namespace json = boost::json;

namespace {

constexpr std::size_t kKeptBodyBytes = 64 * 1024;  // for error messages and non-stream answers

util::Error malformed(std::string message) {
  return util::Error{util::ErrorCode::kInvalidInput, "chat stream: " + std::move(message)};
}

json::array tools_for(const OpenAiAgentOptions& options) {
  const json::object no_parameters{{"type", "object"}, {"properties", json::object{}}};
  json::array tools{json::object{
      {"type", "function"},
      {"function", json::object{{"name", "end_call"},
                                {"description",
                                 "End the phone call. Say goodbye in the same reply first."},
                                {"parameters", no_parameters}}}}};
  if (!options.transfer_number.empty()) {
    tools.push_back(json::object{
        {"type", "function"},
        {"function", json::object{{"name", "transfer_call"},
                                  {"description",
                                   "Transfer the caller to a person. Tell them you are "
                                   "putting them through in the same reply."},
                                  {"parameters", no_parameters}}}});
  }
  return tools;
}

json::array messages_for(const OpenAiAgentOptions& options, const Input& input) {
  json::array messages;
  if (!options.system_prompt.empty()) {
    messages.push_back(json::object{{"role", "system"}, {"content", options.system_prompt}});
  }
  if (input.history != nullptr) {
    for (const Turn& turn : *input.history) {
      messages.push_back(json::object{{"role", "user"}, {"content", turn.caller}});
      // The model should know what the caller actually heard, and that they cut it short.
      std::string said = turn.heard;
      if (turn.heard != turn.agent) said += " [the caller interrupted here]";
      messages.push_back(json::object{{"role", "assistant"}, {"content", said}});
    }
  }
  std::string now = input.transcript;
  if (!input.digits.empty()) {
    if (!now.empty()) now += ' ';
    now += "[the caller pressed " + input.digits + " on the keypad]";
  }
  messages.push_back(json::object{{"role", "user"}, {"content", now}});
  return messages;
}

class OpenAiSession final : public AgentSession {
 public:
  OpenAiSession(std::shared_ptr<http::Client> client, const OpenAiAgentOptions& options,
                boost::asio::any_io_executor executor)
      : client_(std::move(client)), options_(options), executor_(std::move(executor)) {}
  ~OpenAiSession() override { cancel(); }

  std::string greeting() override { return options_.greeting; }

  void respond(Input input, std::function<void(std::string)> on_sentence,
               std::function<void(util::Result<Reply>)> on_done) override {
    cancel();
    turn_ = std::make_shared<TurnState>();
    turn_->on_sentence = std::move(on_sentence);
    turn_->on_done = std::move(on_done);
    turn_->on_first_token = first_token_listener_;

    http::Request request;
    request.method = "POST";
    request.url = options_.base_url + "/chat/completions";
    request.headers = {{"Content-Type", "application/json"}, {"Accept", "text/event-stream"}};
    if (!options_.api_key.empty()) {
      request.headers.emplace_back("Authorization", "Bearer " + options_.api_key);
    }
    request.body = json::serialize(json::object{{"model", options_.model},
                                                {"stream", true},
                                                {"messages", messages_for(options_, input)},
                                                {"tools", tools_for(options_)}});
    request.timeout = options_.timeout;
    // Both callbacks run on the call's strand and the transfer is cancelled there before the
    // session goes (http/client.hpp); the turn state is shared so a callback that is already
    // running keeps what it uses.
    std::shared_ptr<TurnState> turn = turn_;
    transfer_ = client_->start(
        std::move(request), executor_,
        [this, turn](util::Result<http::Response> response) { on_finished(*turn, response); },
        [turn](std::string_view chunk) { on_chunk(*turn, chunk); });
  }

  void cancel() override {
    if (transfer_) transfer_->cancel();
    transfer_.reset();
    turn_.reset();
  }

  void set_first_token_listener(std::function<void()> listener) override {
    first_token_listener_ = std::move(listener);
  }

 private:
  struct TurnState {
    std::function<void(std::string)> on_sentence;
    std::function<void(util::Result<Reply>)> on_done;
    std::function<void()> on_first_token;  // called once, then emptied
    ChatStreamParser parser;
    util::SentenceCutter cutter;
    std::string body_start;  // the first bytes, for errors and non-streamed answers
    std::optional<util::Error> error;
  };

  static void on_chunk(TurnState& turn, std::string_view chunk) {
    if (turn.body_start.size() < kKeptBodyBytes) {
      turn.body_start.append(chunk.substr(0, kKeptBodyBytes - turn.body_start.size()));
    }
    if (turn.error) return;
    turn.error = turn.parser.feed(chunk, [&turn](std::string_view content) {
      if (turn.on_first_token) std::exchange(turn.on_first_token, nullptr)();
      for (std::string& sentence : turn.cutter.add(content)) turn.on_sentence(std::move(sentence));
    });
  }

  void on_finished(TurnState& turn, const util::Result<http::Response>& response) {
    const auto finished = std::move(transfer_);  // keeps this callback alive to its end
    const auto keep = std::move(turn_);
    if (!response.ok()) return turn.on_done(response.error());
    if (response->status < 200 || response->status > 299) {
      return turn.on_done(util::Error{
          util::ErrorCode::kUnavailable, "chat API answered HTTP " +
                                             std::to_string(response->status) + ": " +
                                             http::api_error_message(turn.body_start)});
    }
    if (!turn.parser.saw_done() && turn.parser.finish_reason().empty() &&
        turn.cutter.text().empty() && !turn.error) {
      // Not a stream: perhaps a server that ignored "stream" and sent one chat.completion.
      if (auto text = whole_completion_text(turn.body_start)) {
        for (std::string& sentence : turn.cutter.add(*text)) turn.on_sentence(std::move(sentence));
      } else {
        return turn.on_done(malformed("the answer was neither an event stream nor a completion"));
      }
    } else if (turn.error) {
      return turn.on_done(*turn.error);
    } else if (!turn.parser.saw_done() && turn.parser.finish_reason().empty()) {
      return turn.on_done(malformed("the stream ended before the reply did"));
    }
    Reply reply;
    for (const auto& call : turn.parser.tool_calls()) {
      if (call.name == "end_call") {
        reply.action.kind = ActionKind::kHangup;
      } else if (call.name == "transfer_call" && !options_.transfer_number.empty()) {
        reply.action.kind = ActionKind::kTransfer;
        reply.action.transfer_to = options_.transfer_number;
      }
    }
    std::vector<std::string> rest = turn.cutter.finish();
    if (turn.cutter.text().find_first_not_of(" \t\r\n") == std::string::npos) {
      // A model that only called a tool still owes the caller a word.
      if (reply.action.kind == ActionKind::kHangup) rest = {"Goodbye!"};
      if (reply.action.kind == ActionKind::kTransfer) rest = {"Let me put you through."};
    }
    for (std::string& sentence : rest) turn.on_sentence(sentence);
    const auto all = util::split_sentences(turn.cutter.text());
    for (const std::string& sentence : all.empty() ? rest : all) {
      if (!reply.text.empty()) reply.text += ' ';
      reply.text += sentence;
    }
    turn.on_done(std::move(reply));
  }

  static std::optional<std::string> whole_completion_text(std::string_view body) {
    boost::system::error_code ec;
    const json::value value = json::parse(body, ec);
    if (ec) return std::nullopt;
    const json::value* content = nullptr;
    if (const auto* object = value.if_object()) {
      if (const auto* choices = object->if_contains("choices"); choices && choices->is_array() &&
                                                                 !choices->get_array().empty()) {
        const json::value& choice = choices->get_array().front();
        if (choice.is_object()) {
          if (const auto* message = choice.get_object().if_contains("message");
              message && message->is_object()) {
            content = message->get_object().if_contains("content");
          }
        }
      }
    }
    if (content == nullptr || !content->is_string()) return std::nullopt;
    return std::string(content->get_string());
  }

  std::shared_ptr<http::Client> client_;
  const OpenAiAgentOptions options_;
  boost::asio::any_io_executor executor_;
  std::function<void()> first_token_listener_;
  std::shared_ptr<TurnState> turn_;
  std::shared_ptr<http::Transfer> transfer_;
};

}  // namespace

// Server-sent events (WHATWG HTML §9.2): lines end in \n, \r\n or \r; "data:" lines of one
// event are joined with \n; a blank line ends the event; lines starting with ':' are comments.
std::optional<util::Error> ChatStreamParser::feed(
    std::string_view bytes, const std::function<void(std::string_view)>& on_content) {
  for (const char c : bytes) {
    if (c != '\n') {
      line_ += c;
      continue;
    }
    if (!line_.empty() && line_.back() == '\r') line_.pop_back();
    if (line_.empty()) {
      if (!data_.empty()) {
        const std::string data = std::move(data_);
        data_.clear();
        if (auto error = on_event(data, on_content)) return error;
      }
    } else if (line_.starts_with("data:")) {
      std::string_view value = std::string_view(line_).substr(5);
      if (value.starts_with(' ')) value.remove_prefix(1);
      if (!data_.empty()) data_ += '\n';
      data_.append(value);
    }
    line_.clear();
  }
  return std::nullopt;
}

std::optional<util::Error> ChatStreamParser::on_event(
    std::string_view data, const std::function<void(std::string_view)>& on_content) {
  if (data == "[DONE]") {
    done_ = true;
    return std::nullopt;
  }
  boost::system::error_code ec;
  const json::value value = json::parse(data, ec);
  if (ec || !value.is_object()) return malformed("an event is not JSON");
  const json::object& chunk = value.get_object();
  if (chunk.contains("error")) {
    return util::Error{util::ErrorCode::kUnavailable,
                       "chat API error: " + http::api_error_message(data)};
  }
  const json::value* choices = chunk.if_contains("choices");
  if (choices == nullptr || !choices->is_array()) return malformed("an event has no choices");
  for (const json::value& choice_value : choices->get_array()) {
    if (!choice_value.is_object()) return malformed("a choice is not an object");
    const json::object& choice = choice_value.get_object();
    if (const json::value* reason = choice.if_contains("finish_reason");
        reason != nullptr && reason->is_string()) {
      finish_reason_ = std::string(reason->get_string());
    }
    const json::value* delta = choice.if_contains("delta");
    if (delta == nullptr || !delta->is_object()) continue;
    if (const json::value* content = delta->get_object().if_contains("content");
        content != nullptr && content->is_string() && !content->get_string().empty()) {
      on_content(content->get_string());
    }
    const json::value* calls = delta->get_object().if_contains("tool_calls");
    if (calls == nullptr || !calls->is_array()) continue;
    for (const json::value& call_value : calls->get_array()) {
      if (!call_value.is_object()) return malformed("a tool call is not an object");
      const json::object& call = call_value.get_object();
      std::size_t index = tool_calls_.size();
      if (const json::value* i = call.if_contains("index"); i != nullptr && i->is_int64()) {
        if (i->get_int64() < 0 || i->get_int64() > 16) return malformed("tool call index");
        index = static_cast<std::size_t>(i->get_int64());
      }
      if (tool_calls_.size() <= index) tool_calls_.resize(index + 1);
      const json::value* function = call.if_contains("function");
      if (function == nullptr || !function->is_object()) continue;
      if (const json::value* name = function->get_object().if_contains("name");
          name != nullptr && name->is_string()) {
        tool_calls_[index].name += name->get_string();
      }
      if (const json::value* arguments = function->get_object().if_contains("arguments");
          arguments != nullptr && arguments->is_string()) {
        tool_calls_[index].arguments += arguments->get_string();
      }
    }
  }
  return std::nullopt;
}

OpenAiAgentEngine::OpenAiAgentEngine(std::shared_ptr<http::Client> client,
                                     OpenAiAgentOptions options)
    : client_(std::move(client)), options_(std::move(options)) {}

std::unique_ptr<AgentSession> OpenAiAgentEngine::open(boost::asio::any_io_executor executor,
                                                       const CallInfo& call) {
  (void)call;
  return std::make_unique<OpenAiSession>(client_, options_, std::move(executor));
}

}  // namespace voxgate::agent
