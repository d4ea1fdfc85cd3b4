#include "cli/signals.h"

#include <fcntl.h>
#include <pthread.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <string>
#include <utility>

#include "core/error.h"

namespace trustrl::cli {

namespace {

// The pipe's write end for the handler; -1 when no StopSignals is alive.
std::atomic<int> g_write_end{-1};

// Written by the destructor to end a reader that saw no signal.
constexpr unsigned char kWake = 0;

void default_action(int signal) {
  struct sigaction action = {};
  action.sa_handler = SIG_DFL;
  sigemptyset(&action.sa_mask);
  sigaction(signal, &action, nullptr);
}

// Async-signal-safe only: write(), sigaction(), errno.
void on_signal(int signal) {
  const int saved_errno = errno;
  default_action(SIGINT);  // so a second one, of either kind, kills
  default_action(SIGTERM);
  const int fd = g_write_end.load();
  const unsigned char byte = static_cast<unsigned char>(signal);
  if (fd >= 0) (void)!::write(fd, &byte, 1);
  errno = saved_errno;
}

sigset_t stop_set() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  return set;
}

// The byte the next signal (or the destructor) writes; retries reads a signal interrupted.
unsigned char read_byte(int fd) {
  unsigned char byte = kWake;
  for (;;) {
    const ssize_t n = ::read(fd, &byte, 1);
    if (n == 1) return byte;
    if (n < 0 && errno == EINTR) continue;
    return kWake;  // the write end is gone
  }
}

const char* name_of(unsigned char signal) { return signal == SIGINT ? "SIGINT" : "SIGTERM"; }

}  // namespace

StopSignals::StopSignals() {
  if (::pipe2(pipe_, O_CLOEXEC) != 0)
    throw Error(std::string("cannot make the signal pipe: ") + std::strerror(errno));
  int expected = -1;
  if (!g_write_end.compare_exchange_strong(expected, pipe_[1])) {
    ::close(pipe_[0]);
    ::close(pipe_[1]);
    throw Error("internal: a second StopSignals while one is alive");
  }
  const sigset_t set = stop_set();
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  struct sigaction action = {};
  action.sa_handler = on_signal;
  action.sa_flags = SA_RESTART;
  sigemptyset(&action.sa_mask);
  sigaddset(&action.sa_mask, SIGINT);  // one handler at a time
  sigaddset(&action.sa_mask, SIGTERM);
  sigaction(SIGINT, &action, nullptr);
  sigaction(SIGTERM, &action, nullptr);
}

StopSignals::~StopSignals() {
  if (reader_.joinable()) {
    const unsigned char wake = kWake;
    (void)!::write(pipe_[1], &wake, 1);
    reader_.join();
  }
  default_action(SIGINT);
  default_action(SIGTERM);
  g_write_end.store(-1);
  ::close(pipe_[0]);
  ::close(pipe_[1]);
}

void StopSignals::start(std::function<void(const char* name)> on_stop) {
  reader_ = std::thread([this, on_stop = std::move(on_stop)] {
    // This thread may take the signals, so that they are delivered somewhere even when every
    // other thread blocks them.
    const sigset_t set = stop_set();
    pthread_sigmask(SIG_UNBLOCK, &set, nullptr);
    const unsigned char signal = read_byte(pipe_[0]);
    if (signal == kWake) return;
    received_.store(signal);
    on_stop(name_of(signal));
    while (read_byte(pipe_[0]) != kWake) {
    }
  });
}

const char* StopSignals::wait() {
  const sigset_t set = stop_set();
  pthread_sigmask(SIG_UNBLOCK, &set, nullptr);
  const unsigned char signal = read_byte(pipe_[0]);
  if (signal != kWake) received_.store(signal);
  return name_of(signal);
}

void end_by_signal(int signal) {
  std::fflush(nullptr);
  default_action(signal);
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, signal);
  pthread_sigmask(SIG_UNBLOCK, &set, nullptr);
  ::raise(signal);
  ::_exit(128 + signal);  // not reached: the default action of SIGINT and SIGTERM ends the process
}

}  // namespace trustrl::cli
