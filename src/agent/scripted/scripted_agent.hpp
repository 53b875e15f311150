// The embedded default agent: a dialog written in a TOML file, no network. Each intent
// lists phrases and keywords that select it, the reply to speak, and an optional action
// (hang up, or transfer to a number); anything unmatched gets the fallback reply.
//
//   greeting = "Thank you for calling. How can I help?"
//   fallback = "Sorry, I did not catch that."
//   transfer_number = "+14155550100"      # optional; "transfer" intents need it
//   [[intent]]
//   name = "hours"
//   phrases = ["what are your opening hours"]   # whole phrases, matched word by word
//   keywords = ["hours", "open"]                # single words
//   digits = "1"                                # optional: keys that select it too
//   reply = "We are open from 8 to 6."
//   action = "hangup" | "transfer" | "transfer:+14155550123"   # optional
//   unavailable_reply = "…"   # for "transfer" while transfer_number is empty
//
// Matching is forgiving because recognition on phone audio is not exact
// (engines.md: 30–40 % word error rate): an intent scores by the share of a phrase's
// words found in order in the transcript, and by keywords present; the best score above
// a threshold wins.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "agent/engine.hpp"

namespace voxgate::agent {

struct Intent {
  std::string name;
  std::vector<std::string> phrases;   // lowercase words separated by spaces
  std::vector<std::string> keywords;  // lowercase single words
  std::string digits;                 // DTMF keys that select it
  std::string reply;
  Action action;
};

struct Dialog {
  std::string greeting;
  std::string fallback;
  std::vector<Intent> intents;
};

// Reads and validates a dialog file. Errors (unreadable file, TOML syntax, unknown keys,
// missing greeting/fallback/reply, a transfer with no number) name the file and the
// key: start-up configuration, so the caller reports it and exits.
util::Result<Dialog> load_dialog(const std::string& path);
util::Result<Dialog> parse_dialog(std::string_view toml_text, const std::string& origin);

// The intent an input selects (a key pressed wins over words), or nullptr for the
// fallback. Exposed for tests.
const Intent* match_intent(const Dialog& dialog, std::string_view transcript,
                           std::string_view digits = {});

class ScriptedAgentEngine final : public AgentEngine {
 public:
  explicit ScriptedAgentEngine(Dialog dialog);
  std::string_view name() const override { return "scripted"; }
  std::unique_ptr<AgentSession> open(boost::asio::any_io_executor executor,
                                     const CallInfo& call) override;
  std::vector<std::string> expected_phrases() const override;

 private:
  std::shared_ptr<const Dialog> dialog_;
};

}  // namespace voxgate::agent
