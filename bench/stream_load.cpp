// How many simultaneous Media Streams one process holds on this machine while keeping
// outbound pacing on time. The server's modules run in this process on their own I/O
// threads (in_process_server.hpp), so the program can make every call speak; the Twilio
// side is the stand-in of tests/fakes on other threads, each stream sending 20 ms frames
// in real time and playing back what it receives like Twilio.
//
//   stream_load --streams 1000 --seconds 20 --ramp 200 --server-threads 1 --client-threads 1
//
// It reports the server's send lateness (when each paced frame left, against when it was
// due: the pacing target is p99 under 5 ms), the far end's underruns (audio that arrived
// after it should have started playing: an audible gap), failures, and CPU time.
#include <CLI/CLI.hpp>
#include <boost/asio/steady_timer.hpp>
#include <spdlog/spdlog.h>
#include <pthread.h>
#include <sys/resource.h>
#include <time.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <mutex>
#include <regex>
#include <set>
#include <thread>

#include "in_process_server.hpp"
#include "prometheus_text.hpp"
#include "twilio_media_client.hpp"

namespace {

using namespace voxgate;
using namespace std::chrono_literals;
namespace asio = boost::asio;

double thread_cpu_seconds(std::thread& thread) {
  clockid_t clock;
  timespec ts{};
  if (pthread_getcpuclockid(thread.native_handle(), &clock) != 0) return 0;
  clock_gettime(clock, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) / 1e9;
}

void pin_to_cpu(std::thread& thread, int cpu) {
  cpu_set_t set;
  CPU_ZERO(&set);
  CPU_SET(cpu, &set);
  pthread_setaffinity_np(thread.native_handle(), sizeof(set), &set);
}

double cpu_seconds() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return static_cast<double>(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) +
         static_cast<double>(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6;
}


double percentile(std::vector<double> values, double q) {
  if (values.empty()) return 0;
  std::sort(values.begin(), values.end());
  return values[static_cast<std::size_t>(q * static_cast<double>(values.size() - 1))];
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"Concurrent Media Streams against the in-process server."};
  int n_streams = 1000, seconds = 20, ramp_per_s = 200, server_threads = 1, client_threads = 1;
  bool pin = false;
  app.add_option("--streams", n_streams, "simultaneous streams")->check(CLI::Range(1, 20000));
  app.add_option("--seconds", seconds, "caller audio per stream")->check(CLI::Range(3, 3600));
  app.add_option("--ramp", ramp_per_s, "new streams per second")->check(CLI::Range(1, 100000));
  app.add_option("--server-threads", server_threads)->check(CLI::Range(1, 64));
  app.add_option("--client-threads", client_threads)->check(CLI::Range(1, 64));
  app.add_flag("--pin", pin,
               "server threads on CPU 0, load generator on CPU 1: the server gets one core "
               "to itself and never competes with the generator");
  CLI11_PARSE(app, argc, argv);
  spdlog::set_level(spdlog::level::warn);

  testing::InProcessServer server(/*production=*/false,
                                  static_cast<std::size_t>(n_streams) + 16, server_threads);
  const std::vector<std::uint8_t> caller_audio(static_cast<std::size_t>(seconds) * 8000, 0x2A);
  // Each call answers with speech lasting all but the first and last second of the call.
  const std::vector<std::uint8_t> reply(static_cast<std::size_t>(seconds - 2) * 8000, 0x55);

  asio::io_context client_io;
  auto work = asio::make_work_guard(client_io);
  std::mutex mutex;
  std::vector<testing::StreamReport> reports;
  std::atomic<int> finished{0};
  const double cpu_before = cpu_seconds();
  const auto started = std::chrono::steady_clock::now();

