// ChunkStore and the facade over it: bounds, refusals that keep earlier audio, freeing.
#include "call/chunk_store.hpp"

#include <gtest/gtest.h>

#include "audio/wav.hpp"
#include "call/ai_voice_integration.hpp"
#include "call/inbound_audio_buffer.hpp"
#include "call/live_calls.hpp"

namespace voxgate::call {
namespace {

std::vector<std::uint8_t> bytes(std::size_t n) { return std::vector<std::uint8_t>(n, 0x55); }

TEST(ChunkStoreTest, AccumulatesPerCallAndTakeFrees) {
  ChunkStore store(1000, 2);
  EXPECT_EQ(store.append("CA1", bytes(300)).totals.bytes, 300u);
  const auto second = store.append("CA1", bytes(200));
  EXPECT_EQ(second.totals.chunks, 2u);
  EXPECT_EQ(second.totals.bytes, 500u);
  ChunkStore::Totals totals;
  EXPECT_EQ(store.take("CA1", &totals).size(), 500u);
  EXPECT_EQ(totals.chunks, 2u);
  EXPECT_EQ(store.calls(), 0u);
  EXPECT_TRUE(store.take("CA1").empty());
}

TEST(ChunkStoreTest, RefusalLeavesEarlierAudioIntact) {
  ChunkStore store(1000, 1);
  store.append("CA1", bytes(900));
  const auto refused = store.append("CA1", bytes(200));
  EXPECT_EQ(refused.refusal, ChunkStore::Refusal::kCallFull);
  EXPECT_EQ(store.append("CA2", bytes(10)).refusal, ChunkStore::Refusal::kTooManyCalls);
  EXPECT_EQ(store.totals("CA1").bytes, 900u);
  // A chunk averages 20 ms or more: 1000 bytes allow 6 chunks.
  for (int i = 0; i < 5; ++i) EXPECT_EQ(store.append("CA1", bytes(1)).refusal, ChunkStore::Refusal::kNone);
  EXPECT_EQ(store.append("CA1", bytes(1)).refusal, ChunkStore::Refusal::kCallFull);
  EXPECT_EQ(store.totals("CA1").chunks, 6u);
}

TEST(InboundAudioBufferTest, DropsOldestBeyondCapacity) {
  InboundAudioBuffer buffer(4);
  buffer.append(std::vector<std::uint8_t>{1, 2, 3});
  buffer.append(std::vector<std::uint8_t>{4, 5});
  EXPECT_EQ(buffer.take_all(), (std::vector<std::uint8_t>{2, 3, 4, 5}));
  EXPECT_EQ(buffer.dropped_bytes(), 1u);
  buffer.append(std::vector<std::uint8_t>{1, 2, 3, 4, 5, 6});
  EXPECT_EQ(buffer.take_all(), (std::vector<std::uint8_t>{3, 4, 5, 6}));
  EXPECT_EQ(buffer.dropped_bytes(), 3u);
  EXPECT_EQ(buffer.size_bytes(), 0u);
}

TEST(InboundAudioBufferTest, RingKeepsTheNewestBytesInOrderAcrossManyWraps) {
  InboundAudioBuffer buffer(1000);
  std::vector<std::uint8_t> expected;
  std::uint8_t next = 0;
  for (int chunk = 0; chunk < 50; ++chunk) {
    // push_back rather than filling a sized vector: GCC 12 at -O3 warns falsely
    // (-Wstringop-overflow) on the latter.
    std::vector<std::uint8_t> bytes;
    for (int i = 0; i < 160 + chunk % 7; ++i) bytes.push_back(next++);
    buffer.append(bytes);
    expected.insert(expected.end(), bytes.begin(), bytes.end());
  }
  const std::vector<std::uint8_t> tail(expected.end() - 1000, expected.end());
  EXPECT_EQ(buffer.size_bytes(), 1000u);
  EXPECT_EQ(buffer.dropped_bytes(), expected.size() - 1000);
  EXPECT_EQ(buffer.take_all(), tail);
}

struct NullHandle : LiveCallHandle {
  void speak(std::vector<std::uint8_t>, std::string) override {}
  void interrupt() override {}
  void hang_up(std::uint16_t, std::string) override {}
};

TEST(LiveCallsTest, AdmitsUpToTheLimitAndRefusesDuplicates) {
  LiveCalls calls(2);
  auto a = std::make_shared<NullHandle>();
  auto b = std::make_shared<NullHandle>();
  auto c = std::make_shared<NullHandle>();
  EXPECT_EQ(calls.admit("CA1", a), LiveCalls::Admission::kAdmitted);
  EXPECT_EQ(calls.admit("CA1", c), LiveCalls::Admission::kDuplicate);
  EXPECT_EQ(calls.admit("CA2", b), LiveCalls::Admission::kAdmitted);
  EXPECT_EQ(calls.admit("CA3", c), LiveCalls::Admission::kOverCapacity);
  EXPECT_EQ(calls.find("CA2"), b);
  calls.release("CA2");
  EXPECT_EQ(calls.admit("CA3", c), LiveCalls::Admission::kAdmitted);
  a.reset();  // a session that vanished without releasing does not block its sid
  EXPECT_EQ(calls.admit("CA1", b), LiveCalls::Admission::kAdmitted);
  EXPECT_EQ(calls.size(), 2u);
}

TEST(AIVoiceIntegrationTest, WavChunksAccumulateAndCompleteFreesThem) {
  AIVoiceIntegration ai({});
  const std::vector<std::int16_t> one_second_16k(16000, 1000);
  const auto wav = audio::encode_wav_pcm16(one_second_16k, 16000);
  const ChunkResult first = ai.add_audio_chunk("CA1", wav);
  ASSERT_EQ(first.error, ChunkError::kNone) << first.message;
  EXPECT_EQ(first.chunks, 1u);
  EXPECT_NEAR(static_cast<double>(first.bytes), 8000, 20);
  ai.add_audio_chunk("CA1", std::vector<std::uint8_t>(800, 0xFF), AudioEncoding::kRawMulaw8k);
  const ProcessingResult result = ai.complete_audio("CA1");
  EXPECT_EQ(result.chunks, 2u);
  EXPECT_NEAR(result.audio_duration_s, 1.1, 0.01);
  EXPECT_FALSE(result.transcript.has_value());
  EXPECT_EQ(ai.complete_audio("CA1").chunks, 0u);
}

TEST(AIVoiceIntegrationTest, BadChunksAreRefusedAndEarlierAudioStays) {
  AIVoiceIntegration ai({.max_audio_per_call_s = 1});
  ai.add_audio_chunk("CA1", std::vector<std::uint8_t>(4000, 0xFF), AudioEncoding::kRawMulaw8k);
  EXPECT_EQ(ai.add_audio_chunk("CA1", std::vector<std::uint8_t>{'R', 'I', 'F', 'F', 0, 1}).error,
            ChunkError::kUnrecognized);
  EXPECT_EQ(ai.add_audio_chunk("CA1", {}).error, ChunkError::kEmpty);
  EXPECT_EQ(ai.add_audio_chunk("CA1", std::vector<std::uint8_t>(5000, 0xFF),
                               AudioEncoding::kRawMulaw8k)
                .error,
            ChunkError::kTooLarge);
  EXPECT_EQ(ai.add_audio_chunk("bad sid!", std::vector<std::uint8_t>(10, 0xFF),
                               AudioEncoding::kRawMulaw8k)
                .error,
            ChunkError::kBadCallSid);
  EXPECT_NEAR(ai.complete_audio("CA1").audio_duration_s, 0.5, 1e-9);
}

TEST(AIVoiceIntegrationTest, StreamingUrlNeedsAnHttpsPublicBase) {
  EXPECT_FALSE(AIVoiceIntegration({}).get_streaming_audio_url("CA1").has_value());
  EXPECT_FALSE(AIVoiceIntegration({.public_base_url = "http://x.example"})
                   .get_streaming_audio_url("CA1")
                   .has_value());
  EXPECT_EQ(AIVoiceIntegration({.public_base_url = "https://voice.example.com"})
                .get_streaming_audio_url("CA1"),
            "wss://voice.example.com/phone/stream-audio/CA1");
}

}  // namespace
}  // namespace voxgate::call
