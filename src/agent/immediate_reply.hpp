// For agents that know their whole reply at once (scripted, echo): delivers it through
// the call's executor as one piece and then as done, unless a newer reply or a cancel has
// retired it meanwhile (the AgentSession callback contract).
#pragma once

#include <boost/asio/post.hpp>

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>

#include "agent/engine.hpp"

namespace voxgate::agent {

class ImmediateReplies {
 public:
  void deliver(const boost::asio::any_io_executor& executor, Reply reply,
               std::function<void(std::string)> on_sentence,
               std::function<void(util::Result<Reply>)> on_done) {
    const std::uint64_t mine = ++*generation_;
    boost::asio::post(executor, [generation = generation_, mine, reply = std::move(reply),
                                 on_sentence = std::move(on_sentence),
                                 on_done = std::move(on_done)]() mutable {
      if (generation->load() != mine) return;
      on_sentence(reply.text);
      if (generation->load() != mine) return;
      on_done(std::move(reply));
    });
  }
  // Retires every reply delivered so far.
  void cancel() { ++*generation_; }

 private:
  std::shared_ptr<std::atomic<std::uint64_t>> generation_ =
      std::make_shared<std::atomic<std::uint64_t>>(0);
};

}  // namespace voxgate::agent
