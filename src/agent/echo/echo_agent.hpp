// A diagnostic agent: it repeats what it heard, so a user can hear the recognizer's
// output on a real call ("You said: …").
#pragma once

#include "agent/engine.hpp"

namespace voxgate::agent {

class EchoAgentEngine final : public AgentEngine {
 public:
  std::string_view name() const override { return "echo"; }
  std::unique_ptr<AgentSession> open(boost::asio::any_io_executor executor,
                                     const CallInfo& call) override;
};

}  // namespace voxgate::agent
