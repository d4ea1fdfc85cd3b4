#pragma once
// Why the rollout gatherer refused an actor's call: a code and a message for the actor. The
// codes are named after the gRPC status codes the learner service maps them to.

#include <string>

#include "core/error.h"

namespace trustrl::server {

enum class RefusalCode {
  kInvalidArgument,
  kNotFound,
  kFailedPrecondition,
  kResourceExhausted,
  kOutOfRange,
  kCancelled,
  kDeadlineExceeded,
};

class Refusal : public Error {
 public:
  Refusal(RefusalCode code, const std::string& message) : Error(message), code_(code) {}
  RefusalCode code() const { return code_; }

 private:
  RefusalCode code_;
};

}  // namespace trustrl::server
