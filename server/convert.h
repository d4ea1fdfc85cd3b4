#pragma once
// Conversion between envs/ types and the wire messages of proto/trustrl/env/v1/env.proto. This is
// the only place that knows both: envs/ never sees protobuf.
//
// Every message that arrives from another process is checked here before it reaches an env or a
// learner (sizes, NaN, bounds); the thrown Error names the field, copy and value.

#include <string>

#include "envs/env.h"
#include "envs/vector_env.h"
#include "trustrl/env/v1/env.pb.h"

namespace trustrl::server {

namespace wire = ::trustrl::env::v1;

wire::Space to_wire(const envs::Space& space);
/// The space a message describes; throws Error naming `what` (e.g. "spec.action_space") if the
/// message is not a valid space.
envs::Space from_wire(const wire::Space& space, const std::string& what);

/// A single-agent spec with same-step auto-reset.
wire::EnvSpec to_wire(const envs::EnvSpec& spec);
/// Throws Error naming the field if `spec` is not a valid spec (single- or multi-agent).
void validate(const wire::EnvSpec& spec);
/// The single-agent spec a message describes; throws Error for an invalid or multi-agent spec.
envs::EnvSpec from_wire(const wire::EnvSpec& spec);

/// "Box(-1, 1, (3,)) -> Discrete(2), limit 200 steps" for messages and reports.
std::string describe(const wire::EnvSpec& spec);

// The single-agent wire form: `buffers` are a one-agent vector env's (num_agents 1, no state).

/// Writes the first observations of a reset (server side).
void write_reset(const envs::StepBuffers& buffers, wire::ResetResponse* out);
/// Writes a step's batch: final observations and episode statistics only for the copies that
/// ended, in copy order (server side).
void write_step(const envs::StepBuffers& buffers, wire::StepResponse* out);

/// Checks a reset response from `source` (e.g. "simulator at 127.0.0.1:5000") and copies it into
/// `buffers` (sized for the session, one agent), clearing rewards and flags and marking the
/// agent active as LocalVectorEnv::reset does.
/// Throws Error naming the source, field and copy for a wrong size or a non-finite value.
void read_reset(const wire::ResetResponse& response, envs::StepBuffers& buffers,
                const std::string& source);
/// The same for a step response. Rows of final_observations and the episode statistics of
/// copies that did not end keep their previous contents, as in LocalVectorEnv; an ended copy's
/// agent was active at its end and its return is the team's.
void read_step(const wire::StepResponse& response, envs::StepBuffers& buffers,
               const std::string& source);

}  // namespace trustrl::server
