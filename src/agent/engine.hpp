// The agent: what the call says back. Shared engine, per-call session (HOUSE-STYLE.md):
// the AgentEngine is built once (a dialog file, an HTTP client pool) and is thread-safe;
// each call opens an AgentSession, used only on the call's strand.
//
// A reply may arrive in pieces: `on_sentence` receives each piece ending at a sentence
// boundary as soon as the agent has it (an LLM streams tokens), so speech can start
// before the reply is whole (an agent that knows its reply at once sends it as one piece); `on_done` then delivers the whole reply and its action exactly once. Callbacks
// run through the executor given to `open`, never inline; after `cancel` (barge-in,
// hangup) or the session's destruction, none runs.
#pragma once

#include <boost/asio/any_io_executor.hpp>

#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "util/result.hpp"

namespace voxgate::agent {

// One exchange of the conversation so far.
struct Turn {
  std::string caller;  // what the recognizer heard
  std::string agent;   // what the agent replied
  std::string heard;   // what of the reply the caller heard before interrupting (== agent if all)
};

struct CallInfo {
  std::string call_sid;
  std::string from;
  std::string to;
};

struct Input {
  std::string transcript;  // "" when the caller only pressed keys
  std::string digits;      // DTMF keys pressed since the last turn
  const std::vector<Turn>* history = nullptr;  // the conversation before this input
};

enum class ActionKind { kNone, kHangup, kTransfer };

struct Action {
  ActionKind kind = ActionKind::kNone;
  std::string transfer_to;  // E.164 number, for kTransfer
};

struct Reply {
  std::string text;
  Action action;
};

class AgentSession {
 public:
  virtual ~AgentSession() = default;
  // What the call opens with.
  virtual std::string greeting() = 0;
  virtual void respond(Input input, std::function<void(std::string sentence)> on_sentence,
                       std::function<void(util::Result<Reply>)> on_done) = 0;
  virtual void cancel() = 0;
  // Optional: `listener` runs through the session's executor when a streaming agent gets the
  // first piece of a reply, before a whole sentence exists (for the first-token metric).
  // Agents that know their reply at once never call it.
  virtual void set_first_token_listener(std::function<void()> listener) { (void)listener; }
};

class AgentEngine {
 public:
  virtual ~AgentEngine() = default;
  virtual std::string_view name() const = 0;
  virtual std::unique_ptr<AgentSession> open(boost::asio::any_io_executor executor,
                                             const CallInfo& call) = 0;
  // Phrases callers are likely to say, for recognizers that can be biased toward them.
  virtual std::vector<std::string> expected_phrases() const { return {}; }
};

}  // namespace voxgate::agent
