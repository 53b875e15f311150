// The voxgate executable: one binary, subcommands (DESIGN.md §4): `serve`, `sim` (a Twilio
// stand-in that places calls and measures them), and the offline `transcribe` and `say`.
#include <CLI/CLI.hpp>

#include <cstdio>

#include "app/offline.hpp"
#include "app/serve.hpp"
#include "app/sim.hpp"
#include "util/version.hpp"

int main(int argc, char** argv) {
  CLI::App app{"voxgate: answers Twilio phone calls and talks with the caller."};
  app.set_version_flag("--version", std::string("voxgate ") + voxgate::kVersion);
  app.require_subcommand(1);

  voxgate::app::ServeCommand serve;
  auto& overrides = serve.overrides;
  CLI::App* serve_app = app.add_subcommand("serve", "Serve Twilio webhooks and media streams.");
  serve_app->add_option("--config", serve.config_path, "TOML config file")
      ->check(CLI::ExistingFile);
  serve_app->add_option("--host", overrides.host, "Address to listen on (default 127.0.0.1)");
  serve_app->add_option("--port", overrides.port, "Port to listen on; 0 picks a free one");
  serve_app->add_option("--public-base-url", overrides.public_base_url,
                        "The https URL Twilio reaches this server at (PUBLIC_BASE_URL)");
  serve_app->add_option("--log-level", overrides.log_level,
                        "trace, debug, info, warn, error, critical or off");
  serve_app->add_option("--log-format", overrides.log_format, "text or json");
  serve_app->add_option("--io-threads", overrides.io_threads, "I/O threads; 0 = one per core");
  serve_app->add_flag("--allow-unsigned", overrides.allow_unsigned,
                      "Allow a non-loopback address without TWILIO_AUTH_TOKEN");
  serve_app->add_flag("--print-config", serve.print_config,
                      "Print the effective settings (secrets masked) and exit");
  serve_app->add_option("--port-file", serve.port_file,
                        "Write the bound port to this file once listening");

  std::optional<std::string> offline_config;
  std::string audio_path, text, out_path;
  CLI::App* transcribe_app =
      app.add_subcommand("transcribe", "Print what the configured recognizer hears in a file.");
  transcribe_app->add_option("FILE", audio_path, "audio file (WAV, …)")->required();
  transcribe_app->add_option("--config", offline_config, "TOML config file")
      ->check(CLI::ExistingFile);
  CLI::App* say_app =
      app.add_subcommand("say", "Speak TEXT with the configured TTS into an 8 kHz WAV.");
  say_app->add_option("TEXT", text, "what to say")->required();
  say_app->add_option("-o,--output", out_path, "the WAV file to write")->required();
  say_app->add_option("--config", offline_config, "TOML config file")->check(CLI::ExistingFile);

  voxgate::app::SimCommand sim;
  CLI::App* sim_app = app.add_subcommand(
      "sim", "Place calls like Twilio against a server and measure them (docs/SIM.md).");
  sim_app->add_option("--url", sim.url, "The server, http://HOST:PORT")->capture_default_str();
  sim_app->add_option("--auth-token", sim.auth_token,
                      "Sign webhooks and upgrades (default: TWILIO_AUTH_TOKEN)");
  sim_app->add_option("--public-url", sim.public_url,
                      "The public URL the server signs against (behind a proxy)");
  sim_app->add_option("--say", sim.say_text, "What the caller says (TTS)")->capture_default_str();
  sim_app->add_option("--audio", sim.audio_path, "What the caller says (any WAV)")
      ->check(CLI::ExistingFile);
  sim_app->add_option("--script", sim.script_path, "A caller script (TOML, docs/SIM.md)")
      ->check(CLI::ExistingFile);
  sim_app->add_option("--config", sim.config_path, "TOML config file (the TTS for --say)")
      ->check(CLI::ExistingFile);
  sim_app->add_option("--calls", sim.calls, "Calls in all")->check(CLI::Range(1, 1000000));
  sim_app->add_option("--concurrency", sim.concurrency, "Calls at once")
      ->check(CLI::Range(1, 100000));
  sim_app->add_option("--ramp", sim.ramp_per_s, "New calls per second (0: as fast as allowed)")
      ->check(CLI::Range(0.0, 100000.0));
  sim_app->add_option("--duration", sim.duration_s, "Stop starting calls after S seconds")
      ->check(CLI::Range(0, 86400));
  sim_app->add_option("--threads", sim.threads, "I/O threads")->check(CLI::Range(1, 64));
  sim_app->add_option("--call-deadline", sim.call_deadline_s, "Seconds a call may take")
      ->check(CLI::Range(1, 86400));
  sim_app->add_option("--json", sim.json_path, "Write every measurement as JSON");
  sim_app->add_option("--report", sim.report_path, "Write a self-contained HTML report");
  sim_app->add_option("--max-p95-ms", sim.max_p95_ms,
                      "Exit 1 when the turn-latency p95 is over this");
  sim_app->add_option("--mode", sim.mode, "streaming (Media Streams) or recording (<Record> turns)")
      ->check(CLI::IsMember({"streaming", "recording"}))
      ->capture_default_str();
  sim_app->add_option("--account-sid", sim.account_sid,
                      "AccountSid of webhooks and recordings (default: TWILIO_ACCOUNT_SID)");
  sim_app->add_option("--recordings-listen", sim.recordings_listen,
                      "Recording mode: serve recordings on HOST:PORT")
      ->capture_default_str();
  sim_app->add_option("--record-dir", sim.record_dir,
                      "Write each call as a stereo WAV (left caller, right agent)");
  sim_app->add_flag("--transcribe", sim.transcribe,
                    "Run what the agent said through STT (the --config engine)");
  sim_app->get_option("--audio")->excludes(sim_app->get_option("--script"));

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    // Usage errors are configuration errors: exit 2, like a bad config file.
    const int code = app.exit(e);
    return code == 0 ? 0 : 2;
  }
  if (serve_app->parsed()) return voxgate::app::serve(serve);
  if (transcribe_app->parsed()) return voxgate::app::transcribe(offline_config, audio_path);
  if (say_app->parsed()) return voxgate::app::say(offline_config, text, out_path);
  if (sim_app->parsed()) return voxgate::app::sim(sim);
  return 2;
}
