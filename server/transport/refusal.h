#pragma once
// Why a server refused a call (the rollout gatherer an actor's, the env session a client's): a
// code and a message for the caller. The codes are named after the gRPC status codes that
// to_status (server/transport/transport.h) maps them to at the service edge; this header needs no
// gRPC.

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
  /// The server's own fault (an env that failed), not the caller's.
  kInternal,
};

class Refusal : public Error {
 public:
  Refusal(RefusalCode code, const std::string& message) : Error(message), code_(code) {}
  RefusalCode code() const { return code_; }

 private:
  RefusalCode code_;
};

}  // namespace trustrl::server
