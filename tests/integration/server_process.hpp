// A voxgate server process for integration tests: started with chosen flags and
// environment on port 0, its port read from --port-file, its stderr kept for log checks.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "test_util.hpp"

namespace voxgate::testing {

class ServerProcess {
 public:
  // Starts `voxgate serve --port 0 --port-file … <args>` with exactly `env` as its
  // environment (plus PATH). Waits until it listens; throws std::runtime_error with its
  // stderr if it exits or does not listen within 10 s.
  ServerProcess(std::vector<std::string> args, std::map<std::string, std::string> env = {});
  ~ServerProcess();  // SIGKILL if still running

  unsigned short port() const { return port_; }
  std::string base_url() const;  // http://127.0.0.1:<port>
  pid_t pid() const { return pid_; }

  void signal(int signal_number) const;
  // Waits for the process to exit; nullopt if it did not within `timeout`. The exit code,
  // or 128 + signal when killed.
  std::optional<int> wait_for_exit(std::chrono::milliseconds timeout);
  std::string stderr_text() const;

 private:
  std::string dir_;
  pid_t pid_ = -1;
  unsigned short port_ = 0;
  std::optional<int> exit_code_;
};

struct CommandResult {
  int exit_code;
  std::string output;  // stdout and stderr together
};
// Runs voxgate with `args` to completion (for commands that exit: --print-config, errors).
CommandResult run_voxgate(const std::vector<std::string>& args,
                          const std::map<std::string, std::string>& env = {});

}  // namespace voxgate::testing
