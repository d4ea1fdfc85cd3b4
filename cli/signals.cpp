#include "cli/signals.h"

#include <pthread.h>

#include <atomic>
#include <utility>

namespace trustrl::cli {

namespace {

// Sent by the destructor to end a waiter that saw no signal (thread-directed, so only it gets it).
constexpr int kWake = SIGUSR1;

const char* name_of(int signal) { return signal == SIGINT ? "SIGINT" : "SIGTERM"; }

// After the first signal: default action back, and unblocked in this thread, which stays alive
// (waiting for kWake only) so that a second process-directed signal is delivered to it and kills.
void let_the_next_one_kill(const sigset_t& stop_set) {
  std::signal(SIGINT, SIG_DFL);
  std::signal(SIGTERM, SIG_DFL);
  pthread_sigmask(SIG_UNBLOCK, &stop_set, nullptr);
}

}  // namespace

StopSignals::StopSignals() {
  sigemptyset(&stop_set_);
  sigaddset(&stop_set_, SIGINT);
  sigaddset(&stop_set_, SIGTERM);
  sigset_t blocked = stop_set_;
  sigaddset(&blocked, kWake);
  pthread_sigmask(SIG_BLOCK, &blocked, nullptr);
}

StopSignals::~StopSignals() {
  if (!waiter_.joinable()) return;
  pthread_kill(waiter_.native_handle(), kWake);
  waiter_.join();
}

void StopSignals::start(std::function<void(const char* name)> on_stop) {
  waiter_ = std::thread([this, on_stop = std::move(on_stop)] {
    sigset_t waited = stop_set_;
    sigaddset(&waited, kWake);
    int signal = 0;
    sigwait(&waited, &signal);
    if (signal == kWake) return;
    let_the_next_one_kill(stop_set_);
    on_stop(name_of(signal));
    sigset_t wake;
    sigemptyset(&wake);
    sigaddset(&wake, kWake);
    sigwait(&wake, &signal);
  });
}

const char* StopSignals::wait() {
  int signal = 0;
  sigwait(&stop_set_, &signal);
  let_the_next_one_kill(stop_set_);
  return name_of(signal);
}

}  // namespace trustrl::cli
