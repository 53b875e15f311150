// Tests for the network agents (agent/webhook, agent/openai) against the OpenAI-compatible
// stand-in of tests/fakes on loopback: what they send, what they make of the answers, and
// how every failure becomes an error for the call to apologize for (never silence, never a
// hang).
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>
#include <boost/json.hpp>

#include <optional>
#include <string>
#include <vector>

#include "agent/openai/openai_agent.hpp"
#include "agent/webhook/webhook_agent.hpp"
#include "openai_fake.hpp"
#include "run_until.hpp"

namespace voxgate::agent {
namespace {

using namespace std::chrono_literals;
using testing::FailureMode;
using testing::FakeRoute;
using testing::OpenAiFake;
using ::testing::HasSubstr;

struct Outcome {
  std::vector<std::string> sentences;
  std::optional<util::Result<Reply>> reply;
};

class NetworkAgentTest : public ::testing::Test {
 protected:
  std::shared_ptr<http::Client> client() {
    auto made = http::Client::create({.allowed_hosts = {"127.0.0.1"}});
    EXPECT_TRUE(made.ok());
    return std::shared_ptr<http::Client>(std::move(*made));
  }

  Outcome ask(AgentSession& session, Input input, std::chrono::milliseconds limit = 5s) {
    Outcome outcome;
    session.respond(
        std::move(input), [&](std::string sentence) { outcome.sentences.push_back(sentence); },
        [&](util::Result<Reply> reply) { outcome.reply.emplace(std::move(reply)); });
    EXPECT_TRUE(test_support::run_until(io_, [&] { return outcome.reply.has_value(); }, limit));
    return outcome;
  }

