#pragma once
// A child process for integration tests: started with posix_spawn, its stdout read line by line
// with deadlines, so tests wait for "listening on ..." instead of sleeping.

#include <sys/types.h>

#include <fstream>
#include <string>
#include <vector>

namespace trustrl::testing {

/// A loopback port nobody listens on right now (the kernel's pick for an ephemeral bind).
int free_port();

class ChildProcess {
 public:
  /// Starts argv (argv[0] is a path). `env` adds or replaces "KEY=value" variables. With
  /// `merge_stderr`, stderr goes to the same pipe as stdout; otherwise it is the test's.
  explicit ChildProcess(const std::vector<std::string>& argv,
                        const std::vector<std::string>& env = {}, bool merge_stderr = false);
  /// Kills (SIGKILL) and reaps the child if it is still running.
  ~ChildProcess();
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;

  /// Reads output until a line starting with `prefix` arrives and returns the rest of that line.
  /// Throws trustrl::Error with the output so far if the child exits first or `timeout_s` passes.
  std::string wait_for_line(const std::string& prefix, double timeout_s);
  void signal(int sig);
  /// Reads output until the child closes it, then reaps it: its exit code, 128 + signal if it was
  /// killed, or -1 if it did not end within `timeout_s`.
  int wait(double timeout_s);
  /// Also writes everything read from the child, so far and from now on, to `path`: the log
  /// outlives the test (kept for a failure) even if the test is killed.
  void log_to(const std::string& path);
  /// Everything read from the child so far.
  const std::string& output() const { return output_; }
  pid_t pid() const { return pid_; }

 private:
  // Reads what is available within the deadline; false at end of output or timeout.
  bool read_some(double deadline_s);

  pid_t pid_ = -1;
  int out_fd_ = -1;
  bool reaped_ = false;
  std::string output_;
  std::size_t scanned_ = 0;
  std::ofstream log_;
};

}  // namespace trustrl::testing
