// SharedCalls over the memory SessionStore: two "workers" (each its own CallHistory and
// AudioStore) see each other's calls and reply audio through one store; the record survives
// the trip exactly; what is not a record is refused; store failures are counted.
#include "call/shared_calls.hpp"

#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>

#include <optional>

#include "run_until.hpp"
#include "store/memory/memory_store.hpp"

namespace voxgate::call {
namespace {

using test_support::run_until;
using namespace std::chrono_literals;

CallRecord full_record() {
  CallRecord record;
  record.call_sid = "CA0123456789abcdef0123456789abcdef";
  record.account_sid = "AC1";
  record.from = "+15005550006";
  record.to = "+15005550001";
  record.mode = CallMode::kHybrid;
  record.status = "in-progress";
  record.started_at = TimePoint(std::chrono::milliseconds(1'700'000'000'123));
  record.updated_at = TimePoint(std::chrono::milliseconds(1'700'000'050'456));
  record.stream_sid = "MZ1";
  record.dtmf = {{"1", record.started_at}, {"#", record.updated_at}};
  record.turns = {{"what are your hours", "We open at nine. We close at six.", "We open at nine."},
                  {"[pressed 1]", "Thanks \"quoted\" \n and ünïcode", "Thanks"}};
  record.end_action = "transfer:+14155550100";
  record.stream_error = "31920 handshake";
  record.unheard_turns = 2;
  record.pending_reply_audio = "0123456789abcdef0123456789abcdef";
  return record;
}

void expect_same(const CallRecord& a, const CallRecord& b) {
  EXPECT_EQ(a.call_sid, b.call_sid);
  EXPECT_EQ(a.account_sid, b.account_sid);
  EXPECT_EQ(a.from, b.from);
  EXPECT_EQ(a.to, b.to);
  EXPECT_EQ(a.mode, b.mode);
  EXPECT_EQ(a.status, b.status);
  EXPECT_EQ(a.started_at, b.started_at);
  EXPECT_EQ(a.updated_at, b.updated_at);
  EXPECT_EQ(a.stream_sid, b.stream_sid);
  ASSERT_EQ(a.dtmf.size(), b.dtmf.size());
  for (std::size_t i = 0; i < a.dtmf.size(); ++i) {
    EXPECT_EQ(a.dtmf[i].digit, b.dtmf[i].digit);
    EXPECT_EQ(a.dtmf[i].at, b.dtmf[i].at);
  }
  ASSERT_EQ(a.turns.size(), b.turns.size());
  for (std::size_t i = 0; i < a.turns.size(); ++i) {
    EXPECT_EQ(a.turns[i].caller, b.turns[i].caller);
    EXPECT_EQ(a.turns[i].agent, b.turns[i].agent);
    EXPECT_EQ(a.turns[i].heard, b.turns[i].heard);
  }
  EXPECT_EQ(a.end_action, b.end_action);
  EXPECT_EQ(a.stream_error, b.stream_error);
  EXPECT_EQ(a.unheard_turns, b.unheard_turns);
  EXPECT_EQ(a.pending_reply_audio, b.pending_reply_audio);
}

TEST(CallRecordCodec, RoundTripsEveryField) {
  const CallRecord record = full_record();
  const auto decoded = decode_call_record(encode_call_record(record));
  ASSERT_TRUE(decoded);
  expect_same(record, *decoded);

  CallRecord bare;
  bare.call_sid = "CA1";
  const auto decoded_bare = decode_call_record(encode_call_record(bare));
  ASSERT_TRUE(decoded_bare);
  EXPECT_FALSE(decoded_bare->pending_reply_audio);
}

TEST(CallRecordCodec, RefusesWhatIsNotARecord) {
  std::string good = encode_call_record(full_record());
  for (const std::string& bad :
       {std::string(""), std::string("garbage"), std::string("[]"), std::string("{}"),
        std::string(R"({"v":2})"), good.substr(0, good.size() / 2)}) {
    EXPECT_FALSE(decode_call_record(bad)) << bad;
  }
  // A field of the wrong type spoils the whole record.
  std::string wrong = good;
  wrong.replace(wrong.find("\"mode\":\"hybrid\""), 15, "\"mode\":\"fax\"");
  EXPECT_FALSE(decode_call_record(wrong));
  wrong = good;
  wrong.replace(wrong.find("\"unheard_turns\":2"), 17, "\"unheard_turns\":\"2\"");
  EXPECT_FALSE(decode_call_record(wrong));
}

// One worker: its own history, audio and registry over the shared store.
struct Worker {
  Worker(store::SessionStore& store, boost::asio::io_context& io)
      : shared(store, history, audio, metrics, {.executor = io.get_executor()}) {}
  CallHistory history;
  AudioStore audio;
  observe::Registry metrics;
  SharedCalls shared;
};

class SharedCallsTest : public ::testing::Test {
 protected:
  LoadResult load(Worker& worker, const std::string& sid) {
    std::optional<LoadResult> result;
    worker.shared.load(sid, io.get_executor(), [&](LoadResult r) { result = r; });
    EXPECT_FALSE(result) << "never inline";
    EXPECT_TRUE(run_until(io, [&] { return result.has_value(); }));
    return result.value_or(LoadResult::kUnavailable);
  }
  void settle() { run_until(io, [] { return false; }, 20ms); }