  boost::asio::io_context io_;
  OpenAiFake fake_;
  const CallInfo call_{.call_sid = "CA123", .from = "+15550001111", .to = "+15550002222"};
};

// --- webhook --------------------------------------------------------------------------------

TEST_F(NetworkAgentTest, WebhookPostsTheTurnAndSpeaksTheReply) {
  WebhookAgentEngine engine(client(), {.url = fake_.webhook_url(), .bearer_token = "sekrit"});
  auto session = engine.open(io_.get_executor(), call_);
  const std::vector<Turn> history{{.caller = "hi", .agent = "Hello there.", .heard = "Hello"}};
  fake_.set_webhook_answer(R"({"reply":"We open at nine.","action":null})");
  Outcome outcome = ask(*session, {.transcript = "when do you open", .history = &history});
  ASSERT_TRUE(outcome.reply->ok()) << outcome.reply->error().message;
  EXPECT_EQ((*outcome.reply)->text, "We open at nine.");
  EXPECT_EQ((*outcome.reply)->action.kind, ActionKind::kNone);
  EXPECT_EQ(outcome.sentences, std::vector<std::string>{"We open at nine."});

  const auto requests = fake_.requests(FakeRoute::kWebhook);
  ASSERT_EQ(requests.size(), 1u);
  EXPECT_EQ(requests[0].header("authorization"), "Bearer sekrit");
  ASSERT_TRUE(requests[0].json);
  const auto& body = requests[0].json->as_object();
  EXPECT_EQ(body.at("call_sid"), "CA123");
  EXPECT_EQ(body.at("from"), "+15550001111");
  EXPECT_EQ(body.at("to"), "+15550002222");
  EXPECT_EQ(body.at("transcript"), "when do you open");
  ASSERT_EQ(body.at("history").as_array().size(), 1u);
  EXPECT_EQ(body.at("history").as_array()[0].at("heard"), "Hello");
}

TEST_F(NetworkAgentTest, WebhookActionsHangUpOrTransfer) {
  WebhookAgentEngine engine(client(), {.url = fake_.webhook_url()});
  auto session = engine.open(io_.get_executor(), call_);
  fake_.set_webhook_answer(R"({"reply":"Bye!","action":"hangup"})");
  Outcome bye = ask(*session, {.transcript = "goodbye"});
  ASSERT_TRUE(bye.reply->ok());
  EXPECT_EQ((*bye.reply)->action.kind, ActionKind::kHangup);
  EXPECT_TRUE(fake_.requests(FakeRoute::kWebhook)[0].header("authorization").empty());

  fake_.set_webhook_answer(R"({"reply":"Putting you through.","action":"transfer:+15550009999"})");
  Outcome transfer = ask(*session, {.digits = "0"});
  ASSERT_TRUE(transfer.reply->ok());
  EXPECT_EQ((*transfer.reply)->action.kind, ActionKind::kTransfer);
  EXPECT_EQ((*transfer.reply)->action.transfer_to, "+15550009999");
  EXPECT_EQ(fake_.requests(FakeRoute::kWebhook)[1].json->at("digits"), "0");
}

TEST_F(NetworkAgentTest, WebhookFailuresAreErrorsNotSilence) {
  WebhookAgentEngine engine(client(), {.url = fake_.webhook_url(), .timeout = 300ms});
  auto session = engine.open(io_.get_executor(), call_);
  const std::vector<std::pair<std::string, std::string>> bad_answers = {
      {R"({"text":"wrong field"})", "\"reply\" must be a string"},
      {R"({"reply":"x","action":"explode"})", "unknown action"},
      {R"(["not","an","object"])", "not a JSON object"},
  };
  for (const auto& [answer, why] : bad_answers) {
    fake_.set_webhook_answer(answer);
    Outcome outcome = ask(*session, {.transcript = "hi"});
    ASSERT_FALSE(outcome.reply->ok()) << answer;
    EXPECT_THAT(outcome.reply->error().message, HasSubstr(why));
    EXPECT_TRUE(outcome.sentences.empty());
  }
  fake_.set_failure(FakeRoute::kWebhook, testing::Failure::server_error());
  Outcome error = ask(*session, {.transcript = "hi"});
  ASSERT_FALSE(error.reply->ok());
  EXPECT_THAT(error.reply->error().message, HasSubstr("HTTP 500"));

  fake_.set_failure(FakeRoute::kWebhook, testing::Failure::malformed());
  EXPECT_FALSE(ask(*session, {.transcript = "hi"}).reply->ok());

  fake_.set_failure(FakeRoute::kWebhook, testing::Failure::close_without_answer());
  EXPECT_FALSE(ask(*session, {.transcript = "hi"}).reply->ok());

  fake_.set_failure(FakeRoute::kWebhook, testing::Failure::stall());
  const auto started = std::chrono::steady_clock::now();
  Outcome slow = ask(*session, {.transcript = "hi"});
  ASSERT_FALSE(slow.reply->ok());
  EXPECT_EQ(slow.reply->error().code, util::ErrorCode::kTimeout);
  EXPECT_LT(std::chrono::steady_clock::now() - started, 3s);
}

TEST_F(NetworkAgentTest, WebhookCancelledTurnCallsNothing) {
  WebhookAgentEngine engine(client(), {.url = fake_.webhook_url()});
  auto session = engine.open(io_.get_executor(), call_);
  fake_.set_failure(FakeRoute::kWebhook, testing::Failure::delayed(100ms));
  bool called = false;
  session->respond({.transcript = "hi"}, [&](std::string) { called = true; },
                   [&](util::Result<Reply>) { called = true; });
  ASSERT_TRUE(fake_.wait_for_requests(FakeRoute::kWebhook, 1, 2s));
  session->cancel();
  test_support::run_until(io_, [] { return false; }, 300ms);
  EXPECT_FALSE(called);
}

// --- openai ---------------------------------------------------------------------------------

TEST_F(NetworkAgentTest, OpenAiStreamsSentencesAsTheyArrive) {
  fake_.require_api_key("sk-test");
  fake_.set_chat_reply("We open at nine. We close at five. Anything else?");
  OpenAiAgentEngine engine(client(), {.base_url = fake_.base_url() + "/v1",
                                      .api_key = "sk-test",
                                      .model = "tiny",
                                      .system_prompt = "Be brief."});
  auto session = engine.open(io_.get_executor(), call_);
  const std::vector<Turn> history{
      {.caller = "hello", .agent = "Hi! How can I help you today?", .heard = "Hi!"}};
  Outcome outcome = ask(*session, {.transcript = "when are you open", .history = &history});
  ASSERT_TRUE(outcome.reply->ok()) << outcome.reply->error().message;
  EXPECT_EQ(outcome.sentences,
            (std::vector<std::string>{"We open at nine.", "We close at five.", "Anything else?"}));
  EXPECT_EQ((*outcome.reply)->text, "We open at nine. We close at five. Anything else?");
  EXPECT_EQ((*outcome.reply)->action.kind, ActionKind::kNone);

  const auto requests = fake_.requests(FakeRoute::kChatCompletions);
  ASSERT_EQ(requests.size(), 1u);
  const auto& body = requests[0].json->as_object();
  EXPECT_EQ(body.at("model"), "tiny");
  EXPECT_EQ(body.at("stream"), true);
  const auto& messages = body.at("messages").as_array();
  ASSERT_EQ(messages.size(), 4u);
  EXPECT_EQ(messages[0].at("role"), "system");
  EXPECT_EQ(messages[0].at("content"), "Be brief.");
  EXPECT_EQ(messages[1].at("content"), "hello");
  EXPECT_THAT(std::string(messages[2].at("content").as_string()),
              HasSubstr("[the caller interrupted here]"));
  EXPECT_EQ(messages[3].at("content"), "when are you open");
  const auto& tools = body.at("tools").as_array();
  ASSERT_EQ(tools.size(), 1u);  // no transfer number: no transfer_call
  EXPECT_EQ(tools[0].at("function").at("name"), "end_call");
}

TEST_F(NetworkAgentTest, OpenAiFirstSentenceComesBeforeTheReplyEnds) {
  fake_.set_chat_reply("Sure thing. Let me explain everything in some detail now.");
  fake_.set_stream_chunk_delay(40ms);
  OpenAiAgentEngine engine(client(), {.base_url = fake_.base_url() + "/v1"});
  auto session = engine.open(io_.get_executor(), call_);
  int first_tokens = 0;
  session->set_first_token_listener([&] { ++first_tokens; });
  Outcome outcome;
  session->respond(
      {.transcript = "hi"}, [&](std::string sentence) { outcome.sentences.push_back(sentence); },
      [&](util::Result<Reply> reply) { outcome.reply.emplace(std::move(reply)); });
  ASSERT_TRUE(test_support::run_until(io_, [&] { return !outcome.sentences.empty(); }));
  EXPECT_FALSE(outcome.reply.has_value());  // still streaming
  EXPECT_EQ(outcome.sentences[0], "Sure thing.");
  EXPECT_EQ(first_tokens, 1);
  ASSERT_TRUE(test_support::run_until(io_, [&] { return outcome.reply.has_value(); }));
  EXPECT_TRUE(outcome.reply->ok());
  EXPECT_EQ(first_tokens, 1);  // once per reply
}

TEST_F(NetworkAgentTest, OpenAiToolCallsBecomeActions) {
  OpenAiAgentEngine engine(client(), {.base_url = fake_.base_url() + "/v1",
                                      .transfer_number = "+15550007777"});
  auto session = engine.open(io_.get_executor(), call_);
  fake_.set_chat_reply("Goodbye, and thanks for calling.");
  fake_.set_tool_call("end_call", "{}");
  Outcome bye = ask(*session, {.transcript = "bye"});
  ASSERT_TRUE(bye.reply->ok());
  EXPECT_EQ((*bye.reply)->action.kind, ActionKind::kHangup);
  EXPECT_EQ(bye.sentences, std::vector<std::string>{"Goodbye, and thanks for calling."});

  fake_.set_chat_reply("");  // a bare tool call still gets a word to the caller
  fake_.set_tool_call("transfer_call", R"({"reason":"asked for a person"})");
  Outcome transfer = ask(*session, {.transcript = "a person please"});
  ASSERT_TRUE(transfer.reply->ok());
  EXPECT_EQ((*transfer.reply)->action.kind, ActionKind::kTransfer);
  EXPECT_EQ((*transfer.reply)->action.transfer_to, "+15550007777");
  EXPECT_EQ(transfer.sentences, std::vector<std::string>{"Let me put you through."});
  const auto requests = fake_.requests(FakeRoute::kChatCompletions);
  EXPECT_EQ(requests[1].json->at("tools").as_array().size(), 2u);
}

TEST_F(NetworkAgentTest, OpenAiFailuresAreErrors) {
  OpenAiAgentEngine engine(client(), {.base_url = fake_.base_url() + "/v1",
                                      .api_key = "wrong",
                                      .timeout = 500ms});
  auto session = engine.open(io_.get_executor(), call_);
  fake_.require_api_key("right");
  Outcome unauthorized = ask(*session, {.transcript = "hi"});
  ASSERT_FALSE(unauthorized.reply->ok());
  EXPECT_THAT(unauthorized.reply->error().message, HasSubstr("HTTP 401"));
  fake_.require_api_key("");

  fake_.set_failure(FakeRoute::kChatCompletions, testing::Failure::server_error());
  Outcome server_error = ask(*session, {.transcript = "hi"});
  ASSERT_FALSE(server_error.reply->ok());
  EXPECT_THAT(server_error.reply->error().message, HasSubstr("HTTP 500"));

  fake_.set_failure(FakeRoute::kChatCompletions, testing::Failure::malformed());
  Outcome garbled = ask(*session, {.transcript = "hi"});
  ASSERT_FALSE(garbled.reply->ok());

  fake_.set_failure(FakeRoute::kChatCompletions, testing::Failure::close_without_answer());
  EXPECT_FALSE(ask(*session, {.transcript = "hi"}).reply->ok());

  fake_.set_chat_reply("First sentence here. And then it stops");
  fake_.set_failure(FakeRoute::kChatCompletions, testing::Failure::stall(4));
  Outcome stalled = ask(*session, {.transcript = "hi"});
  ASSERT_FALSE(stalled.reply->ok());
  EXPECT_EQ(stalled.reply->error().code, util::ErrorCode::kTimeout);
}

TEST(ChatStreamParser, ReassemblesContentAndToolCallsFromAnySplit) {
  const std::string stream =
      "data: {\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":\"\"}}]}\n\n"
      ": keep-alive comment\n\n"
      "data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"Hel\"}}]}\r\n\r\n"
      "data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"lo.\"}}]}\n\n"
      "data: {\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":[{\"index\":0,\"id\":\"c1\","
      "\"type\":\"function\",\"function\":{\"name\":\"end_call\",\"arguments\":\"\"}}]}}]}\n\n"
      "data: {\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":[{\"index\":0,\"function\":"
      "{\"arguments\":\"{}\"}}]}}]}\n\n"
      "data: {\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"tool_calls\"}]}\n\n"
      "data: [DONE]\n\n";
  for (std::size_t piece : {1u, 7u, 64u, 4096u}) {
    ChatStreamParser parser;
    std::string content;
    for (std::size_t i = 0; i < stream.size(); i += piece) {
      const auto error = parser.feed(std::string_view(stream).substr(i, piece),
                                     [&](std::string_view text) { content += text; });
      ASSERT_FALSE(error) << error->message;
    }
    EXPECT_EQ(content, "Hello.");
    EXPECT_TRUE(parser.saw_done());
    EXPECT_EQ(parser.finish_reason(), "tool_calls");
    ASSERT_EQ(parser.tool_calls().size(), 1u);
    EXPECT_EQ(parser.tool_calls()[0].name, "end_call");
    EXPECT_EQ(parser.tool_calls()[0].arguments, "{}");
  }
}

TEST(ChatStreamParser, RefusesEventsThatAreNotChunks) {
  const auto noop = [](std::string_view) {};
  EXPECT_TRUE(ChatStreamParser().feed("data: {not json\n\n", noop));
  EXPECT_TRUE(ChatStreamParser().feed("data: {\"object\":\"x\"}\n\n", noop));
  const auto api_error =
      ChatStreamParser().feed("data: {\"error\":{\"message\":\"overloaded\"}}\n\n", noop);
  ASSERT_TRUE(api_error);
  EXPECT_THAT(api_error->message, HasSubstr("overloaded"));
}

}  // namespace
}  // namespace voxgate::agent
