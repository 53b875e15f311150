// The scripted agent: dialog files (the shipped one and broken ones), intent matching on
// imperfect transcripts, DTMF, actions, and the callback contract.
#include "agent/scripted/scripted_agent.hpp"

#include <boost/asio/io_context.hpp>
#include <gtest/gtest.h>

#include "agent/echo/echo_agent.hpp"

namespace voxgate::agent {
namespace {

Dialog front_desk() {
  auto dialog = load_dialog(std::string(VOXGATE_SOURCE_DIR) + "/config/front-desk.toml");
  EXPECT_TRUE(dialog.ok()) << (dialog.ok() ? "" : dialog.error().message);
  return dialog.ok() ? *dialog : Dialog{};
}

std::string intent_name(const Dialog& dialog, std::string_view transcript,
                        std::string_view digits = {}) {
  const Intent* intent = match_intent(dialog, transcript, digits);
  return intent != nullptr ? intent->name : "fallback";
}

TEST(ScriptedAgentTest, ShippedFrontDeskDialogAnswersTheTestPhrases) {
  const Dialog dialog = front_desk();
  EXPECT_EQ(intent_name(dialog, "what are your opening hours"), "hours");
  EXPECT_EQ(intent_name(dialog, "what time do you close today"), "hours");
  EXPECT_EQ(intent_name(dialog, "i would like to book an appointment for tomorrow"), "book");
  EXPECT_EQ(intent_name(dialog, "do you have any appointments available next week"), "book");
  EXPECT_EQ(intent_name(dialog, "i need to cancel my reservation"), "cancel");
  EXPECT_EQ(intent_name(dialog, "can i speak to a manager"), "person");
  EXPECT_EQ(intent_name(dialog, "i want to speak to a real person"), "person");
  EXPECT_EQ(intent_name(dialog, "thank you goodbye"), "goodbye");
  EXPECT_EQ(intent_name(dialog, "bye"), "goodbye");
  EXPECT_EQ(intent_name(dialog, "i lost my credit card"), "fallback");
  EXPECT_EQ(intent_name(dialog, ""), "fallback");
}

TEST(ScriptedAgentTest, MatchingSurvivesRecognitionErrors) {
  const Dialog dialog = front_desk();
  // Words dropped or misheard, as pocketsphinx does on phone audio.
  EXPECT_EQ(intent_name(dialog, "what are you opening hours"), "hours");
  EXPECT_EQ(intent_name(dialog, "i would like a book an appointment"), "book");
  EXPECT_EQ(intent_name(dialog, "uh can i speak to the manager please"), "person");
  EXPECT_EQ(intent_name(dialog, "What ARE your opening-hours?"), "hours");
}

TEST(ScriptedAgentTest, KeysSelectIntents) {
  const Dialog dialog = front_desk();
  EXPECT_EQ(intent_name(dialog, "", "1"), "hours");
  EXPECT_EQ(intent_name(dialog, "", "2"), "book");
  EXPECT_EQ(intent_name(dialog, "goodbye", "0"), "person");  // a key wins over words
  EXPECT_EQ(intent_name(dialog, "", "9"), "fallback");
}

TEST(ScriptedAgentTest, ActionsComeFromTheDialog) {
  const Dialog dialog = front_desk();
  EXPECT_EQ(match_intent(dialog, "goodbye")->action.kind, ActionKind::kHangup);
  // No transfer number in the shipped file: the person intent takes a message instead.
  const Intent* person = match_intent(dialog, "talk to a person");
  EXPECT_EQ(person->action.kind, ActionKind::kNone);
  EXPECT_NE(person->reply.find("call you back"), std::string::npos);

  auto with_number = parse_dialog(R"(greeting = "Hi"
fallback = "Sorry"
transfer_number = "+14155550100"
[[intent]]
name = "person"
keywords = ["person"]
action = "transfer"
reply = "Connecting you."
unavailable_reply = "Nobody is here."
)",
                                  "inline");
  ASSERT_TRUE(with_number.ok()) << with_number.error().message;
  const Intent* transfer = match_intent(*with_number, "a person please");
  EXPECT_EQ(transfer->action.kind, ActionKind::kTransfer);
  EXPECT_EQ(transfer->action.transfer_to, "+14155550100");
  EXPECT_EQ(transfer->reply, "Connecting you.");
}

TEST(ScriptedAgentTest, BrokenDialogsNameTheProblem) {
  auto error_of = [](std::string_view text) {
    auto dialog = parse_dialog(text, "dialog.toml");
    return dialog.ok() ? std::string("ok") : dialog.error().message;
  };
  EXPECT_NE(error_of("fallback = \"x\"").find("greeting: missing"), std::string::npos);
  EXPECT_NE(error_of("greeting = \"x\"\nfallback = \"y\"\ncolour = 1").find("unknown key 'colour'"),
            std::string::npos);
  EXPECT_NE(error_of("greeting = \"x\"\nfallback = \"y\"\n[[intent]]\nreply = \"r\"")
                .find("needs phrases, keywords or digits"),
            std::string::npos);
  EXPECT_NE(error_of("greeting = \"x\"\nfallback = \"y\"\n[[intent]]\nkeywords = [\"a\"]\n"
                     "reply = \"r\"\naction = \"explode\"")
                .find("intent[0].action"),
            std::string::npos);
  EXPECT_NE(error_of("greeting = \"x\"\nfallback = \"y\"\n[[intent]]\nkeywords = [\"a\"]\n"
                     "reply = \"r\"\naction = \"transfer\"")
                .find("transfer needs"),
            std::string::npos);
  EXPECT_NE(error_of("greeting = [").find("dialog.toml"), std::string::npos);
  EXPECT_EQ(load_dialog("/nonexistent/dialog.toml").error().code, util::ErrorCode::kUnavailable);
}

TEST(ScriptedAgentTest, RepliesArriveThroughTheExecutorAndCancelStopsThem) {
  boost::asio::io_context io;
  ScriptedAgentEngine engine(front_desk());
  EXPECT_FALSE(engine.expected_phrases().empty());
  auto session = engine.open(io.get_executor(), {.call_sid = "CA1"});
  EXPECT_NE(session->greeting().find("Riverside Dental"), std::string::npos);

  std::vector<std::string> sentences;
  std::optional<Reply> done;
  session->respond({.transcript = "what are your opening hours"},
                   [&](std::string s) { sentences.push_back(std::move(s)); },
                   [&](util::Result<Reply> r) { done = *r; });
  EXPECT_TRUE(sentences.empty());  // never inline
  io.run();
  ASSERT_TRUE(done.has_value());
  EXPECT_NE(done->text.find("Monday to Friday"), std::string::npos);
  EXPECT_EQ(sentences, std::vector<std::string>{done->text});

  bool called = false;
  session->respond({.transcript = "goodbye"}, [&](std::string) { called = true; },
                   [&](util::Result<Reply>) { called = true; });
  session->cancel();
  io.restart();
  io.run();
  EXPECT_FALSE(called);
}

TEST(EchoAgentTest, RepeatsWhatItHeard) {
  boost::asio::io_context io;
  EchoAgentEngine engine;
  auto session = engine.open(io.get_executor(), {});
  std::string reply;
  session->respond({.transcript = "hello there"}, [](std::string) {},
                   [&](util::Result<Reply> r) { reply = r->text; });
  io.run();
  EXPECT_EQ(reply, "You said: hello there.");
}

}  // namespace
}  // namespace voxgate::agent
