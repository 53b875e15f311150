#include "app/serve.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/strand.hpp>
#include <boost/system/system_error.hpp>
#include <spdlog/spdlog.h>

#include <condition_variable>
#include <functional>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <mutex>
#include <thread>
#include <vector>

#include "app/engines.hpp"
#include "app/offline.hpp"
#include "audio/frames.hpp"
#include "call/ai_voice_integration.hpp"
#include "call/call_history.hpp"
#include "call/call_session.hpp"
#include "call/call_sid.hpp"
#include "call/live_calls.hpp"
#include "call/shared_calls.hpp"
#include "call/shared_chunks.hpp"
#include "call/stream_metrics.hpp"
#include "net/http_server.hpp"
#include "net/media_stream_endpoint.hpp"
#include "net/phone_routes.hpp"
#include "net/recording_routes.hpp"
#include "net/router.hpp"
#include "net/service_routes.hpp"
#include "net/webhook_auth.hpp"
#include "observe/metrics.hpp"
#include "store/redis/redis_store.hpp"
#include "twilio/rest_client.hpp"
#include "twilio/stream_token.hpp"
#include "util/log.hpp"
#include "util/version.hpp"

namespace voxgate::app {
namespace asio = boost::asio;
using tcp = boost::asio::ip::tcp;

namespace {

class StartupError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

tcp::endpoint resolve_listen_endpoint(const ServerSettings& server) {
  boost::system::error_code ec;
  const auto address = asio::ip::make_address(server.host == "localhost" ? "127.0.0.1" : server.host, ec);
  if (!ec) return {address, server.port};
  asio::io_context io;
  tcp::resolver resolver(io);
  const auto results = resolver.resolve(server.host, std::to_string(server.port), ec);
  if (ec || results.empty()) {
    throw StartupError("server.host: cannot resolve '" + server.host + "': " + ec.message());
  }
  return results.begin()->endpoint();
}

// Without an auth token nothing is signature-checked, so anyone who can reach the port
// could drive calls: such a server stays on loopback unless the operator insists.
void check_security(const Settings& settings, const tcp::endpoint& endpoint) {
  if (settings.development_mode()) {
    if (!endpoint.address().is_loopback() && !settings.server.allow_unsigned) {
      throw StartupError("refusing to listen on " + endpoint.address().to_string() +
                         " without TWILIO_AUTH_TOKEN: webhooks could not be signature-checked. "
                         "Set the token, bind to 127.0.0.1, or pass --allow-unsigned.");
    }
    return;
  }
  if (settings.server.public_base_url.empty()) {
    throw StartupError(
        "server.public_base_url: required when TWILIO_AUTH_TOKEN is set, because signatures "
        "are computed over the public URL Twilio calls (set PUBLIC_BASE_URL).");
  }
}

void write_port_file(const std::string& path, unsigned short port) {
  // Written whole and renamed into place, so a reader never sees half a number.
  const std::string temporary = path + ".tmp";
  {
    std::ofstream out(temporary, std::ios::trunc);
    out << port << '\n';
    if (!out) throw StartupError("--port-file: cannot write " + temporary);
  }
  std::error_code ec;
  std::filesystem::rename(temporary, path, ec);
  if (ec) throw StartupError("--port-file: cannot write " + path + ": " + ec.message());
}

spdlog::level::level_enum log_level(const std::string& name) {
  return spdlog::level::from_str(name);  // names were validated with the settings
}

// Bounds a graceful stop. At the drain deadline it runs `on_deadline` (closing the live
// streams, so Twilio's <Redirect> takes those calls to another worker), then gives the
// closes `kCloseGrace` to finish before stopping the io_context outright.
class DrainWatchdog {
 public:
  static constexpr std::chrono::seconds kCloseGrace{2};

  DrainWatchdog(asio::io_context& io, std::function<void()> on_deadline)
      : io_(io), on_deadline_(std::move(on_deadline)) {}
  ~DrainWatchdog() {
    {
      std::lock_guard lock(mutex_);
      finished_ = true;
    }
    changed_.notify_all();
    if (thread_.joinable()) thread_.join();
  }

