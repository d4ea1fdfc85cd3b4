#pragma once
// SIGINT and SIGTERM for the long-running commands (train, env-server, learner, actor): the first
// asks the command to stop cleanly, a second one kills as usual.
//
// A handler only writes the signal's number into a pipe (async-signal-safe); the stop itself
// (lock, notify, log) runs on a thread that reads the pipe. The handler, not sigwait(), because
// libraries start threads before main (OpenBLAS's pool among them) with the signals unblocked, so
// a process-directed signal may land on any of them. The signals are also blocked in the thread
// that makes StopSignals, so threads started later (gRPC's, the env threads) are not interrupted.
// An inherited "ignore" (a background job of a script) is replaced: Ctrl-C stops every trustrl
// process of the job cleanly.
#include <atomic>
#include <functional>
#include <thread>

namespace trustrl::cli {

class StopSignals {
 public:
  /// Installs the handler and blocks SIGINT and SIGTERM in the calling thread (and so in every
  /// thread it starts later). One StopSignals at a time per process.
  StopSignals();
  /// Ends the reading thread, if start() made one, and restores the signals' default action.
  ~StopSignals();
  StopSignals(const StopSignals&) = delete;
  StopSignals& operator=(const StopSignals&) = delete;

  /// Calls `on_stop` with "SIGINT" or "SIGTERM" on a thread of its own at the first signal; from
  /// then on the signals' default action is back, so a second one kills the process.
  void start(std::function<void(const char* name)> on_stop);
  /// Blocks the caller until the first signal and returns its name; a second signal kills.
  const char* wait();
  /// The first signal's number once start()'s thread or wait() has taken it; 0 before.
  int received() const { return received_.load(); }

 private:
  int pipe_[2] = {-1, -1};
  std::atomic<int> received_{0};
  std::thread reader_;
};

/// Ends the process by `signal` with its default action, after flushing stdout and stderr: what a
/// command that stopped cleanly on SIGINT or SIGTERM does last, so that its parent sees how it
/// ended (a shell's status 130 or 143, and a script's `train && eval` stops at the Ctrl-C).
/// Call it with no StopSignals alive and every file closed: nothing runs after it.
[[noreturn]] void end_by_signal(int signal);

}  // namespace trustrl::cli
