#include "agent/scripted/scripted_agent.hpp"

#include <toml++/toml.h>

#include <algorithm>
#include <cctype>
#include <fstream>
#include <set>
#include <sstream>

#include "agent/immediate_reply.hpp"

namespace voxgate::agent {

namespace {

// An intent needs this share of a phrase's words, in order, in the transcript. Three of
// four words survive a 25 % word error rate (engines.md: 30–40 % on phone audio overall,
// lower for in-domain phrases).
constexpr double kPhraseMatchShare = 0.75;
// A keyword alone selects an intent only when no phrase matched better.
constexpr double kKeywordScore = 0.7;

std::vector<std::string> words_of(std::string_view text) {
  std::vector<std::string> words;
  std::string word;
  for (const char c : text) {
    const auto u = static_cast<unsigned char>(c);
    if (std::isalnum(u) || c == '\'') {
      word.push_back(static_cast<char>(std::tolower(u)));
    } else if (!word.empty()) {
      words.push_back(std::move(word));
      word.clear();
    }
  }
  if (!word.empty()) words.push_back(std::move(word));
  return words;
}

std::string normalized(std::string_view text) {
  std::string joined;
  for (const auto& word : words_of(text)) {
    if (!joined.empty()) joined += ' ';
    joined += word;
  }
  return joined;
}

// Length of the longest common subsequence of two word lists.
std::size_t common_in_order(const std::vector<std::string>& a, const std::vector<std::string>& b) {
  std::vector<std::size_t> row(b.size() + 1, 0);
  for (const auto& word : a) {
    std::size_t diagonal = 0;
    for (std::size_t j = 1; j <= b.size(); ++j) {
      const std::size_t above = row[j];
      row[j] = word == b[j - 1] ? diagonal + 1 : std::max(row[j], row[j - 1]);
      diagonal = above;
    }
  }
  return row[b.size()];
}

util::Error config_error(const std::string& origin, const std::string& message) {
  return {util::ErrorCode::kInvalidInput, origin + ": " + message};
}

std::optional<std::string> string_at(const toml::table& table, std::string_view key) {
  if (const auto* node = table.get(key)) {
    if (const auto value = node->value<std::string>()) return *value;
  }
  return std::nullopt;
}

}  // namespace

util::Result<Dialog> parse_dialog(std::string_view toml_text, const std::string& origin) {
  toml::table root;
  try {
    root = toml::parse(toml_text, origin);
  } catch (const toml::parse_error& e) {
    std::ostringstream where;
    where << "line " << e.source().begin.line << ", column " << e.source().begin.column;
    return config_error(origin, std::string(e.description()) + " at " + where.str());
  }
  static const std::set<std::string, std::less<>> kTopKeys = {"greeting", "fallback",
                                                               "transfer_number", "intent"};
  static const std::set<std::string, std::less<>> kIntentKeys = {
      "name", "phrases", "keywords", "digits", "reply", "action", "unavailable_reply"};
  for (const auto& [key, node] : root) {
    if (!kTopKeys.contains(key.str())) {
      return config_error(origin, "unknown key '" + std::string(key.str()) + "'");
    }
  }
  Dialog dialog;
  const auto greeting = string_at(root, "greeting");
  const auto fallback = string_at(root, "fallback");
  if (!greeting || greeting->empty()) return config_error(origin, "greeting: missing");
  if (!fallback || fallback->empty()) return config_error(origin, "fallback: missing");
  dialog.greeting = *greeting;
  dialog.fallback = *fallback;
  const std::string transfer_number = string_at(root, "transfer_number").value_or("");

  const toml::array* intents = root["intent"].as_array();
  if (root.contains("intent") && intents == nullptr) {
    return config_error(origin, "intent: must be an array of tables ([[intent]])");
  }
  if (intents != nullptr) {
    for (std::size_t i = 0; i < intents->size(); ++i) {
      const std::string where = "intent[" + std::to_string(i) + "]";
      const toml::table* table = intents->get(i)->as_table();
      if (table == nullptr) return config_error(origin, where + ": must be a table");
      for (const auto& [key, node] : *table) {
        if (!kIntentKeys.contains(key.str())) {
          return config_error(origin, where + ": unknown key '" + std::string(key.str()) + "'");
        }
      }
      Intent intent;
      intent.name = string_at(*table, "name").value_or(where);
      const auto reply = string_at(*table, "reply");
      if (!reply || reply->empty()) return config_error(origin, where + ".reply: missing");
      intent.reply = *reply;
      intent.digits = string_at(*table, "digits").value_or("");
      for (const char* list : {"phrases", "keywords"}) {
        const toml::node* node = table->get(list);
        if (node == nullptr) continue;
        const toml::array* items = node->as_array();
        if (items == nullptr) return config_error(origin, where + "." + list + ": must be a list");
        for (const auto& item : *items) {
          const auto text = item.value<std::string>();
          if (!text) return config_error(origin, where + "." + list + ": must hold strings");
          (std::string_view(list) == "phrases" ? intent.phrases : intent.keywords)
              .push_back(normalized(*text));
        }
      }
      const std::string action = string_at(*table, "action").value_or("");
      if (action == "hangup") {
        intent.action.kind = ActionKind::kHangup;
      } else if (action == "transfer" || action.starts_with("transfer:")) {
        intent.action.kind = ActionKind::kTransfer;
        intent.action.transfer_to = action == "transfer" ? transfer_number : action.substr(9);
        if (intent.action.transfer_to.empty()) {
          // No number to transfer to (yet): the intent speaks its unavailable_reply instead.
          const auto unavailable = string_at(*table, "unavailable_reply");
          if (!unavailable || unavailable->empty()) {
            return config_error(origin, where + ".action: transfer needs transfer_number, "
                                                "\"transfer:<number>\" or an unavailable_reply");
          }
          intent.action = {};
          intent.reply = *unavailable;
        }
      } else if (!action.empty()) {
        return config_error(origin, where + ".action: must be hangup, transfer or "
                                            "transfer:<number> (got \"" + action + "\")");
      }
      if (intent.phrases.empty() && intent.keywords.empty() && intent.digits.empty()) {
        return config_error(origin, where + ": needs phrases, keywords or digits");
      }
      dialog.intents.push_back(std::move(intent));
    }
  }
  return dialog;
}

util::Result<Dialog> load_dialog(const std::string& path) {
  std::ifstream in(path);
  if (!in) return util::Error{util::ErrorCode::kUnavailable, path + ": cannot read the file"};
  std::stringstream text;
  text << in.rdbuf();
  return parse_dialog(text.str(), path);
}

const Intent* match_intent(const Dialog& dialog, std::string_view transcript,
                           std::string_view digits) {
  if (!digits.empty()) {
    for (const Intent& intent : dialog.intents) {
      if (!intent.digits.empty() && intent.digits.find(digits.back()) != std::string::npos) {
        return &intent;
      }
    }
  }
  const std::vector<std::string> heard = words_of(transcript);
  if (heard.empty()) return nullptr;
  const std::set<std::string> heard_set(heard.begin(), heard.end());
  const Intent* best = nullptr;
  double best_score = 0;
  for (const Intent& intent : dialog.intents) {
    double score = 0;
    for (const auto& phrase : intent.phrases) {
      const std::vector<std::string> words = words_of(phrase);
      if (words.empty()) continue;
      const double share =
          static_cast<double>(common_in_order(words, heard)) / static_cast<double>(words.size());
      if (share >= kPhraseMatchShare) score = std::max(score, share);
    }
    for (const auto& keyword : intent.keywords) {
      if (heard_set.contains(keyword)) score = std::max(score, kKeywordScore);
    }
    if (score > best_score) {
      best_score = score;
      best = &intent;
    }
  }
  return best;
}

namespace {

class ScriptedSession final : public AgentSession {
 public:
  ScriptedSession(std::shared_ptr<const Dialog> dialog, boost::asio::any_io_executor executor)
      : dialog_(std::move(dialog)),
        executor_(std::move(executor)) {}
  ~ScriptedSession() override { cancel(); }

