// A real HAProxy for integration tests, configured from deploy/haproxy.cfg: its `defaults`
// and `backend voxgate` sections are copied line for line, so the shipped file is what the
// tests run; only the `server` lines, `global` and the frontends (a loopback port, a stats
// page to poll) are the test's own.
#pragma once

#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "child_process.hpp"
#include "http_client.hpp"

namespace voxgate::testing {

// The lines of section `header` (e.g. "defaults", "backend voxgate") of an HAProxy config,
// without comments and blank lines, and without its `server` lines.
inline std::string section_of(const std::string& config, const std::string& header) {
  std::istringstream lines(config);
  std::string line, out;
  bool inside = false;
  while (std::getline(lines, line)) {
    const bool starts_section = !line.empty() && line[0] != ' ' && line[0] != '#';
    if (starts_section) {
      inside = line == header;
      if (inside) out += line + "\n";
      continue;
    }
    const auto first = line.find_first_not_of(' ');
    if (!inside || first == std::string::npos || line[first] == '#') continue;
    if (line.compare(first, 7, "server ") == 0) continue;
    out += line + "\n";
  }
  return out;
}

// `round_robin` replaces the shipped CallSid hash (for tests of state shared through Redis,
// where any worker may take any request of a call).
inline std::string haproxy_config(unsigned short front_port, unsigned short stats_port,
                                  const std::vector<unsigned short>& workers,
                                  bool round_robin = false) {
  const std::string shipped = read_file(std::string(VOXGATE_SOURCE_DIR) + "/deploy/haproxy.cfg");
  const std::string defaults = section_of(shipped, "defaults");
  std::string backend = section_of(shipped, "backend voxgate");
  if (round_robin) {
    std::istringstream lines(backend);
    std::string line, kept;
    while (std::getline(lines, line)) {
      const auto first = line.find_first_not_of(' ');
      const std::string_view word = first == std::string::npos ? "" : std::string_view(line).substr(first);
      if (word.starts_with("balance ") || word.starts_with("hash-type ")) continue;
      kept += line + "\n";
    }
    backend = kept + "    balance roundrobin\n";
  }
  if (defaults.find("timeout tunnel") == std::string::npos ||
      backend.find("http-check") == std::string::npos) {
    throw std::runtime_error("deploy/haproxy.cfg: no defaults or backend voxgate section");
  }
  std::string config = "global\n    maxconn 2000\n\n" + defaults + "\n";
  config += "frontend http\n    bind 127.0.0.1:" + std::to_string(front_port) +
            "\n    option forwardfor\n    http-request set-header X-Forwarded-Proto https\n"
            "    default_backend voxgate\n\n";
  config += backend;
  char name = 'a';
  for (const unsigned short port : workers) {
    config += "    server " + std::string(1, name++) + " 127.0.0.1:" + std::to_string(port) + "\n";
  }
  config += "\nfrontend stats\n    bind 127.0.0.1:" + std::to_string(stats_port) +
            "\n    stats enable\n    stats uri /stats\n";
  return config;
}

// haproxy in the foreground (-db), its output kept in a file.
class HaproxyProcess {
 public:
  HaproxyProcess(const std::string& config, unsigned short front_port) {
    char pattern[] = "/tmp/voxgate-haproxy-XXXXXX";
    if (mkdtemp(pattern) == nullptr) throw std::runtime_error("mkdtemp failed");
    dir_ = pattern;
    std::ofstream(dir_ + "/haproxy.cfg") << config;
    const std::string binary =
        std::filesystem::exists("/usr/sbin/haproxy") ? "/usr/sbin/haproxy" : "haproxy";
    pid_ = start_listening({binary, "-db", "-f", dir_ + "/haproxy.cfg"}, dir_ + "/output.log",
                           front_port, [this] { return output(); });
  }
  ~HaproxyProcess() {
    stop_process(pid_, SIGKILL, std::chrono::milliseconds(0));
    std::error_code ignored;
    std::filesystem::remove_all(dir_, ignored);
  }
  HaproxyProcess(const HaproxyProcess&) = delete;
  HaproxyProcess& operator=(const HaproxyProcess&) = delete;

  std::string output() const { return read_file(dir_ + "/output.log"); }

 private:
  std::string dir_;
  pid_t pid_ = -1;
};

// HAProxy's view of its servers, from the stats page's CSV: server name -> status
// ("UP", "DOWN", "UP 1/2", "DOWN 1/2", …).
inline std::map<std::string, std::string> server_states(HttpClient& client, unsigned short stats_port) {
  const HttpResult result =
      client.get("http://127.0.0.1:" + std::to_string(stats_port) + "/stats;csv");
  std::map<std::string, std::string> states;
  std::istringstream lines(result.body);
  std::string line;
  std::size_t status_column = 0;
  const auto split = [](const std::string& text) {
    std::vector<std::string> fields;
    std::stringstream in(text);
    std::string field;
    while (std::getline(in, field, ',')) fields.push_back(field);
    return fields;
  };
  while (std::getline(lines, line)) {
    if (line.starts_with("# ")) {
      const auto names = split(line.substr(2));
      for (std::size_t i = 0; i < names.size(); ++i) {
        if (names[i] == "status") status_column = i;
      }
      continue;
    }
    const auto fields = split(line);
    if (status_column == 0 || fields.size() <= status_column || fields[0] != "voxgate") continue;
    if (fields[1] == "BACKEND") continue;
    states[fields[1]] = fields[status_column];
  }
  return states;
}

}  // namespace voxgate::testing
