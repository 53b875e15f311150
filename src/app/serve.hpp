// `voxgate serve`: load the settings, wire the modules together, serve until SIGINT or
// SIGTERM, then drain and exit 0.
#pragma once

#include <optional>
#include <string>

#include "app/settings.hpp"

namespace voxgate::app {

struct ServeCommand {
  std::optional<std::string> config_path;
  SettingsOverrides overrides;
  bool print_config = false;
  // When set, the bound port is written there once the server listens (for tests and
  // scripts that start it on port 0).
  std::optional<std::string> port_file;
};

// Returns the process exit code: 0 after a clean stop, 2 for a configuration or start-up
// error (reported as one line on stderr).
int serve(const ServeCommand& command);

}  // namespace voxgate::app