  void arm(std::chrono::seconds deadline) {
    std::lock_guard lock(mutex_);
    if (thread_.joinable()) return;
    thread_ = std::thread([this, deadline] {
      std::unique_lock lock(mutex_);
      if (changed_.wait_for(lock, deadline, [this] { return finished_; })) return;
      spdlog::warn("Drain deadline of {} s passed; closing the remaining streams",
                   deadline.count());
      on_deadline_();
      if (changed_.wait_for(lock, kCloseGrace, [this] { return finished_; })) return;
      spdlog::warn("Connections still open {} s later; stopping", kCloseGrace.count());
      io_.stop();
    });
  }

 private:
  asio::io_context& io_;
  std::function<void()> on_deadline_;
  std::mutex mutex_;
  std::condition_variable changed_;
  bool finished_ = false;
  std::thread thread_;
};

int run_server(const Settings& settings, const ServeCommand& command) {
  const ServerSettings& server_settings = settings.server;
  const tcp::endpoint endpoint = resolve_listen_endpoint(server_settings);
  check_security(settings, endpoint);

  const auto engines_started = std::chrono::steady_clock::now();
  Engines engines;
  try {
    engines = build_engines(settings);
  } catch (const std::runtime_error& e) {
    throw StartupError(e.what());
  }
  spdlog::info("Engines ready in {:.0f} ms: VAD {}, STT {}, TTS {}, agent {}",
               std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() -
                                                         engines_started)
                   .count(),
               engines.vad->name(), engines.stt->name(), engines.tts->name(),
               engines.agent->name());

  // Every call opens with the same greeting: made once now, a burst of calls finds it in the
  // TTS cache instead of queueing the same synthesis a hundred times on the synthesis thread.
  // Local voices only, so that start-up never waits on the network.
  if (settings.tts.cache_mb > 0 && settings.tts.engine != "openai") {
    asio::io_context warm_up;
    auto session = engines.agent->open(warm_up.get_executor(), {.call_sid = "CAwarmup"});
    if (const auto made = speak_offline(*engines.tts, session->greeting()); !made.ok()) {
      spdlog::warn("Could not synthesize the greeting ahead of calls: {}", made.error().message);
    }
  }

  if (settings.development_mode()) {
    spdlog::warn(
        "DEVELOPMENT MODE: no TWILIO_AUTH_TOKEN, so webhooks and streams are NOT "
        "signature-checked. Set TWILIO_AUTH_TOKEN and PUBLIC_BASE_URL before taking real calls.");
  }

