// CallHistory: active counting, status callbacks in any order, retries, eviction.
#include "call/call_history.hpp"

#include <gtest/gtest.h>

#include <thread>

namespace voxgate::call {
namespace {

TimePoint at(int seconds) { return TimePoint{} + std::chrono::seconds(seconds); }

CallRecord incoming(std::string sid, int started_s, std::string status = "ringing") {
  CallRecord record;
  record.call_sid = std::move(sid);
  record.from = "+15550001111";
  record.to = "+15550002222";
  record.status = std::move(status);
  record.started_at = at(started_s);
  record.updated_at = at(started_s);
  return record;
}

TEST(CallHistoryTest, CountsLiveCallsUntilTheyEnd) {
  CallHistory history;
  history.record_incoming(incoming("CA1", 1));
  history.record_incoming(incoming("CA2", 2));
  EXPECT_EQ(history.active_count(), 2u);
  EXPECT_TRUE(history.update_status("CA1", "completed", at(5)));
  EXPECT_EQ(history.active_count(), 1u);
  ASSERT_TRUE(history.find("CA1").has_value());
  EXPECT_TRUE(history.find("CA1")->ended());
  EXPECT_EQ(history.find("CA1")->updated_at, at(5));
}

TEST(CallHistoryTest, LateInProgressAfterCompletedKeepsCallEnded) {
  CallHistory history;
  history.record_incoming(incoming("CA1", 1));
  history.update_status("CA1", "completed", at(9));
  history.update_status("CA1", "in-progress", at(3));
  EXPECT_EQ(history.find("CA1")->status, "completed");
  EXPECT_EQ(history.active_count(), 0u);
}

TEST(CallHistoryTest, RetriedWebhookKeepsStartAndCannotReviveEndedCall) {
  CallHistory history;
  history.record_incoming(incoming("CA1", 1));
  history.record_incoming(incoming("CA1", 4));
  EXPECT_EQ(history.find("CA1")->started_at, at(1));
  EXPECT_EQ(history.active_count(), 1u);
  history.update_status("CA1", "completed", at(6));
  history.record_incoming(incoming("CA1", 7));
  EXPECT_EQ(history.find("CA1")->status, "completed");
  EXPECT_EQ(history.active_count(), 0u);
}

// A call that never got its final status callback stops counting as live once it is older
// than any Twilio call can be.
TEST(CallHistoryTest, CallsOlderThanAnyTwilioCallStopBeingLive) {
  CallHistory history;
  history.record_incoming(incoming("CAold", 0));
  EXPECT_EQ(history.active_count(), 1u);
  const int hour_s = 3600;
  for (int i = 0; i < 1000; ++i) {
    history.record_incoming(incoming("CAnew" + std::to_string(i), 26 * hour_s));
  }
  EXPECT_EQ(history.active_count(), 1000u);
  EXPECT_TRUE(history.find("CAold")->ended());
  EXPECT_FALSE(history.find("CAnew1")->ended());
}

TEST(CallHistoryTest, UnknownCallStatusIsRecordedAndReported) {
  CallHistory history;
  EXPECT_FALSE(history.update_status("CAelsewhere", "in-progress", at(2)));
  EXPECT_EQ(history.active_count(), 1u);
  EXPECT_TRUE(history.update_status("CAelsewhere", "failed", at(3)));
  EXPECT_EQ(history.active_count(), 0u);
}

TEST(CallHistoryTest, EvictsOldestEndedCallsBeyondTheLimitButNeverLiveOnes) {
  CallHistory history(/*max_ended_kept=*/2);
  history.record_incoming(incoming("CAlive", 0));
  for (int i = 1; i <= 4; ++i) {
    const std::string sid = "CA" + std::to_string(i);
    history.record_incoming(incoming(sid, i));
    history.update_status(sid, "completed", at(10 + i));
  }
  EXPECT_FALSE(history.find("CA1").has_value());
  EXPECT_FALSE(history.find("CA2").has_value());
  EXPECT_TRUE(history.find("CA3").has_value());
  EXPECT_TRUE(history.find("CA4").has_value());
  EXPECT_TRUE(history.find("CAlive").has_value());
  const auto listed = history.list();
  ASSERT_EQ(listed.size(), 3u);
  EXPECT_EQ(listed.front().call_sid, "CA4");  // newest first
}

TEST(CallHistoryTest, ConcurrentWritersKeepCountsExact) {
  CallHistory history;
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&history, t] {
      for (int i = 0; i < 500; ++i) {
        const std::string sid = "CA" + std::to_string(t) + "_" + std::to_string(i);
        history.record_incoming(incoming(sid, i));
        if (i % 2 == 0) history.update_status(sid, "completed", at(i + 1));
      }
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(history.active_count(), 4u * 250u);
  EXPECT_EQ(history.list().size(), 4u * 500u);
}

}  // namespace
}  // namespace voxgate::call