  boost::asio::io_context io;
  std::unique_ptr<store::SessionStore> store = store::make_memory_store();
};

TEST_F(SharedCallsTest, AWorkerCarriesOnACallAnotherStarted) {
  Worker a(*store, io), b(*store, io);
  const std::string sid = "CA0123456789abcdef0123456789abcdef";
  a.history.record_incoming({.call_sid = sid, .from = "+1555", .mode = CallMode::kRecording,
                             .status = "in-progress"});
  a.history.append_turn(sid, {"hello", "Hi there", "Hi there"});
  settle();

  EXPECT_EQ(load(b, sid), LoadResult::kLoaded);
  auto on_b = b.history.find(sid);
  ASSERT_TRUE(on_b);
  EXPECT_EQ(on_b->from, "+1555");
  ASSERT_EQ(on_b->turns.size(), 1u);
  EXPECT_EQ(b.history.active_count(), 1u);

  b.history.append_turn(sid, {"what are your hours", "Nine to six", "Nine to six"});
  b.history.record_end_action(sid, "hangup");
  settle();
  // A's copy is stale until it loads: then it has both turns and the decision.
  EXPECT_EQ(a.history.find(sid)->turns.size(), 1u);
  EXPECT_EQ(load(a, sid), LoadResult::kLoaded);
  EXPECT_EQ(a.history.find(sid)->turns.size(), 2u);
  EXPECT_EQ(a.history.find(sid)->end_action, "hangup");
  EXPECT_EQ(a.history.active_count(), 1u);

  // The call ends on A: its shared state is deleted (B keeps its own copy for /calls).
  a.history.update_status(sid, "completed", std::chrono::system_clock::now());
  settle();
  EXPECT_EQ(load(b, sid), LoadResult::kNotFound);
  EXPECT_TRUE(a.history.find(sid)->ended());
  EXPECT_EQ(b.history.find(sid)->turns.size(), 2u);
}

TEST_F(SharedCallsTest, ReplyAudioMadeOnOneWorkerIsServedByAnother) {
  Worker a(*store, io), b(*store, io);
  const std::vector<std::uint8_t> mulaw = {0x00, 0x7F, 0xFF, 0x10, 0x00};
  const std::string id = a.audio.put(mulaw);
  settle();
  EXPECT_FALSE(b.audio.get(id));
  std::optional<std::optional<std::vector<std::uint8_t>>> got;
  b.shared.load_audio(id, io.get_executor(), [&](auto audio) { got = std::move(audio); });
  ASSERT_TRUE(run_until(io, [&] { return got.has_value(); }));
  ASSERT_TRUE(*got);
  EXPECT_EQ(**got, mulaw);

  got.reset();
  b.shared.load_audio(std::string(32, 'f'), io.get_executor(),
                      [&](auto audio) { got = std::move(audio); });
  ASSERT_TRUE(run_until(io, [&] { return got.has_value(); }));
  EXPECT_FALSE(*got);
}

TEST_F(SharedCallsTest, UnknownAndUnreadableCallsLeaveTheLocalCopyAlone) {
  Worker a(*store, io);
  EXPECT_EQ(load(a, "CAunknown"), LoadResult::kNotFound);

  a.history.record_incoming({.call_sid = "CAmine", .status = "ringing"});
  settle();
  std::optional<util::Result<store::Done>> put;
  store->put("call:CAmine", "not a record", 1min, io.get_executor(),
             [&](util::Result<store::Done> r) { put = std::move(r); });
  ASSERT_TRUE(run_until(io, [&] { return put.has_value(); }));
  EXPECT_EQ(load(a, "CAmine"), LoadResult::kUnavailable);
  EXPECT_EQ(a.history.find("CAmine")->status, "ringing");
  EXPECT_NE(a.metrics.render().find(R"(voxgate_shared_state_errors_total{operation="load"} 1)"),
            std::string::npos);
}

TEST_F(SharedCallsTest, AFullStoreIsCountedNotFatal) {
  auto tiny = store::make_memory_store({.max_bytes = 64});
  Worker a(*tiny, io);
  a.history.record_incoming({.call_sid = "CA1", .from = std::string(200, '1')});
  settle();
  EXPECT_TRUE(a.history.find("CA1"));
  EXPECT_NE(a.metrics.render().find(R"(voxgate_shared_state_errors_total{operation="save"} 1)"),
            std::string::npos);
}

}  // namespace
}  // namespace voxgate::call
