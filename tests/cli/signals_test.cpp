// StopSignals: the first SIGINT/SIGTERM asks the command to stop (on a thread, not in the
// handler), a second one kills. Each case runs in a forked child, so the test binary's own signal
// mask and dispositions are never touched.

#include "cli/signals.h"

#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <string>
#include <thread>

namespace {

using trustrl::cli::end_by_signal;
using trustrl::cli::StopSignals;

struct Child {
  int status = 0;
  std::string said;  // what the child wrote to the pipe
};

// Runs `body(fd)` in a child that exits 0 if body returns; waits at most ~10 s for it.
template <typename Body>
Child run_in_child(Body body) {
  int fds[2];
  EXPECT_EQ(::pipe(fds), 0);
  const pid_t pid = ::fork();
  if (pid == 0) {
    ::close(fds[0]);
    body(fds[1]);
    ::_exit(0);
  }
  ::close(fds[1]);
  Child child;
  char buffer[64];
  for (ssize_t n; (n = ::read(fds[0], buffer, sizeof buffer)) > 0;) child.said.append(buffer, n);
  ::close(fds[0]);
  for (int i = 0; i < 1000; ++i) {
    if (::waitpid(pid, &child.status, WNOHANG) == pid) return child;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  ::kill(pid, SIGKILL);
  ::waitpid(pid, &child.status, 0);
  ADD_FAILURE() << "the child did not end";
  return child;
}

void say(int fd, const char* text) {
  if (::write(fd, text, std::strlen(text)) < 0) ::_exit(3);
}

TEST(StopSignals, TheFirstSignalAsksToStopOnAThreadAndTheSecondKills) {
  const Child child = run_in_child([](int fd) {
    StopSignals signals;
    const std::thread::id caller = std::this_thread::get_id();
    signals.start([fd, caller](const char* name) {
      say(fd, name);
      say(fd, std::this_thread::get_id() == caller ? " on the caller" : " on its thread");
    });
    ::kill(::getpid(), SIGTERM);
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    ::kill(::getpid(), SIGTERM);  // the second one: the default action, so the child dies here
    std::this_thread::sleep_for(std::chrono::seconds(5));
    say(fd, "survived");
    ::_exit(2);
  });
  EXPECT_EQ(child.said, "SIGTERM on its thread");
  ASSERT_TRUE(WIFSIGNALED(child.status)) << "status " << child.status;
  EXPECT_EQ(WTERMSIG(child.status), SIGTERM);
}

TEST(StopSignals, WaitReturnsTheFirstSignalAndTheSecondKills) {
  const Child child = run_in_child([](int fd) {
    StopSignals signals;
    std::thread sender([] { ::kill(::getpid(), SIGINT); });
    sender.join();
    say(fd, signals.wait());
    ::kill(::getpid(), SIGINT);
    std::this_thread::sleep_for(std::chrono::seconds(5));
    say(fd, "survived");
    ::_exit(2);
  });
  EXPECT_EQ(child.said, "SIGINT");
  ASSERT_TRUE(WIFSIGNALED(child.status)) << "status " << child.status;
  EXPECT_EQ(WTERMSIG(child.status), SIGINT);
}

TEST(StopSignals, WithoutASignalTheWaiterEndsWithItsOwnerAndNothingIsCalled) {
  const Child child = run_in_child([](int fd) {
    {
      StopSignals signals;
      signals.start([fd](const char*) { say(fd, "called"); });
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }  // the destructor joins the waiting thread
    say(fd, "ended");
  });
  EXPECT_EQ(child.said, "ended");
  ASSERT_TRUE(WIFEXITED(child.status));
  EXPECT_EQ(WEXITSTATUS(child.status), 0);
}

TEST(StopSignals, ReachesTheCommandThroughThreadsStartedBeforeItAndAnInheritedIgnore) {
  // Libraries start threads before main, with the signals unblocked (the kernel may hand a
  // process-directed signal to any of them), and a script's background job inherits SIGINT
  // ignored: the stop must still arrive.
  const Child child = run_in_child([](int fd) {
    std::signal(SIGINT, SIG_IGN);
    std::atomic<bool> done{false};
    std::thread early([&done] {
      while (!done.load()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
    });
    {
      StopSignals signals;
      signals.start([fd](const char* name) { say(fd, name); });
      ::kill(::getpid(), SIGINT);
      std::this_thread::sleep_for(std::chrono::milliseconds(300));
      ::kill(::getpid(), SIGTERM);  // default action back: the child dies here
      std::this_thread::sleep_for(std::chrono::seconds(5));
      say(fd, " survived");
    }
    done.store(true);
    early.join();
  });
  EXPECT_EQ(child.said, "SIGINT");
  ASSERT_TRUE(WIFSIGNALED(child.status)) << child.said;
  EXPECT_EQ(WTERMSIG(child.status), SIGTERM);
}

TEST(StopSignals, ASignalBeforeStartIsKeptForIt) {
  // The commands block the signals first and start waiting later (after loading a run): a Ctrl-C
  // in between must not be lost.
  const Child child = run_in_child([](int fd) {
    StopSignals signals;
    ::kill(::getpid(), SIGINT);
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    signals.start([fd](const char* name) { say(fd, name); });
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
  });
  EXPECT_EQ(child.said, "SIGINT");
  ASSERT_TRUE(WIFEXITED(child.status));
  EXPECT_EQ(WEXITSTATUS(child.status), 0);
}

TEST(StopSignals, ACommandThatStoppedEndsByTheSignalWithItsOutputFlushed) {
  // What `train` does after its clean stop: the parent sees death by that signal (a shell's 130),
  // and what the command printed last (the run directory) still arrives.
  const Child child = run_in_child([](int fd) {
    int received = 0;
    {
      StopSignals signals;
      std::atomic<bool> stopped{false};
      signals.start([&stopped](const char*) { stopped.store(true); });
      if (signals.received() != 0) say(fd, "received before the signal; ");
      ::kill(::getpid(), SIGINT);
      for (int i = 0; i < 500 && !stopped.load(); ++i)
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
      received = signals.received();
    }  // blocked in this thread still; the default action back
    if (::dup2(fd, STDOUT_FILENO) < 0) ::_exit(3);
    std::printf("runs/x");  // buffered: stdout is a pipe
    end_by_signal(received);
  });
  EXPECT_EQ(child.said, "runs/x");
  ASSERT_TRUE(WIFSIGNALED(child.status)) << "status " << child.status;
  EXPECT_EQ(WTERMSIG(child.status), SIGINT);
}

}  // namespace
