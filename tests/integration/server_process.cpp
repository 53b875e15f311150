#include "server_process.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <thread>

namespace voxgate::testing {
namespace {

std::string make_temp_dir() {
  std::string pattern = (std::filesystem::temp_directory_path() / "voxgate-it-XXXXXX").string();
  if (mkdtemp(pattern.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
  return pattern;
}

// fork + exec with stdout/stderr to `output_path`; the environment is exactly `env`.
pid_t spawn(const std::vector<std::string>& args, const std::map<std::string, std::string>& env,
            const std::string& output_path, bool merge_stdout) {
  std::vector<std::string> env_strings;
  if (const char* path = std::getenv("PATH")) env_strings.push_back(std::string("PATH=") + path);
  for (const auto& [name, value] : env) env_strings.push_back(name + "=" + value);
  std::vector<char*> argv;
  std::string binary = VOXGATE_BINARY;
  argv.push_back(binary.data());
  std::vector<std::string> args_copy = args;
  for (auto& arg : args_copy) argv.push_back(arg.data());
  argv.push_back(nullptr);
  std::vector<char*> envp;
  for (auto& entry : env_strings) envp.push_back(entry.data());
  envp.push_back(nullptr);

  const pid_t pid = fork();
  if (pid < 0) throw std::runtime_error("fork failed");
  if (pid == 0) {
    const int fd = open(output_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd >= 0) {
      dup2(fd, STDERR_FILENO);
      if (merge_stdout) dup2(fd, STDOUT_FILENO);
      close(fd);
    }
    execve(argv[0], argv.data(), envp.data());
    _exit(127);
  }
  return pid;
}

int decode_status(int status) {
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return -1;
}

}  // namespace

ServerProcess::ServerProcess(std::vector<std::string> args, std::map<std::string, std::string> env)
    : dir_(make_temp_dir()) {
  const std::string port_file = dir_ + "/port";
  std::vector<std::string> full = {"serve", "--port", "0", "--port-file", port_file};
  full.insert(full.end(), args.begin(), args.end());
  pid_ = spawn(full, env, dir_ + "/stderr", /*merge_stdout=*/false);

  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (std::chrono::steady_clock::now() < deadline) {
    if (std::filesystem::exists(port_file)) {
      port_ = static_cast<unsigned short>(std::stoi(read_file(port_file)));
      return;
    }
    if (wait_for_exit(std::chrono::milliseconds(0))) {
      throw std::runtime_error("voxgate exited early: " + stderr_text());
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  throw std::runtime_error("voxgate did not listen within 10 s: " + stderr_text());
}

ServerProcess::~ServerProcess() {
  if (!exit_code_ && pid_ > 0) {
    kill(pid_, SIGKILL);
    int status = 0;
    waitpid(pid_, &status, 0);
  }
  std::error_code ignored;
  std::filesystem::remove_all(dir_, ignored);
}

std::string ServerProcess::base_url() const {
  return "http://127.0.0.1:" + std::to_string(port_);
}

void ServerProcess::signal(int signal_number) const { kill(pid_, signal_number); }

std::optional<int> ServerProcess::wait_for_exit(std::chrono::milliseconds timeout) {
  if (exit_code_) return exit_code_;
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  do {
    int status = 0;
    if (waitpid(pid_, &status, WNOHANG) == pid_) {
      exit_code_ = decode_status(status);
      return exit_code_;
    }
    if (timeout.count() > 0) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  } while (std::chrono::steady_clock::now() < deadline);
  return std::nullopt;
}

std::string ServerProcess::stderr_text() const { return read_file(dir_ + "/stderr"); }

CommandResult run_voxgate(const std::vector<std::string>& args,
                          const std::map<std::string, std::string>& env) {
  const std::string dir = make_temp_dir();
  const std::string output_path = dir + "/output";
  const pid_t pid = spawn(args, env, output_path, /*merge_stdout=*/true);
  int status = 0;
  waitpid(pid, &status, 0);
  CommandResult result{decode_status(status), read_file(output_path)};
  std::error_code ignored;
  std::filesystem::remove_all(dir, ignored);
  return result;
}

}  // namespace voxgate::testing
