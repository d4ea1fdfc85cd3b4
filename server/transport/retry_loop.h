#pragma once
// Retries of a client's calls to a server that may be away for a while: each attempt gets a
// deadline; a transient failure (is_transient: UNAVAILABLE, DEADLINE_EXCEEDED, CANCELLED,
// ABORTED) is retried after a jittered, doubling backoff; the failures since the last success
// may last give_up_after_s, after which the loop throws. Anything else goes back to the caller.
//
//   RetryLoop retry(settings, "learner at 127.0.0.1:43211", log, wait_unless_stopped, seed);
//   std::optional<grpc::Status> status = retry.run("join", [&](auto deadline) {
//     grpc::ClientContext context;
//     context.set_deadline(deadline);
//     return stub->Join(&context, request, &response);
//   });
//   if (!status) return;  // stopped while backing off

#include <grpcpp/support/status.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <random>
#include <string>

namespace trustrl::server {

struct RetrySettings {
  /// Failures since the last success may go on this long; then the loop throws.
  double give_up_after_s = 120.0;
  /// The deadline of each attempt.
  double attempt_timeout_s = 60.0;
  /// First wait before a retry, doubled per failure up to max_backoff_s; each wait is drawn
  /// uniformly from [0.5, 1.5] times that.
  double backoff_s = 0.1;
  double max_backoff_s = 5.0;
};

class RetryLoop {
 public:
  /// Waits up to `seconds`; false when the caller is stopping (the loop then gives up quietly).
  using Wait = std::function<bool(double seconds)>;
  using Now = std::function<std::chrono::steady_clock::time_point()>;
  using Attempt = std::function<grpc::Status(std::chrono::system_clock::time_point deadline)>;

  /// `server` names the other side in messages ("learner at HOST:PORT"); `log` gets one line
  /// when a run of failures begins (may be empty); `seed` seeds the jitter; `now` is the clock
  /// the budget is measured on.
  RetryLoop(RetrySettings settings, std::string server, std::function<void(const std::string&)> log,
            Wait wait, std::uint64_t seed, Now now = std::chrono::steady_clock::now);

  /// Calls `attempt` until it returns OK or a status that is not transient, and returns that.
  /// Before each retry: `on_transient(status)` (which may throw to end the loop), failed(),
  /// back_off(). nullopt: the wait was stopped. Throws Error once failures have lasted longer
  /// than give_up_after_s.
  std::optional<grpc::Status> run(
      const std::string& what, const Attempt& attempt,
      const std::function<void(const grpc::Status&)>& on_transient = {});

  /// A call succeeded: the budget and the backoff start over.
  void succeeded();
  /// A transient failure of `what`: starts the budget's clock at the first of a run (logging
  /// it), throws Error naming the server and `status` once the run is longer than the budget.
  void failed(const grpc::Status& status, const std::string& what);
  /// Waits the next backoff; false when stopped meanwhile.
  bool back_off();

  /// Attempts run() has made, over all calls.
  std::int64_t attempts() const { return attempts_; }
  /// The wait back_off() asked for last, in seconds (before jitter: `backoff`).
  double backoff() const { return backoff_; }

 private:
  const RetrySettings settings_;
  const std::string server_;
  const std::function<void(const std::string&)> log_;
  const Wait wait_;
  const Now now_;
  std::mt19937_64 jitter_;
  std::optional<std::chrono::steady_clock::time_point> failing_since_;
  double backoff_ = 0;
  std::int64_t attempts_ = 0;
};

}  // namespace trustrl::server
