#pragma once
// Wire-level checks of a simulator's protocol handling, for `trustrl check-env`: the handshake
// and spec hash, and that every malformed or out-of-order request is refused with the right gRPC
// status and a message, while the server keeps serving. The envs/conformance.h suite, run over
// RemoteVectorEnv, checks the env's behaviour; these check its manners.

#include <vector>

#include "envs/conformance.h"
#include "server/env_protocol/session_client.h"

namespace trustrl::server {

/// Runs every check against the server at `endpoint`; never throws (a failure fails its check).
/// `timeout_s` bounds each exchange, so a server that hangs fails instead of stalling the run.
std::vector<envs::ConformanceCheck> run_protocol_checks(const Endpoint& endpoint, double timeout_s);

/// Valid actions for every copy of `spec` (the lowest value, or 0 clipped into the Box), for
/// probes that need a well-formed step.
void fill_valid_actions(const wire::EnvSpec& spec, int num_envs, wire::StepRequest* step);

}  // namespace trustrl::server
