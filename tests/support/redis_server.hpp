// A real redis-server for a test or a benchmark: started on a free loopback port in a
// temporary folder, with nothing persisted, stopped (and restartable on the same port, as a
// Redis that restarts) by the test, and killed when this object goes away or the test
// process dies (PR_SET_PDEATHSIG), so no server outlives its test.
//
// The port is found by binding port 0 and closing the socket; Redis is then told that port
// (`--port 0` would mean "no TCP"). Another process could take the port in between: `start`
// tries a few fresh ports before giving up. Readiness is a PING over a plain socket.
#pragma once

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

namespace voxgate::test_support {

class RedisServer {
 public:
  // `extra_args`: more redis-server options, e.g. {"--requirepass", "secret"}.
  explicit RedisServer(std::vector<std::string> extra_args = {})
      : extra_args_(std::move(extra_args)) {
    std::string pattern = (std::filesystem::temp_directory_path() / "voxgate-redis-XXXXXX");
    if (::mkdtemp(pattern.data())) dir_ = pattern;
  }
  ~RedisServer() {
    stop(SIGKILL);
    if (!dir_.empty()) {
      std::error_code ignored;
      std::filesystem::remove_all(dir_, ignored);
    }
  }
  RedisServer(const RedisServer&) = delete;
  RedisServer& operator=(const RedisServer&) = delete;

  // Starts the server (again on the same port once it has one) and waits until it answers.
  bool start() {
    if (dir_.empty()) return fail("cannot make a temporary folder");
    if (pid_ > 0) return true;
    const bool fixed_port = port_ != 0;
    for (int attempt = 0; attempt < (fixed_port ? 1 : 5); ++attempt) {
      if (!fixed_port) port_ = free_port();
      if (port_ == 0) return fail("cannot find a free port");
      if (!spawn()) return false;
      if (wait_ready()) return true;
      stop(SIGKILL);
    }
    return fail("redis-server did not start on port " + std::to_string(port_) + " (see " +
                (std::filesystem::path(dir_) / "redis.log").string() + ")");
  }

  // Stops the server: SIGTERM shuts it down cleanly, SIGKILL is a crash. Waits for it.
  void stop(int signal_number = SIGTERM) {
    if (pid_ <= 0) return;
    ::kill(pid_, SIGCONT);  // a paused server cannot act on SIGTERM
    ::kill(pid_, signal_number);
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (::waitpid(pid_, nullptr, WNOHANG) == 0) {
      if (std::chrono::steady_clock::now() > deadline) {
        ::kill(pid_, SIGKILL);
        ::waitpid(pid_, nullptr, 0);
        break;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    pid_ = -1;
  }

  // Freezes the server (a hung Redis: connections open, no answers) and thaws it.
  void pause() const {
    if (pid_ > 0) ::kill(pid_, SIGSTOP);
  }
  void resume() const {
    if (pid_ > 0) ::kill(pid_, SIGCONT);
  }

  int port() const { return port_; }
  std::string host_port() const { return "127.0.0.1:" + std::to_string(port_); }
  std::string url() const { return "redis://" + host_port(); }
  const std::string& error() const { return error_; }

  // Sends inline commands (RESP inline form: no binary arguments) on one connection and
  // returns the first line of the last reply without its CRLF, or "" when the server does
  // not answer. For checks from outside the code under test: {"AUTH pw", "SELECT 3", "DBSIZE"}.
  std::string command(const std::vector<std::string>& inline_commands) const {
    const int fd = connect_loopback(port_);
    if (fd < 0) return "";
    timeval tv{2, 0};
    ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    std::string reply;
    for (const auto& inline_command : inline_commands) {
      reply.clear();
      const std::string line = inline_command + "\r\n";
      if (::send(fd, line.data(), line.size(), MSG_NOSIGNAL) != static_cast<ssize_t>(line.size())) {
        reply.clear();
        break;
      }
      char c = 0;
      while (::recv(fd, &c, 1, 0) == 1 && c != '\n') reply += c;
      if (!reply.empty() && reply.back() == '\r') reply.pop_back();
      if (reply.empty()) break;
    }
    ::close(fd);
    return reply;
  }
  std::string command(const std::string& inline_command) const {
    return command(std::vector<std::string>{inline_command});
  }

 private:
  bool fail(std::string message) {
    error_ = std::move(message);
    return false;
  }

  static int free_port() {
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0) return 0;
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t length = sizeof address;
    int port = 0;
    if (::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0 &&
        ::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length) == 0) {
      port = ntohs(address.sin_port);
    }
    ::close(fd);
    return port;
  }

  static int connect_loopback(int port) {
    const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return -1;
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    address.sin_port = htons(static_cast<std::uint16_t>(port));
    if (::connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0) {
      ::close(fd);
      return -1;
    }
    return fd;
  }

  static std::string find_redis_server() {
    if (const char* path = std::getenv("PATH")) {
      std::string paths = path;
      std::size_t start = 0;
      while (start <= paths.size()) {
        const auto end = paths.find(':', start);
        const auto folder = paths.substr(start, end == std::string::npos ? end : end - start);
        const auto candidate =
            std::filesystem::path(folder.empty() ? "." : folder) / "redis-server";
        if (::access(candidate.c_str(), X_OK) == 0) return candidate.string();
        if (end == std::string::npos) break;
        start = end + 1;
      }
    }
    return "/usr/bin/redis-server";
  }

  bool spawn() {
    const std::string program = find_redis_server();
    if (::access(program.c_str(), X_OK) != 0) return fail("redis-server is not installed");
    std::vector<std::string> args{program,
                                  "--port",
                                  std::to_string(port_),
                                  "--bind",
                                  "127.0.0.1",
                                  "--save",
                                  "",
                                  "--appendonly",
                                  "no",
                                  "--daemonize",
                                  "no",
                                  "--dir",
                                  dir_,
                                  "--logfile",
                                  dir_ + "/redis.log"};
    args.insert(args.end(), extra_args_.begin(), extra_args_.end());
    std::vector<char*> argv;
    for (auto& arg : args) argv.push_back(arg.data());
    argv.push_back(nullptr);
    const pid_t parent = ::getpid();
    const pid_t pid = ::fork();
    if (pid < 0) return fail("fork failed");
    if (pid == 0) {
      // Only async-signal-safe calls between fork and exec.
      ::prctl(PR_SET_PDEATHSIG, SIGKILL);
      if (::getppid() != parent) ::_exit(127);
      const int null_fd = ::open("/dev/null", O_RDWR);
      if (null_fd >= 0) {
        ::dup2(null_fd, 0);
        ::dup2(null_fd, 1);
        ::dup2(null_fd, 2);
      }
      ::execv(argv[0], argv.data());
      ::_exit(127);
    }
    pid_ = pid;
    return true;
  }

  // Until it answers PING (or NOAUTH, when a password is required), dies, or 15 s pass.
  bool wait_ready() {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(15);
    while (std::chrono::steady_clock::now() < deadline) {
      if (::waitpid(pid_, nullptr, WNOHANG) == pid_) {
        pid_ = -1;
        return false;
      }
      const std::string reply = command("PING");
      if (reply == "+PONG" || reply.rfind("-NOAUTH", 0) == 0) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return false;
  }

  std::vector<std::string> extra_args_;
  std::string dir_;
  std::string error_;
  int port_ = 0;
  pid_t pid_ = -1;
};

}  // namespace voxgate::test_support
