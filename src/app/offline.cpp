#include "app/offline.hpp"

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <spdlog/spdlog.h>

#include <cstdio>
#include <fstream>
#include <iterator>
#include <optional>

#include "app/engines.hpp"
#include "app/settings.hpp"
#include "audio/frames.hpp"
#include "audio/resampler.hpp"
#include "audio/wav.hpp"

namespace voxgate::app {

namespace {

std::optional<Settings> settings_or_report(const std::optional<std::string>& config_path) {
  try {
    return load_settings(config_path, process_environment(), {});
  } catch (const SettingsError& e) {
    std::fprintf(stderr, "voxgate: %s\n", e.what());
    return std::nullopt;
  }
}

std::optional<Engines> engines_or_report(const Settings& settings) {
  try {
    return build_engines(settings);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "voxgate: %s\n", e.what());
    return std::nullopt;
  }
}

}  // namespace

int transcribe(const std::optional<std::string>& config_path, const std::string& audio_path) {
  spdlog::set_level(spdlog::level::warn);
  const auto settings = settings_or_report(config_path);
  if (!settings) return 2;
  std::ifstream in(audio_path, std::ios::binary);
  if (!in) {
    std::fprintf(stderr, "voxgate: cannot read %s\n", audio_path.c_str());
    return 2;
  }
  const std::vector<std::uint8_t> bytes{std::istreambuf_iterator<char>(in),
                                        std::istreambuf_iterator<char>()};
  const audio::DecodeResult decoded = audio::decode_audio(bytes);
  if (!decoded.audio) {
    std::fprintf(stderr, "voxgate: %s: %s\n", audio_path.c_str(), decoded.message.c_str());
    return 2;
  }
  auto engines = engines_or_report(*settings);
  if (!engines) return 2;
  const std::vector<std::int16_t> pcm_8k =
      audio::resample(decoded.audio->pcm, decoded.audio->rate_hz, audio::kTelephonyRateHz);
  const auto text = transcribe_offline(*engines->stt, pcm_8k);
  if (!text.ok()) {
    std::fprintf(stderr, "voxgate: %s\n", text.error().message.c_str());
    return 1;
  }
  std::printf("%s\n", text->c_str());
  return 0;
}

util::Result<std::string> transcribe_offline(stt::SttEngine& stt,
                                             std::span<const std::int16_t> pcm_8k) {
  boost::asio::io_context io;
  auto stream = stt.open(io.get_executor(), {});
  stream->start_utterance();
  for (std::size_t at = 0; at < pcm_8k.size(); at += audio::kFrameSamples) {
    const std::size_t n = std::min(audio::kFrameSamples, pcm_8k.size() - at);
    stream->feed(pcm_8k.subspan(at, n));
  }
  std::optional<util::Result<std::string>> text;
  // The engine answers from its own threads: keep the io_context waiting until it has.
  auto work = boost::asio::make_work_guard(io);
  stream->finish([&](util::Result<stt::Transcript> transcript) {
    work.reset();
    if (transcript.ok()) {
      text = transcript->text;
    } else {
      text = transcript.error();
    }
  });
  io.run();
  return std::move(*text);
}

util::Result<std::vector<std::uint8_t>> speak_offline(tts::TtsEngine& tts, const std::string& text) {
  boost::asio::io_context io;
  std::vector<std::uint8_t> mulaw;
  std::optional<util::Error> failed;
  auto work = boost::asio::make_work_guard(io);
  auto job = tts.synthesize(
      text, io.get_executor(),
      [&](tts::SentenceAudio sentence) {
        mulaw.insert(mulaw.end(), sentence.mulaw.begin(), sentence.mulaw.end());
      },
      [&](util::Result<tts::Done> done) {
        work.reset();
        if (!done.ok()) failed = done.error();
      });
  io.run();
  if (failed) return *failed;
  return mulaw;
}

int say(const std::optional<std::string>& config_path, const std::string& text,
        const std::string& out_path) {
  spdlog::set_level(spdlog::level::warn);
  const auto settings = settings_or_report(config_path);
  if (!settings) return 2;
  auto engines = engines_or_report(*settings);
  if (!engines) return 2;
  const auto mulaw = speak_offline(*engines->tts, text);
  if (!mulaw.ok()) {
    std::fprintf(stderr, "voxgate: %s\n", mulaw.error().message.c_str());
    return 1;
  }
  const std::vector<std::uint8_t> wav = audio::encode_wav_ulaw(*mulaw);
  std::ofstream out(out_path, std::ios::binary);
  out.write(reinterpret_cast<const char*>(wav.data()), static_cast<std::streamsize>(wav.size()));
  if (!out) {
    std::fprintf(stderr, "voxgate: cannot write %s\n", out_path.c_str());
    return 2;
  }
  std::fprintf(stderr, "voxgate: %.2f s of 8 kHz mu-law written to %s\n",
               static_cast<double>(mulaw->size()) / audio::kTelephonyRateHz, out_path.c_str());
  return 0;
}

}  // namespace voxgate::app
