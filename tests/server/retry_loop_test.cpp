// The retry loop of the actor's calls, on a fake clock: no sockets, no sleeping.

#include "server/transport/retry_loop.h"

#include <gtest/gtest.h>

#include <deque>

#include "core/error.h"

namespace trustrl::server {
namespace {

using namespace std::chrono_literals;

// A clock that moves only when the loop waits.
struct FakeTime {
  std::chrono::steady_clock::time_point now{};
  std::vector<double> waits;
  bool stopped = false;
};

RetryLoop make_loop(FakeTime& time, std::vector<std::string>& log, RetrySettings settings = {}) {
  return RetryLoop(
      settings, "learner at test:1", [&log](const std::string& line) { log.push_back(line); },
      [&time](double seconds) {
        time.waits.push_back(seconds);
        time.now += std::chrono::duration_cast<std::chrono::steady_clock::duration>(
            std::chrono::duration<double>(seconds));
        return !time.stopped;
      },
      7, [&time] { return time.now; });
}

// An attempt that answers the statuses given, in order, then OK.
struct Script {
  std::deque<grpc::Status> answers;
  int calls = 0;
  grpc::Status operator()(std::chrono::system_clock::time_point) {
    ++calls;
    if (answers.empty()) return grpc::Status::OK;
    grpc::Status s = answers.front();
    answers.pop_front();
    return s;
  }
};

TEST(RetryLoop, GivesUpOnceFailuresOutlastItsBudget) {
  FakeTime time;
  std::vector<std::string> log;
  RetryLoop loop =
      make_loop(time, log, {.give_up_after_s = 2.0, .backoff_s = 0.1, .max_backoff_s = 0.4});
  int calls = 0;
  try {
    loop.run("join", [&](auto) {
      ++calls;
      return grpc::Status(grpc::StatusCode::UNAVAILABLE, "connection refused");
    });
    ADD_FAILURE() << "the loop never gave up";
  } catch (const Error& e) {
    const std::string message = e.what();
    EXPECT_NE(message.find("learner at test:1 has been unreachable for"), std::string::npos)
        << message;
    EXPECT_NE(message.find("UNAVAILABLE: connection refused); giving up"), std::string::npos)
        << message;
  }
  double waited = 0;
  for (double w : time.waits) waited += w;
  EXPECT_GT(waited, 2.0) << "it gives up only past the budget";
  EXPECT_EQ(calls, static_cast<int>(time.waits.size()) + 1) << "no wait after the last attempt";
  EXPECT_EQ(loop.attempts(), calls);
  // Jittered backoffs: 0.1 doubling, capped at 0.4, each times [0.5, 1.5].
  ASSERT_GE(time.waits.size(), 4u);
  EXPECT_GE(time.waits[0], 0.05);
  EXPECT_LE(time.waits[0], 0.15);
  EXPECT_GE(time.waits[1], 0.1);
  EXPECT_LE(time.waits[1], 0.3);
  for (double w : time.waits) EXPECT_LE(w, 0.6);
  EXPECT_DOUBLE_EQ(loop.backoff(), 0.4);
  ASSERT_EQ(log.size(), 1u) << "one line when the failures begin";
  EXPECT_NE(log[0].find("learner at test:1: join failed (UNAVAILABLE: connection refused); "
                        "retrying for up to 2 s"),
            std::string::npos)
      << log[0];
}

TEST(RetryLoop, RetriesOnlyTransientStatusesAndStartsOverAfterASuccess) {
  FakeTime time;
  std::vector<std::string> log;
  RetryLoop loop = make_loop(time, log);
  Script refused{{grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "bad")}};
  std::optional<grpc::Status> status = loop.run("push", std::ref(refused));
  ASSERT_TRUE(status);
  EXPECT_EQ(status->error_code(), grpc::StatusCode::INVALID_ARGUMENT) << "handed back as is";
  EXPECT_EQ(refused.calls, 1);
  EXPECT_TRUE(time.waits.empty());

  Script flaky{{grpc::Status(grpc::StatusCode::UNAVAILABLE, ""),
                grpc::Status(grpc::StatusCode::DEADLINE_EXCEEDED, ""),
                grpc::Status(grpc::StatusCode::CANCELLED, ""),
                grpc::Status(grpc::StatusCode::ABORTED, "")}};
  int transient = 0;
  status = loop.run("push", std::ref(flaky), [&](const grpc::Status&) { ++transient; });
  ASSERT_TRUE(status);
  EXPECT_TRUE(status->ok());
  EXPECT_EQ(flaky.calls, 5);
  EXPECT_EQ(transient, 4);
  EXPECT_EQ(time.waits.size(), 4u);
  EXPECT_EQ(loop.backoff(), 0) << "a success resets the backoff";

  // The budget starts over too: failures after a success are a new run of them.
  time.now += 1h;
  Script again{{grpc::Status(grpc::StatusCode::UNAVAILABLE, "")}};
  status = loop.run("push", std::ref(again));
  ASSERT_TRUE(status);
  EXPECT_TRUE(status->ok());
  EXPECT_LE(time.waits.back(), 0.15) << "the first backoff again";
  EXPECT_EQ(log.size(), 2u) << "one line per run of failures";
}

TEST(RetryLoop, EachAttemptGetsItsDeadline) {
  FakeTime time;
  std::vector<std::string> log;
  RetryLoop loop = make_loop(time, log, {.attempt_timeout_s = 30.0});
  std::vector<std::chrono::system_clock::time_point> deadlines;
  const auto before = std::chrono::system_clock::now();
  int calls = 0;
  loop.run("describe", [&](std::chrono::system_clock::time_point deadline) {
    deadlines.push_back(deadline);
    return ++calls < 3 ? grpc::Status(grpc::StatusCode::DEADLINE_EXCEEDED, "") : grpc::Status::OK;
  });
  const auto after = std::chrono::system_clock::now();
  ASSERT_EQ(deadlines.size(), 3u);
  for (const auto& d : deadlines) {
    EXPECT_GE(d, before + 30s);
    EXPECT_LE(d, after + 30s);
  }
}

TEST(RetryLoop, AStopOrAThrowingHookEndsTheLoop) {
  FakeTime time;
  time.stopped = true;
  std::vector<std::string> log;
  RetryLoop loop = make_loop(time, log);
  Script down{{grpc::Status(grpc::StatusCode::UNAVAILABLE, ""),
               grpc::Status(grpc::StatusCode::UNAVAILABLE, "")}};
  EXPECT_FALSE(loop.run("join", std::ref(down))) << "stopped while backing off";
  EXPECT_EQ(down.calls, 1);

  time.stopped = false;
  struct Rejoin {};
  EXPECT_THROW(loop.run("push", std::ref(down), [](const grpc::Status&) { throw Rejoin{}; }),
               Rejoin);
  EXPECT_EQ(down.calls, 2);
  EXPECT_THROW(RetryLoop({}, "x", {}, {}, 1), Error) << "a loop needs a way to wait";
}

}  // namespace
}  // namespace trustrl::server
