// The openai agent: an OpenAI-compatible chat model (OpenAI, llama.cpp, vLLM, Ollama) holds
// the conversation. Each turn POSTs `/chat/completions` with `"stream": true`:
//
//   messages: system prompt, then each earlier turn as user (what the recognizer heard) and
//             assistant (what the caller heard of the reply), then this turn's words or keys
//   tools:    end_call, and transfer_call when a transfer number is configured
//
// The answer is a stream of server-sent events (`data: {chat.completion.chunk}` … `data:
// [DONE]`); content deltas are cut into sentences as they arrive and each sentence is handed
// on at once, so speech starts while the model is still writing. Tool calls arrive in
// fragments and become the reply's action once the stream ends. A server that ignores
// `stream` and answers one chat.completion JSON is understood too.
//
// Errors end the turn (the call apologizes): connection failures, timeouts (the whole reply
// within `timeout`), non-2xx statuses (the API's error message is kept), a stream that ends
// without `[DONE]` or a finish reason, malformed events.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "agent/engine.hpp"
#include "http/client.hpp"

namespace voxgate::agent {

struct OpenAiAgentOptions {
  std::string base_url = "https://api.openai.com/v1";  // "/chat/completions" is appended
  std::string api_key;                                 // Bearer, when not empty
  std::string model = "gpt-4o-mini";
  std::string system_prompt;
  std::string greeting = "Hello! How can I help you today?";
  std::string transfer_number;  // "" = no transfer_call tool
  std::chrono::milliseconds timeout{8000};
};

class OpenAiAgentEngine final : public AgentEngine {
 public:
  OpenAiAgentEngine(std::shared_ptr<http::Client> client, OpenAiAgentOptions options);
  std::string_view name() const override { return "openai"; }
  std::unique_ptr<AgentSession> open(boost::asio::any_io_executor executor,
                                     const CallInfo& call) override;

 private:
  std::shared_ptr<http::Client> client_;
  OpenAiAgentOptions options_;
};

// Reassembles a chat-completions event stream, fed in arbitrary pieces.
class ChatStreamParser {
 public:
  struct ToolCall {
    std::string name;
    std::string arguments;  // JSON text, as the model wrote it
  };

  // Consumes bytes of the body; `on_content` gets each content delta. Returns an error for an
  // event that is not a chat.completion.chunk (or carries an API error); events after an
  // error are not read.
  std::optional<util::Error> feed(std::string_view bytes,
                                  const std::function<void(std::string_view)>& on_content);
  bool saw_done() const { return done_; }
  const std::string& finish_reason() const { return finish_reason_; }
  const std::vector<ToolCall>& tool_calls() const { return tool_calls_; }

 private:
  std::optional<util::Error> on_event(std::string_view data,
                                      const std::function<void(std::string_view)>& on_content);

  std::string line_;   // an incomplete line
  std::string data_;   // the data lines of the event being read
  bool done_ = false;
  std::string finish_reason_;
  std::vector<ToolCall> tool_calls_;
};

}  // namespace voxgate::agent