  observe::Registry metrics;
  if (engines.tts_cache != nullptr) {
    auto& lookups = metrics.counter("voxgate_tts_cache_lookups_total",
                                    "Replies looked up in the TTS sentence cache, by result: "
                                    "hit (every sentence cached) or miss (synthesized).",
                                    {"result"});
    engines.tts_cache->set_lookup_listener(
        [hits = &lookups.with({"hit"}), misses = &lookups.with({"miss"})](bool hit) {
          (hit ? hits : misses)->inc();
        });
  }
  call::CallHistory history;
  net::Router router(metrics);
  const net::WebhookAuth auth({.public_base_url = server_settings.public_base_url,
                               .auth_token = settings.twilio.auth_token,
                               .admin_token = server_settings.admin_token},
                              metrics);
  std::string stream_secret = settings.effective_stream_secret();
  if (stream_secret.empty()) stream_secret = twilio::StreamTokenIssuer::random_secret();
  const twilio::StreamTokenIssuer tokens(std::move(stream_secret));
  const unsigned n_threads = server_settings.io_threads > 0
                                 ? static_cast<unsigned>(server_settings.io_threads)
                                 : std::max(1u, std::thread::hardware_concurrency());
  asio::io_context io(static_cast<int>(n_threads));
  // Scale-out: with REDIS_URL, call records, reply audio and the chunk API's pending audio
  // and conversations are shared with every worker.
  const std::chrono::milliseconds shared_call_ttl =
      std::chrono::seconds(settings.call.max_call_s) + std::chrono::hours(1);
  std::unique_ptr<store::SessionStore> shared_store;
  std::optional<call::SharedChunks> shared_chunks;
  if (!settings.store.redis_url.empty()) {
    auto made = store::make_redis_store({.url = settings.store.redis_url});
    if (!made.ok()) throw StartupError("store.redis_url (REDIS_URL): " + made.error().message);
    shared_store = std::move(*made);
    shared_chunks.emplace(
        *shared_store, metrics,
        call::SharedChunksOptions{.max_bytes_per_call = static_cast<std::size_t>(
                                      AIVoiceIntegrationOptions{}.max_audio_per_call_s *
                                      audio::kTelephonyRateHz),
                                  .ttl = shared_call_ttl,
                                  .executor = io.get_executor()});
  }
  AIVoiceIntegration ai({.twilio_account_sid = settings.twilio.account_sid,
                         .twilio_auth_token = settings.twilio.auth_token,
                         .public_base_url = server_settings.public_base_url,
                         .max_calls_with_audio =
                             static_cast<std::size_t>(server_settings.max_concurrent_calls),
                         .chunk_state = shared_chunks ? &*shared_chunks : nullptr,
                         .stt = engines.stt.get(),
                         .agent = engines.agent.get(),
                         .tts = engines.tts.get()});
  std::optional<call::SharedCalls> shared;
  if (shared_store) {
    shared.emplace(*shared_store, history, ai.replies(), metrics,
                   call::SharedCallsOptions{.call_ttl = shared_call_ttl,
                                            .executor = io.get_executor()});
    router.set_shared_state(
        [&shared, &io](std::string call_sid, std::function<void()> then) {
          if (!call::is_valid_call_sid(call_sid)) return then();  // the route refuses it
          shared->load(std::move(call_sid), io.get_executor(),
                       [then = std::move(then)](call::LoadResult) { then(); });
        },
        [&shared] { return shared->available(); });
    spdlog::info("Call state is shared through Redis ({}): any worker can carry on any call",
                 mask_url_password(settings.store.redis_url));
  }
  net::PhoneRoutes phone_routes(
      {.greeting = settings.call.greeting,
       .streaming_mode =
           settings.call.mode == "hybrid" ? call::CallMode::kHybrid : call::CallMode::kStreaming,
       .executor = io.get_executor(),
       .shared = shared ? &*shared : nullptr},
      auth, tokens, ai, history, metrics);
  call::LiveCalls live_calls(static_cast<std::size_t>(server_settings.max_concurrent_calls));
  call::StreamMetrics stream_metrics(metrics);
  call::TurnMetrics turn_metrics(metrics);
  net::MediaStreamEndpoint media_streams(
      {.public_base_url = server_settings.public_base_url,
       .auth_token = settings.twilio.auth_token,
       .frames_per_message = static_cast<std::size_t>(settings.call.frames_per_message),
       .engines = {engines.vad.get(), engines.stt.get(), engines.tts.get(), engines.agent.get()},
       .conversation = {.endpointer = {.endpoint_silence_ms = settings.call.endpoint_silence_ms,
                                       .barge_in_min_speech_ms =
                                           settings.call.barge_in_min_speech_ms}},
       .turn_metrics = &turn_metrics,
       .replies = &ai.replies()},
      tokens, history, live_calls, stream_metrics);
  // Recording mode: recordings come from Twilio's REST API, with the account's credentials.
  const auto rest = std::make_shared<twilio::RestClient>(
      engines.http, twilio::RestClientOptions{.api_base_url = settings.twilio.api_base_url,
                                              .account_sid = settings.twilio.account_sid,
                                              .auth_token = settings.twilio.auth_token});
  net::RecordingServices recording_services;
  recording_services.download = [rest](std::string url, asio::any_io_executor executor,
                                       std::function<void(util::Result<std::string>)> done) {
    rest->download_recording(std::move(url), asio::make_strand(executor),
                             [done = std::move(done)](util::Result<twilio::Recording> got) {
                               if (!got.ok()) return done(got.error());
                               done(std::move(got->bytes));
                             });
  };
  recording_services.delete_recording = [rest, &io](std::string url) {
    const std::string sid = twilio::recording_sid_of(url);
    if (sid.empty()) return;
    // The answer comes later on another stack: carry the call's sid into its log line.
    rest->delete_recording(sid, asio::make_strand(io),
                           [sid, call_sid = std::string(log::current_call_sid())](
                               util::Result<bool> deleted) {
                             log::CallScope scope(call_sid);
                             if (!deleted.ok()) {
                               spdlog::warn("Could not delete recording {}: {}", sid,
                                            deleted.error().message);
                             }
                           });
  };
  net::RecordingRoutes recording_routes(
      {.recording_hosts = settings.twilio.recording_hosts,
       .delete_recordings = settings.twilio.delete_recordings,
       .answer_budget = std::chrono::seconds(settings.call.answer_budget_s),
       .executor = io.get_executor()},
      auth, ai, history, metrics, std::move(recording_services));
  net::ServiceRoutes service_routes(auth, history, metrics);
  if (shared) service_routes.set_store("redis", [&shared] { return shared->available(); });
  phone_routes.register_routes(router);
  recording_routes.register_routes(router);
  service_routes.register_routes(router);