  std::string greeting() override { return dialog_->greeting; }

  void respond(Input input, std::function<void(std::string)> on_sentence,
               std::function<void(util::Result<Reply>)> on_done) override {
    const Intent* intent = match_intent(*dialog_, input.transcript, input.digits);
    Reply reply;
    reply.text = intent != nullptr ? intent->reply : dialog_->fallback;
    if (intent != nullptr) reply.action = intent->action;
    replies_.deliver(executor_, std::move(reply), std::move(on_sentence), std::move(on_done));
  }

  void cancel() override { replies_.cancel(); }

 private:
  std::shared_ptr<const Dialog> dialog_;
  boost::asio::any_io_executor executor_;
  ImmediateReplies replies_;
};

}  // namespace

ScriptedAgentEngine::ScriptedAgentEngine(Dialog dialog)
    : dialog_(std::make_shared<const Dialog>(std::move(dialog))) {}

std::unique_ptr<AgentSession> ScriptedAgentEngine::open(boost::asio::any_io_executor executor,
                                                         const CallInfo& call) {
  (void)call;
  return std::make_unique<ScriptedSession>(dialog_, std::move(executor));
}

std::vector<std::string> ScriptedAgentEngine::expected_phrases() const {
  std::vector<std::string> phrases;
  for (const Intent& intent : dialog_->intents) {
    phrases.insert(phrases.end(), intent.phrases.begin(), intent.phrases.end());
    phrases.insert(phrases.end(), intent.keywords.begin(), intent.keywords.end());
  }
  return phrases;
}

}  // namespace voxgate::agent
