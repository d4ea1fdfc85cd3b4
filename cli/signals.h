#pragma once
// SIGINT and SIGTERM for the long-running commands (train, env-server, learner, actor): the first
// asks the command to stop cleanly, a second one kills as usual.
//
// The signals are blocked and taken by sigwait() on a thread of trustrl's (or the caller's), never
// in a signal handler, so what a command does to stop (lock, notify, log) need not be
// async-signal-safe. Construct StopSignals before any other thread starts (gRPC's, the env
// threads): threads inherit the blocked mask, so none of them is interrupted instead.
#include <csignal>
#include <functional>
#include <thread>

namespace trustrl::cli {

class StopSignals {
 public:
  /// Blocks SIGINT and SIGTERM in the calling thread (and so in every thread it starts later).
  StopSignals();
  /// Ends the waiting thread, if start() made one. The signals stay blocked.
  ~StopSignals();
  StopSignals(const StopSignals&) = delete;
  StopSignals& operator=(const StopSignals&) = delete;

  /// Calls `on_stop` with "SIGINT" or "SIGTERM" on a thread of its own at the first signal; from
  /// then on the signals' default action is back, so a second one kills the process.
  void start(std::function<void(const char* name)> on_stop);
  /// Blocks the caller until the first signal and returns its name; a second signal kills.
  const char* wait();

 private:
  sigset_t stop_set_;
  std::thread waiter_;
};

}  // namespace trustrl::cli