  net::HttpServer server(
      io, router,
      {.max_body_bytes = server_settings.max_body_bytes,
       .request_timeout = std::chrono::seconds(server_settings.request_timeout_s),
       .idle_timeout = std::chrono::seconds(server_settings.idle_timeout_s),
       .upgrade_handler = &media_streams},
      metrics);
  tcp::endpoint bound;
  try {
    bound = server.listen(endpoint);
  } catch (const boost::system::system_error& e) {
    throw StartupError("cannot listen on " + server_settings.host + ":" +
                       std::to_string(server_settings.port) + ": " + e.code().message());
  }
  if (command.port_file) write_port_file(*command.port_file, bound.port());
  spdlog::info("voxgate {} listening on {}:{} with {} I/O threads{}", kVersion,
               bound.address().to_string(), bound.port(), n_threads,
               server_settings.public_base_url.empty()
                   ? std::string{}
                   : ", public URL " + server_settings.public_base_url);

  DrainWatchdog watchdog(io, [&live_calls] {
    for (const auto& sid : live_calls.call_sids()) {
      if (auto call = live_calls.find(sid)) {
        call->hang_up(call::kCloseGoingAway, "server shutting down");
      }
    }
  });
  asio::signal_set signals(io, SIGINT, SIGTERM);
  signals.async_wait([&](const boost::system::error_code& ec, int signal_number) {
    if (ec) return;
    spdlog::info("Received {}: no new calls (/healthz answers 503); serving the calls in "
                 "progress and letting {} live stream(s) run for up to {} s",
                 signal_number == SIGTERM ? "SIGTERM" : "SIGINT", live_calls.size(),
                 server_settings.drain_timeout_s);
    service_routes.set_draining(true);
    server.stop();
    watchdog.arm(std::chrono::seconds(server_settings.drain_timeout_s));
  });

  std::vector<std::thread> threads;
  for (unsigned i = 1; i < n_threads; ++i) threads.emplace_back([&io] { io.run(); });
  io.run();
  for (auto& thread : threads) thread.join();
  spdlog::info("voxgate stopped");
  return 0;
}

}  // namespace

int serve(const ServeCommand& command) {
  Settings settings;
  try {
    settings = load_settings(command.config_path, process_environment(), command.overrides);
  } catch (const SettingsError& e) {
    std::fprintf(stderr, "voxgate: %s\n", e.what());
    return 2;
  }
  if (command.print_config) {
    std::cout << describe(settings);
    return 0;
  }
  log::init(log_level(settings.server.log_level),
            settings.server.log_format == LogFormat::kJson ? log::Format::kJson
                                                           : log::Format::kText);
  try {
    return run_server(settings, command);
  } catch (const StartupError& e) {
    spdlog::critical("{}", e.what());
    std::fprintf(stderr, "voxgate: %s\n", e.what());
    return 2;
  }
}

}  // namespace voxgate::app
