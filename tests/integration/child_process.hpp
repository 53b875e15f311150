// Programs an integration test runs beside voxgate (HAProxy, nginx): started in the
// background with their output kept in a file, waited for until they answer HTTP, stopped
// when the test is done.
#pragma once

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>

#include <chrono>
#include <functional>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "http_client.hpp"
#include "test_util.hpp"

namespace voxgate::testing {

inline unsigned short free_loopback_port() {
  boost::asio::io_context io;
  boost::asio::ip::tcp::acceptor acceptor(io, {boost::asio::ip::make_address("127.0.0.1"), 0});
  return acceptor.local_endpoint().port();
}

// Starts `argv` (argv[0] a path, or a name searched in PATH) with stdout and stderr going to
// `output_path`, and waits until something answers HTTP on 127.0.0.1:`port`. Throws, with
// what `output` says, when the program exits first or does not listen within 10 s.
inline pid_t start_listening(const std::vector<std::string>& argv, const std::string& output_path,
                             unsigned short port, const std::function<std::string()>& output) {
  std::vector<char*> args;
  for (const auto& arg : argv) args.push_back(const_cast<char*>(arg.c_str()));
  args.push_back(nullptr);
  const pid_t pid = fork();
  if (pid < 0) throw std::runtime_error("fork failed");
  if (pid == 0) {
    const int fd = open(output_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd >= 0) {
      dup2(fd, STDOUT_FILENO);
      dup2(fd, STDERR_FILENO);
      close(fd);
    }
    execvp(args[0], args.data());
    _exit(127);
  }
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (std::chrono::steady_clock::now() < deadline) {
    if (waitpid(pid, nullptr, WNOHANG) == pid) {
      throw std::runtime_error(argv[0] + " exited at start:\n" + output());
    }
    HttpClient client;
    if (client.get("http://127.0.0.1:" + std::to_string(port) + "/healthz").status > 0) return pid;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  kill(pid, SIGKILL);
  waitpid(pid, nullptr, 0);
  throw std::runtime_error(argv[0] + " did not listen within 10 s:\n" + output());
}

// Sends `stop_signal`, and SIGKILL if the program has not exited after `grace`.
inline void stop_process(pid_t pid, int stop_signal, std::chrono::milliseconds grace) {
  if (pid <= 0) return;
  kill(pid, stop_signal);
  const auto deadline = std::chrono::steady_clock::now() + grace;
  while (waitpid(pid, nullptr, WNOHANG) != pid) {
    if (std::chrono::steady_clock::now() >= deadline) {
      kill(pid, SIGKILL);
      waitpid(pid, nullptr, 0);
      return;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

}  // namespace voxgate::testing