  // Start streams at the ramp rate from the client io_context.
  asio::steady_timer ramp(client_io);
  int launched = 0;
  std::function<void()> launch_next = [&] {
    const auto due = started + std::chrono::microseconds(1'000'000LL * launched / ramp_per_s);
    ramp.expires_at(due);
    ramp.async_wait([&](boost::system::error_code) {
      const std::string sid = "CA" + std::to_string(1000000 + launched);
      server.answer(sid);  // as the streaming webhook would have
      testing::StreamScript script = server.script_for(sid);
      script.caller_audio = caller_audio;
      script.linger = 1500ms;
      testing::run_stream(client_io, std::move(script), [&](testing::StreamReport report) {
        std::lock_guard lock(mutex);
        reports.push_back(std::move(report));
        ++finished;
      });
      if (++launched < n_streams) launch_next();
    });
  };
  launch_next();
  std::vector<std::thread> clients;
  for (int i = 0; i < client_threads; ++i) {
    clients.emplace_back([&] { client_io.run(); });
  }
  if (pin) {
    for (auto& thread : server.threads) pin_to_cpu(thread, 0);
    for (auto& thread : clients) pin_to_cpu(thread, 1);
  }

  // Make each call speak once its `start` has arrived (a call speaks only then).
  std::set<std::string> spoken;
  std::size_t peak_live = 0;
  while (finished < n_streams) {
    peak_live = std::max(peak_live, server.live_calls.size());
    for (const auto& sid : server.live_calls.call_sids()) {
      if (spoken.count(sid)) continue;
      const auto record = server.history.find(sid);
      if (!record || record->stream_sid.empty()) continue;
      const auto handle = server.live_calls.find(sid);
      if (handle == nullptr) continue;
      handle->speak(reply, "reply");
      spoken.insert(sid);
    }
    std::this_thread::sleep_for(50ms);
  }
  work.reset();
  for (auto& client : clients) client.join();
  const double wall_s =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  const double cpu_s = cpu_seconds() - cpu_before;
  double server_cpu_s = 0;
  for (auto& thread : server.threads) server_cpu_s += thread_cpu_seconds(thread);

  std::size_t ok = 0, frames_in = 0, frames_out = 0, marks = 0;
  std::vector<double> underruns_ms;
  for (const auto& report : reports) {
    if (report.close_code == 1000 && report.connected) ++ok;
    frames_out += report.media_frames_sent;
    frames_in += report.media_frames_received;
    marks += report.marks_echoed_played.size();
    for (const double lateness : report.media_arrival_lateness_ms) {
      if (lateness > 0) underruns_ms.push_back(lateness);
    }
  }
  const std::string metrics = server.metrics.render();
  const std::string lateness = "voxgate_stream_frame_lateness_seconds";
  std::printf("streams %d (peak %zu live), %d s of audio each, ramp %d/s, server threads %d, "
              "client threads %d\n",
              n_streams, peak_live, seconds, ramp_per_s, server_threads, client_threads);
  std::printf("completed cleanly: %zu/%d; frames caller->server %zu, server->caller %zu; "
              "marks echoed %zu\n",
              ok, n_streams, frames_out, frames_in, marks);
  std::printf("server send lateness: p50 <= %.1f ms, p99 <= %.1f ms, p99.9 <= %.1f ms\n",
              1000 * bench::histogram_quantile(metrics, lateness, 0.50),
              1000 * bench::histogram_quantile(metrics, lateness, 0.99),
              1000 * bench::histogram_quantile(metrics, lateness, 0.999));
  std::printf("far-end underruns: %zu frames of %zu (%.3f %%), p99 gap %.1f ms\n",
              underruns_ms.size(), frames_in,
              frames_in == 0 ? 0.0 : 100.0 * static_cast<double>(underruns_ms.size()) /
                                         static_cast<double>(frames_in),
              percentile(underruns_ms, 0.99));
  std::printf("CPU: %.1f s over %.1f s wall = %.0f %% of one core in all; the server's I/O "
              "threads %.1f s = %.0f %% of one core\n",
              cpu_s, wall_s, 100 * cpu_s / wall_s, server_cpu_s, 100 * server_cpu_s / wall_s);
  return ok == static_cast<std::size_t>(n_streams) ? 0 : 1;
}
