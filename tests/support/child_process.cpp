#include "tests/support/child_process.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <map>

#include "core/error.h"

extern char** environ;

namespace trustrl::testing {

int free_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  socklen_t len = sizeof addr;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  ::close(fd);
  return ntohs(addr.sin_port);
}

namespace {

double now_s() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

}  // namespace

ChildProcess::ChildProcess(const std::vector<std::string>& argv,
                           const std::vector<std::string>& env, bool merge_stderr) {
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) != 0) throw Error(std::string("pipe2: ") + std::strerror(errno));
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, fds[1], STDOUT_FILENO);
  if (merge_stderr) posix_spawn_file_actions_adddup2(&actions, fds[1], STDERR_FILENO);

  std::map<std::string, std::string> vars;
  for (char** e = environ; *e; ++e) {
    const std::string kv = *e;
    vars[kv.substr(0, kv.find('='))] = kv;
  }
  for (const auto& kv : env) vars[kv.substr(0, kv.find('='))] = kv;
  std::vector<std::string> env_strings;
  for (const auto& [k, kv] : vars) env_strings.push_back(kv);
  std::vector<char*> envp, args;
  for (auto& s : env_strings) envp.push_back(s.data());
  envp.push_back(nullptr);
  std::vector<std::string> argv_copy = argv;
  for (auto& s : argv_copy) args.push_back(s.data());
  args.push_back(nullptr);

  const int rc = posix_spawn(&pid_, args[0], &actions, nullptr, args.data(), envp.data());
  posix_spawn_file_actions_destroy(&actions);
  close(fds[1]);
  if (rc != 0) {
    close(fds[0]);
    throw Error("cannot start " + argv[0] + ": " + std::strerror(rc));
  }
  out_fd_ = fds[0];
}

ChildProcess::~ChildProcess() {
  if (!reaped_ && pid_ > 0) {
    ::kill(pid_, SIGKILL);
    int status = 0;
    waitpid(pid_, &status, 0);
  }
  if (out_fd_ >= 0) close(out_fd_);
}

bool ChildProcess::read_some(double deadline_s) {
  const double left = deadline_s - now_s();
  if (left <= 0) return false;
  pollfd p{out_fd_, POLLIN, 0};
  const int ready = poll(&p, 1, static_cast<int>(left * 1000) + 1);
  if (ready <= 0) return false;
  char chunk[4096];
  const ssize_t n = read(out_fd_, chunk, sizeof chunk);
  if (n <= 0) return false;
  output_.append(chunk, static_cast<std::size_t>(n));
  if (log_.is_open()) log_.write(chunk, n).flush();
  return true;
}

void ChildProcess::log_to(const std::string& path) {
  log_.open(path, std::ios::binary | std::ios::trunc);
  if (!log_) throw Error("cannot write the child's log " + path);
  log_.write(output_.data(), static_cast<std::streamsize>(output_.size())).flush();
}

std::string ChildProcess::wait_for_line(const std::string& prefix, double timeout_s) {
  const double deadline = now_s() + timeout_s;
  for (;;) {
    for (std::size_t end; (end = output_.find('\n', scanned_)) != std::string::npos;
         scanned_ = end + 1) {
      const std::string line = output_.substr(scanned_, end - scanned_);
      if (line.rfind(prefix, 0) == 0) {
        scanned_ = end + 1;
        return line.substr(prefix.size());
      }
    }
    if (!read_some(deadline))
      throw Error("the child never printed a line starting with '" + prefix +
                  "' (output so far: " + output_ + ")");
  }
}

void ChildProcess::signal(int sig) { ::kill(pid_, sig); }

int ChildProcess::wait(double timeout_s) {
  const double deadline = now_s() + timeout_s;
  while (read_some(deadline)) {
  }
  if (now_s() >= deadline) return -1;
  int status = 0;
  waitpid(pid_, &status, 0);
  reaped_ = true;
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  return 128 + WTERMSIG(status);
}

}  // namespace trustrl::testing
