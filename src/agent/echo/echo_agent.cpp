#include "agent/echo/echo_agent.hpp"



#include "agent/immediate_reply.hpp"

namespace voxgate::agent {

namespace {

class EchoSession final : public AgentSession {
 public:
  explicit EchoSession(boost::asio::any_io_executor executor)
      : executor_(std::move(executor)) {}
  ~EchoSession() override { cancel(); }

  std::string greeting() override { return "Echo test. Say something and I will repeat it."; }

  void respond(Input input, std::function<void(std::string)> on_sentence,
               std::function<void(util::Result<Reply>)> on_done) override {
    Reply reply;
    if (!input.transcript.empty()) {
      reply.text = "You said: " + input.transcript + ".";
    } else if (!input.digits.empty()) {
      reply.text = "You pressed " + input.digits + ".";
    } else {
      reply.text = "I heard nothing.";
    }
    replies_.deliver(executor_, std::move(reply), std::move(on_sentence), std::move(on_done));
  }

  void cancel() override { replies_.cancel(); }

 private:
  boost::asio::any_io_executor executor_;
  ImmediateReplies replies_;
};

}  // namespace

std::unique_ptr<AgentSession> EchoAgentEngine::open(boost::asio::any_io_executor executor,
                                                     const CallInfo& call) {
  (void)call;
  return std::make_unique<EchoSession>(std::move(executor));
}

}  // namespace voxgate::agent
