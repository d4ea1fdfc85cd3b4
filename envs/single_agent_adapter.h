#pragma once
// A plain Env seen as a one-agent MultiAgentEnv, so that everything below the authoring API
// (vector envs, conformance, learners) is written once for 1..N agents. Authors keep writing a
// plain Env with Gymnasium's semantics; the adapter adds nothing to its behaviour: the same seed
// gives the same observations, rewards and flags, and the spec keeps its single-agent identity
// (MultiAgentSpec::single_agent), so spec hashes and the wire form do not change.

#include <memory>

#include "envs/env.h"
#include "envs/multi_agent_env.h"

namespace trustrl::envs {

/// The one-agent spec of a plain env: one agent "agent_0" with the env's spaces, no global
/// state, the env's time limit, threshold and frame rate; `single_agent` holds `spec` itself.
MultiAgentSpec one_agent_spec(const EnvSpec& spec);

/// Wraps `env` (which must not be null). The wrapper owns it.
std::unique_ptr<MultiAgentEnv> as_multi_agent(std::unique_ptr<Env> env);

}  // namespace trustrl::envs
