#pragma once
// What a conformance check is made of: a named body that passes, or fails by throwing
// CheckFailed with a message a simulator author can act on. Shared by the conformance suite
// and `trustrl check-env`'s protocol checks.

#include <functional>
#include <string>

#include "core/error.h"

namespace trustrl::envs {

struct ConformanceCheck {
  std::string name;
  bool passed = false;
  /// What went wrong (or what was verified), in words a simulator author can act on.
  std::string detail;
};

/// Thrown inside a check's body to fail it with its message (an Error like any other, so it
/// reads the same when it escapes a check).
class CheckFailed : public Error {
 public:
  using Error::Error;
};

[[noreturn]] inline void fail_check(const std::string& message) { throw CheckFailed{message}; }

/// Runs `body` (which returns what it verified, or throws CheckFailed) as the check `name`; never
/// throws. Another exception also fails the check, its message prefixed with "threw: ".
ConformanceCheck run_check(const std::string& name, const std::function<std::string()>& body);

}  // namespace trustrl::envs
