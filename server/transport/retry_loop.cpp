#include "server/transport/retry_loop.h"

#include <algorithm>
#include <cmath>

#include "core/error.h"
#include "core/text.h"
#include "server/transport/transport.h"

namespace trustrl::server {

RetryLoop::RetryLoop(RetrySettings settings, std::string server,
                     std::function<void(const std::string&)> log, Wait wait, std::uint64_t seed,
                     Now now)
    : settings_(settings),
      server_(std::move(server)),
      log_(std::move(log)),
      wait_(std::move(wait)),
      now_(std::move(now)),
      jitter_(seed) {
  if (!wait_ || !now_) throw Error("a retry loop needs a wait and a clock");
}

std::optional<grpc::Status> RetryLoop::run(
    const std::string& what, const Attempt& attempt,
    const std::function<void(const grpc::Status&)>& on_transient) {
  for (;;) {
    ++attempts_;
    const grpc::Status status = attempt(deadline_after(settings_.attempt_timeout_s));
    if (status.ok()) {
      succeeded();
      return status;
    }
    if (!is_transient(status)) return status;
    if (on_transient) on_transient(status);
    failed(status, what);
    if (!back_off()) return std::nullopt;
  }
}

void RetryLoop::succeeded() {
  failing_since_.reset();
  backoff_ = 0;
}

void RetryLoop::failed(const grpc::Status& status, const std::string& what) {
  const auto since = [&] {
    return std::chrono::duration<double>(now_() - *failing_since_).count();
  };
  if (!failing_since_) {
    failing_since_ = now_();
    if (log_)
      log_(server_ + ": " + what + " failed (" + describe(status) + "); retrying for up to " +
           format_number(settings_.give_up_after_s) + " s");
  }
  if (since() > settings_.give_up_after_s)
    throw Error(server_ + " has been unreachable for " + format_number(std::round(since())) +
                " s (last error: " + describe(status) + "); giving up");
}

bool RetryLoop::back_off() {
  backoff_ = backoff_ == 0 ? settings_.backoff_s : std::min(backoff_ * 2, settings_.max_backoff_s);
  return wait_(backoff_ * std::uniform_real_distribution<double>(0.5, 1.5)(jitter_));
}

}  // namespace trustrl::server
