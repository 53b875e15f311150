// A real nginx for integration tests, configured from deploy/nginx.conf: the shipped file is
// what runs, with only what a test must change swapped in (the listen address, the
// `server` lines of `upstream voxgate`, and where logs, the pid and temporary files go), so a
// change to the shipped file is tested here.
#pragma once

#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <regex>
#include <stdexcept>
#include <string>
#include <vector>

#include "child_process.hpp"
#include "http_client.hpp"

namespace voxgate::testing {

// deploy/nginx.conf with the test's ports, writing under `dir`.
inline std::string nginx_config(const std::string& dir, unsigned short front_port,
                                const std::vector<unsigned short>& workers) {
  std::string config = read_file(std::string(VOXGATE_SOURCE_DIR) + "/deploy/nginx.conf");
  const auto replace_once = [&](const std::string& what, const std::string& with) {
    const auto at = config.find(what);
    if (at == std::string::npos) {
      throw std::runtime_error("deploy/nginx.conf: no '" + what + "' to replace");
    }
    config.replace(at, what.size(), with);
  };
  // The shipped upstream's server lines give way to the workers under test.
  config = std::regex_replace(config, std::regex(R"(\n *server 127\.0\.0\.1:[0-9]+ [^\n]*)"), "");
  std::string servers;
  for (const unsigned short port : workers) {
    servers += "        server 127.0.0.1:" + std::to_string(port) + " max_fails=2 fail_timeout=5s;\n";
  }
  replace_once("        keepalive 64;", servers + "        keepalive 64;");
  replace_once("        listen 80;", "        listen 127.0.0.1:" + std::to_string(front_port) + ";");
  replace_once("worker_processes auto;", "worker_processes 1;");
  replace_once("    access_log /var/log/nginx/access.log;", "    access_log " + dir + "/access.log;");
  replace_once("    error_log /var/log/nginx/error.log warn;",
               "    error_log " + dir + "/error.log warn;\n    client_body_temp_path " + dir +
                   "/body;\n    proxy_temp_path " + dir + "/proxy;\n    fastcgi_temp_path " + dir +
                   "/fastcgi;\n    uwsgi_temp_path " + dir + "/uwsgi;\n    scgi_temp_path " + dir +
                   "/scgi;");
  // Foreground, files of its own; as root, workers as root too (they write temporary files
  // under the test's folder, which is private to this user).
  std::string head = "daemon off;\npid " + dir + "/nginx.pid;\nerror_log " + dir + "/error.log warn;\n";
  if (::geteuid() == 0) head += "user root;\n";
  return head + config;
}

// nginx in the foreground with a config of the test's own, stopped when this goes.
class NginxProcess {
 public:
  // `make_config` gets the folder nginx writes to.
  template <class MakeConfig>
  NginxProcess(MakeConfig&& make_config, unsigned short front_port) {
    char pattern[] = "/tmp/voxgate-nginx-XXXXXX";
    if (mkdtemp(pattern) == nullptr) throw std::runtime_error("mkdtemp failed");
    dir_ = pattern;
    std::ofstream(dir_ + "/nginx.conf") << make_config(dir_);
    const std::string binary =
        std::filesystem::exists("/usr/sbin/nginx") ? "/usr/sbin/nginx" : "nginx";
    pid_ = start_listening({binary, "-p", dir_, "-c", dir_ + "/nginx.conf"}, dir_ + "/output.log",
                           front_port, [this] { return output(); });
  }
  ~NginxProcess() {
    // SIGTERM: the master stops its workers (SIGKILL would leave them running).
    stop_process(pid_, SIGTERM, std::chrono::seconds(5));
    std::error_code ignored;
    std::filesystem::remove_all(dir_, ignored);
  }
  NginxProcess(const NginxProcess&) = delete;
  NginxProcess& operator=(const NginxProcess&) = delete;

  // What nginx printed and logged: start-up errors and upstream failures.
  std::string output() const {
    return read_file(dir_ + "/output.log") + read_file(dir_ + "/error.log");
  }

 private:
  std::string dir_;
  pid_t pid_ = -1;
};

}  // namespace voxgate::testing
