// The voxgate executable: one binary, subcommands (DESIGN.md §4): `serve`, and the
// offline `transcribe` and `say`; `sim` arrives with its stage.
#include <CLI/CLI.hpp>

#include <cstdio>

#include "app/offline.hpp"
#include "app/serve.hpp"
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
  return 2;
}
