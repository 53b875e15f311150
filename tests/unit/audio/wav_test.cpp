// Tests for decoding audio files from memory and writing WAV files: files are made here, with
// our writers or with libsndfile directly (8-bit PCM, mu-law), and read back.
#include "audio/wav.hpp"

#include <gtest/gtest.h>
#include <sndfile.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iterator>
#include <numbers>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "audio/frames.hpp"
#include "audio/g711.hpp"

namespace voxgate::audio {
namespace {

std::vector<std::int16_t> sine(double frequency_hz, int rate_hz, std::size_t n_samples,
                               double amplitude) {
  std::vector<std::int16_t> out(n_samples);
  for (std::size_t i = 0; i < n_samples; ++i) {
    out[i] = static_cast<std::int16_t>(
        std::lround(amplitude * std::sin(2 * std::numbers::pi * frequency_hz *
                                         static_cast<double>(i) / rate_hz)));
  }
  return out;
}

// Writes `pcm` with libsndfile itself (not our writer) to a temporary file in `format`, and
// returns the file's bytes.
std::vector<std::uint8_t> libsndfile_file(const std::vector<std::int16_t>& pcm, int rate_hz,
                                          int format) {
  const std::string path = testing::TempDir() + "voxgate_wav_test_" + std::to_string(::getpid()) +
                           "_" + std::to_string(format) + "_" + std::to_string(rate_hz) + ".wav";
  SF_INFO info{};
  info.samplerate = rate_hz;
  info.channels = 1;
  info.format = format;
  SNDFILE* file = sf_open(path.c_str(), SFM_WRITE, &info);
  EXPECT_NE(file, nullptr) << sf_strerror(nullptr);
  if (file == nullptr) return {};
  EXPECT_EQ(sf_writef_short(file, pcm.data(), static_cast<sf_count_t>(pcm.size())),
            static_cast<sf_count_t>(pcm.size()));
  sf_close(file);
  std::ifstream stream(path, std::ios::binary);
  std::vector<std::uint8_t> bytes((std::istreambuf_iterator<char>(stream)),
                                  std::istreambuf_iterator<char>());
  std::remove(path.c_str());
  return bytes;
}

// The payload of a RIFF/WAVE file's "data" chunk, found by walking the chunks.
std::vector<std::uint8_t> wav_data_chunk(const std::vector<std::uint8_t>& wav) {
  const auto u32 = [&](std::size_t at) {
    return static_cast<std::uint32_t>(wav[at]) | (static_cast<std::uint32_t>(wav[at + 1]) << 8) |
           (static_cast<std::uint32_t>(wav[at + 2]) << 16) |
           (static_cast<std::uint32_t>(wav[at + 3]) << 24);
  };
  if (wav.size() < 12 || std::memcmp(wav.data(), "RIFF", 4) != 0 ||
      std::memcmp(wav.data() + 8, "WAVE", 4) != 0) {
    return {};
  }
  std::size_t at = 12;
  while (at + 8 <= wav.size()) {
    const std::uint32_t size = u32(at + 4);
    if (std::memcmp(wav.data() + at, "data", 4) == 0) {
      if (at + 8 + size > wav.size()) return {};
      return {wav.begin() + static_cast<std::ptrdiff_t>(at + 8),
              wav.begin() + static_cast<std::ptrdiff_t>(at + 8 + size)};
    }
    at += 8 + size + (size & 1);
  }
  return {};
}

// Every mu-law code but 0x7F ("negative zero", which decodes like 0xFF), repeated.
std::vector<std::uint8_t> all_codes(std::size_t n_repeats) {
  std::vector<std::uint8_t> codes;
  for (std::size_t r = 0; r < n_repeats; ++r) {
    for (int code = 0; code < 256; ++code) {
      if (code != 0x7F) codes.push_back(static_cast<std::uint8_t>(code));
    }
  }
  return codes;
}

TEST(Wav, Pcm16MonoRoundTripsAtCommonRates) {
  for (const int rate_hz : {8000, 16000, 44100}) {
    const std::vector<std::int16_t> pcm =
        sine(440, rate_hz, static_cast<std::size_t>(rate_hz) / 2, 20000);
    const std::vector<std::uint8_t> wav = encode_wav_pcm16(pcm, rate_hz);
    ASSERT_FALSE(wav.empty());
    EXPECT_EQ(wav_data_chunk(wav).size(), 2 * pcm.size());

    const DecodeResult result = decode_audio(wav);
    ASSERT_TRUE(result.audio.has_value()) << rate_hz << ": " << result.message;
    EXPECT_FALSE(result.error.has_value());
    EXPECT_TRUE(result.message.empty());
    EXPECT_EQ(result.audio->rate_hz, rate_hz);
    EXPECT_EQ(result.audio->channels, 1);
    EXPECT_EQ(result.audio->pcm, pcm);
    EXPECT_DOUBLE_EQ(result.audio->duration_s, 0.5);
  }
}

TEST(Wav, FullScaleSamplesSurvive) {
  const std::vector<std::int16_t> pcm = {-32768, 32767, 0, -1, 1, -32767, 12345};
  const DecodeResult result = decode_audio(encode_wav_pcm16(pcm, 8000));
  ASSERT_TRUE(result.audio.has_value()) << result.message;
  EXPECT_EQ(result.audio->pcm, pcm);
}

TEST(Wav, StereoIsAveragedToMono) {
  const std::size_t n_frames = 16000;
  const std::vector<std::int16_t> left = sine(300, 16000, n_frames, 12000);
  const std::vector<std::int16_t> right = sine(1100, 16000, n_frames, 9000);
  std::vector<std::int16_t> interleaved;
  for (std::size_t i = 0; i < n_frames; ++i) {
    interleaved.push_back(left[i]);
    interleaved.push_back(right[i]);
  }
  interleaved.push_back(777);  // a partial frame: dropped by the writer

  const DecodeResult result = decode_audio(encode_wav_pcm16(interleaved, 16000, 2));
  ASSERT_TRUE(result.audio.has_value()) << result.message;
  EXPECT_EQ(result.audio->channels, 2);
  EXPECT_EQ(result.audio->rate_hz, 16000);
  ASSERT_EQ(result.audio->pcm.size(), n_frames);
  EXPECT_DOUBLE_EQ(result.audio->duration_s, 1.0);
  for (std::size_t i = 0; i < n_frames; ++i) {
    const double mean = (left[i] + right[i]) / 2.0;
    ASSERT_LE(std::abs(result.audio->pcm[i] - mean), 0.5) << i;
  }
  // Opposite channels cancel.
  std::vector<std::int16_t> opposite;
  for (std::size_t i = 0; i < 100; ++i) {
    opposite.push_back(left[i]);
    opposite.push_back(static_cast<std::int16_t>(-left[i]));
  }
  const DecodeResult cancelled = decode_audio(encode_wav_pcm16(opposite, 16000, 2));
  ASSERT_TRUE(cancelled.audio.has_value());
  EXPECT_TRUE(std::all_of(cancelled.audio->pcm.begin(), cancelled.audio->pcm.end(),
                          [](std::int16_t s) { return s == 0; }));
}

TEST(Wav, ReadsEightBitPcmWrittenByLibsndfile) {
  // 8-bit WAV is unsigned; multiples of 256 are exact in it.
  std::vector<std::int16_t> pcm;
  for (int v = -128; v <= 127; ++v) pcm.push_back(static_cast<std::int16_t>(v * 256));
  const std::vector<std::uint8_t> wav =
      libsndfile_file(pcm, 11025, SF_FORMAT_WAV | SF_FORMAT_PCM_U8);
  ASSERT_FALSE(wav.empty());
  const DecodeResult result = decode_audio(wav);
  ASSERT_TRUE(result.audio.has_value()) << result.message;
  EXPECT_EQ(result.audio->rate_hz, 11025);
  EXPECT_EQ(result.audio->pcm, pcm);
}

// Twilio serves recordings as MP3 too (RecordingUrl + ".mp3", twilio-protocol.md §5); Debian's
// libsndfile reads MPEG layer III through libmpg123.
TEST(Wav, ReadsMp3) {
  const auto pcm = sine(440, 22050, 22050, 8000);  // 1 s
  const std::vector<std::uint8_t> mp3 =
      libsndfile_file(pcm, 22050, SF_FORMAT_MPEG | SF_FORMAT_MPEG_LAYER_III);
  ASSERT_GT(mp3.size(), 1000u);
  const DecodeResult result = decode_audio(mp3);
  ASSERT_TRUE(result.audio.has_value()) << result.message;
  EXPECT_EQ(result.audio->rate_hz, 22050);
  EXPECT_NEAR(result.audio->duration_s, 1.0, 0.1);  // encoder delay and padding
  EXPECT_NEAR(static_cast<double>(to_call_format(*result.audio).size()), 8000.0, 800.0);
}

TEST(Wav, ReadsMulawWavWrittenByLibsndfile) {
  const std::vector<std::uint8_t> codes = all_codes(4);
  std::vector<std::int16_t> pcm;
  decode_ulaw(codes, pcm);
  const std::vector<std::uint8_t> wav = libsndfile_file(pcm, 8000, SF_FORMAT_WAV | SF_FORMAT_ULAW);
  ASSERT_FALSE(wav.empty());
  EXPECT_EQ(wav_data_chunk(wav), codes);  // libsndfile's encoder agrees with our decoder

  const DecodeResult result = decode_audio(wav);
  ASSERT_TRUE(result.audio.has_value()) << result.message;
  EXPECT_EQ(result.audio->rate_hz, 8000);
  EXPECT_EQ(result.audio->pcm, pcm);
  EXPECT_EQ(to_call_format(*result.audio), codes);
}

TEST(Wav, MulawWriterKeepsTheCodes) {
  const std::vector<std::uint8_t> codes = all_codes(10);
  const std::vector<std::uint8_t> wav = encode_wav_ulaw(codes);
  ASSERT_FALSE(wav.empty());
  EXPECT_EQ(wav_data_chunk(wav), codes);

  const DecodeResult result = decode_audio(wav);
  ASSERT_TRUE(result.audio.has_value()) << result.message;
  EXPECT_EQ(result.audio->rate_hz, kTelephonyRateHz);
  EXPECT_EQ(result.audio->channels, 1);
  std::vector<std::int16_t> expected;
  decode_ulaw(codes, expected);
  EXPECT_EQ(result.audio->pcm, expected);
  EXPECT_EQ(to_call_format(*result.audio), codes);

  // Negative zero is written as given, and reads back as silence.
  const std::vector<std::uint8_t> zeros = {0x7F, 0xFF, 0x7F};
  EXPECT_EQ(wav_data_chunk(encode_wav_ulaw(zeros)), zeros);
}

TEST(Wav, EmptyInput) {
  const DecodeResult result = decode_audio({});
  EXPECT_FALSE(result.audio.has_value());
  ASSERT_TRUE(result.error.has_value());
  EXPECT_EQ(*result.error, AudioError::kEmpty);
  EXPECT_FALSE(result.message.empty());
}

TEST(Wav, FileWithNoSamplesIsEmpty) {
  const std::vector<std::uint8_t> wav = encode_wav_pcm16({}, 8000);
  ASSERT_FALSE(wav.empty());  // a header
  const DecodeResult result = decode_audio(wav);
  ASSERT_TRUE(result.error.has_value());
  EXPECT_EQ(*result.error, AudioError::kEmpty);
}

TEST(Wav, GarbageIsUnrecognized) {
  const std::string text = "this is not an audio file, just some text someone uploaded\n";
  std::vector<std::uint8_t> bytes;
  for (int i = 0; i < 50; ++i) bytes.insert(bytes.end(), text.begin(), text.end());
  DecodeResult result = decode_audio(bytes);
  EXPECT_FALSE(result.audio.has_value());
  ASSERT_TRUE(result.error.has_value());
  EXPECT_EQ(*result.error, AudioError::kUnrecognized);
  EXPECT_FALSE(result.message.empty());

  // Raw mu-law (an audio/basic body) has no header either.
  result = decode_audio(std::vector<std::uint8_t>(8000, kUlawSilence));
  ASSERT_TRUE(result.error.has_value());
  EXPECT_EQ(*result.error, AudioError::kUnrecognized);

  result = decode_audio(std::vector<std::uint8_t>{0x00});
  ASSERT_TRUE(result.error.has_value());
  EXPECT_EQ(*result.error, AudioError::kUnrecognized);
}

TEST(Wav, TruncatedHeaderIsUnrecognized) {
  const std::vector<std::uint8_t> wav = encode_wav_pcm16(sine(440, 8000, 800, 1000), 8000);
  for (const std::size_t n_bytes : {4u, 12u, 20u, 30u, 40u}) {
    const std::vector<std::uint8_t> head(wav.begin(),
                                         wav.begin() + static_cast<std::ptrdiff_t>(n_bytes));
    const DecodeResult result = decode_audio(head);
    EXPECT_FALSE(result.audio.has_value()) << n_bytes;
    ASSERT_TRUE(result.error.has_value()) << n_bytes;
    EXPECT_EQ(*result.error, AudioError::kUnrecognized) << n_bytes << ": " << result.message;
  }
}

TEST(Wav, TruncatedDataGivesWhatIsThere) {
  const std::vector<std::int16_t> pcm = sine(440, 8000, 800, 1000);
  const std::vector<std::uint8_t> wav = encode_wav_pcm16(pcm, 8000);
  const std::vector<std::uint8_t> cut(wav.begin(), wav.end() - 200);  // 100 samples short
  const DecodeResult result = decode_audio(cut);
  ASSERT_TRUE(result.audio.has_value()) << result.message;
  ASSERT_EQ(result.audio->pcm.size(), 700u);
  EXPECT_TRUE(std::equal(result.audio->pcm.begin(), result.audio->pcm.end(), pcm.begin()));
}

TEST(Wav, TooLong) {
  const std::vector<std::uint8_t> wav = encode_wav_pcm16(sine(440, 8000, 8000, 1000), 8000);
  DecodeResult result = decode_audio(wav, 0.5);
  EXPECT_FALSE(result.audio.has_value());
  ASSERT_TRUE(result.error.has_value());
  EXPECT_EQ(*result.error, AudioError::kTooLong);
  EXPECT_FALSE(result.message.empty());

  result = decode_audio(wav, 1.0);  // exactly at the limit is fine
  ASSERT_TRUE(result.audio.has_value()) << result.message;
  EXPECT_EQ(result.audio->pcm.size(), 8000u);
}

TEST(Wav, TooManyChannelsOrAnOddRateIsUnsupported) {
  const std::vector<std::int16_t> pcm(300, 100);
  DecodeResult result = decode_audio(encode_wav_pcm16(pcm, 8000, 3));
  ASSERT_TRUE(result.error.has_value()) << "3 channels";
  EXPECT_EQ(*result.error, AudioError::kUnsupported);

  const std::vector<std::uint8_t> slow = encode_wav_pcm16(pcm, 500);
  ASSERT_FALSE(slow.empty());
  result = decode_audio(slow);
  ASSERT_TRUE(result.error.has_value()) << "500 Hz";
  EXPECT_EQ(*result.error, AudioError::kUnsupported);
}

TEST(Wav, ToCallFormat) {
  // 1 s at 16 kHz -> 8000 mu-law bytes.
  DecodedAudio audio{
      .pcm = sine(1000, 16000, 16000, 8000), .rate_hz = 16000, .channels = 1, .duration_s = 1.0};
  const std::vector<std::uint8_t> call = to_call_format(audio);
  EXPECT_NEAR(static_cast<double>(call.size()), 8000.0, 10.0);
  // Still a 1 kHz tone: 2000 zero crossings a second.
  std::vector<std::int16_t> pcm;
  decode_ulaw(call, pcm);
  int n_crossings = 0;
  for (std::size_t i = 1; i < pcm.size(); ++i) n_crossings += (pcm[i - 1] < 0) != (pcm[i] < 0);
  EXPECT_NEAR(n_crossings, 2000, 6);

  audio = DecodedAudio{.pcm = sine(440, 44100, 44100 / 2, 8000), .rate_hz = 44100};
  EXPECT_NEAR(static_cast<double>(to_call_format(audio).size()), 4000.0, 10.0);

  // At 8 kHz it is only encoded.
  audio = DecodedAudio{.pcm = sine(440, 8000, 1234, 8000), .rate_hz = 8000};
  std::vector<std::uint8_t> expected;
  encode_ulaw(audio.pcm, expected);
  EXPECT_EQ(to_call_format(audio), expected);

  EXPECT_TRUE(to_call_format(DecodedAudio{.pcm = {}, .rate_hz = 16000}).empty());
}

TEST(Wav, WritersRefuseBadParameters) {
  const std::vector<std::int16_t> pcm(100, 0);
  EXPECT_TRUE(encode_wav_pcm16(pcm, 0).empty());
  EXPECT_TRUE(encode_wav_pcm16(pcm, 8000, 0).empty());
}

TEST(Wav, ErrorNames) {
  EXPECT_EQ(to_string(AudioError::kEmpty), "empty");
  EXPECT_EQ(to_string(AudioError::kUnrecognized), "unrecognized");
  EXPECT_EQ(to_string(AudioError::kUnsupported), "unsupported");
  EXPECT_EQ(to_string(AudioError::kTooLong), "too_long");
}

TEST(Wav, DecodesFromSeveralThreadsAtOnce) {
  const std::vector<std::int16_t> pcm = sine(440, 16000, 4000, 10000);
  const std::vector<std::uint8_t> good = encode_wav_pcm16(pcm, 16000);
  const std::vector<std::uint8_t> bad(1000, 0x42);
  std::vector<int> n_wrong(4, 0);
  std::vector<std::thread> threads;
  for (std::size_t t = 0; t < n_wrong.size(); ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 50; ++i) {
        const DecodeResult ok = decode_audio(good);
        if (!ok.audio || ok.audio->pcm != pcm) ++n_wrong[t];
        const DecodeResult err = decode_audio(bad);
        if (err.error != AudioError::kUnrecognized) ++n_wrong[t];
      }
    });
  }
  for (auto& thread : threads) thread.join();
  for (const int n : n_wrong) EXPECT_EQ(n, 0);
}

}  // namespace
}  // namespace voxgate::audio
