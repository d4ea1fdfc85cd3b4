#pragma once
// Conversion between envs/ types and the wire messages of proto/trustrl/env/v1/env.proto. This is
// the only place that knows both: envs/ never sees protobuf.
//
// In memory a multi-agent batch is padded (envs/vector_env.h: observations
// [N, A, max_obs_dim], joint actions [N, A, max_action_dim] in one array per dtype); on the wire
// it is packed (env.proto: observations [N, O] with O the sum of the agents' widths, actions
// [N, D] int64 for the discrete agents and [N, C] float32 for the Box agents, in agent order).
// AgentLayout maps one onto the other. A single-agent env keeps its own wire form (top-level
// spaces, no agent axis), as simulators and saved policies expect.
//
// Every message that arrives from another process is checked here before it reaches an env or a
// learner (sizes, NaN, bounds); the thrown Error (a ProtocolError for a batch's arrays) names the
// field, copy and value.

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "core/error.h"
#include "envs/env.h"
#include "envs/multi_agent_env.h"
#include "envs/vector_env.h"
#include "trustrl/env/v1/env.pb.h"

namespace trustrl::server {

namespace wire = ::trustrl::env::v1;

/// A batch's arrays break env.proto's rules (a wrong size, a value outside its space, a value that
/// must be finite and is not). The env session answers a request that throws it with
/// INVALID_ARGUMENT; a remote env names the simulator that sent it.
class ProtocolError : public Error {
 public:
  using Error::Error;
};

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

/// A multi-agent spec with same-step auto-reset: num_agents, agents and (when the env has one)
/// state_space; the top-level spaces stay unset.
wire::EnvSpec to_wire(const envs::MultiAgentSpec& spec);
/// The multi-agent spec a message describes; throws Error for an invalid or single-agent spec.
envs::MultiAgentSpec multi_agent_from_wire(const wire::EnvSpec& spec);

// Batches: the padded buffers of a vector env and their packed wire rows.

/// Where each agent's values sit in a packed wire row and in a padded buffer row, and which wire
/// form a batch takes.
struct AgentLayout {
  explicit AgentLayout(const envs::MultiAgentSpec& spec);

  int num_agents = 0;
  /// False for a plain env seen as one agent (MultiAgentSpec::single_agent): its batches keep the
  /// single-agent form, without agent_rewards, agent_active, states and the final_* states and
  /// masks (its one agent is always active, its return is the team's).
  bool agent_axis = true;
  /// Per agent: its observation width and its offset in a packed observation row.
  std::vector<int> obs_dim, obs_offset;
  /// Per agent: its action width, whether it is discrete, and its offset in the packed row of
  /// its dtype (discrete_actions or continuous_actions).
  std::vector<int> action_dim, action_offset;
  std::vector<bool> discrete;
  /// O, D, C and S of env.proto.
  int obs_width = 0, discrete_width = 0, continuous_width = 0, state_dim = 0;
  /// Row widths of the padded buffers.
  int padded_obs = 0, padded_action = 0;
};

/// Copies a padded observation array ([rows, A, padded_obs]) into a packed one ([rows, O]).
void pack_observations(const AgentLayout& layout, std::span<const float> padded,
                       std::vector<float>& packed);

/// Writes the first observations, states and active masks of a reset (server side; the
/// observations alone in the single-agent form).
void write_reset(const AgentLayout& layout, const envs::StepBuffers& buffers,
                 wire::ResetResponse* out);
/// Writes a step's batch: rewards (the team sums) and agent_rewards, flags, the next observations,
/// states and masks, and for the copies that ended, in copy order, their final observations,
/// states, masks and episode statistics (server side).
void write_step(const AgentLayout& layout, const envs::StepBuffers& buffers,
                wire::StepResponse* out);

/// Checks a reset response from `source` (e.g. "simulator at 127.0.0.1:5000") and copies it into
/// `buffers` (sized for the session), clearing rewards and flags as LocalVectorEnv::reset does.
/// Throws ProtocolError naming the source, field and copy for a wrong size or a non-finite value.
void read_reset(const AgentLayout& layout, const wire::ResetResponse& response,
                envs::StepBuffers& buffers, const std::string& source);
/// The same for a step response. Rows of the final_* buffers and the episode statistics of copies
/// that did not end keep their previous contents, as in LocalVectorEnv;
/// agent_episode_returns is not on the wire and is left to the caller (in the single-agent form
/// an ended copy's is its episode return).
void read_step(const AgentLayout& layout, const wire::StepResponse& response,
               envs::StepBuffers& buffers, const std::string& source);

/// Packs a padded joint-action batch of `num_envs` copies into a step request (client side).
void pack_actions(const AgentLayout& layout, int num_envs, const envs::ActionBatch& batch,
                  wire::StepRequest* out);
/// Unpacks a step request into padded batches (server side): `discrete` and `continuous` are
/// resized to [N, A, padded_action] (empty for a dtype no agent takes), padding holds the
/// sentinels. Throws ProtocolError saying what is wrong with the field sizes.
void unpack_actions(const AgentLayout& layout, int num_envs, const wire::StepRequest& request,
                    std::vector<std::int64_t>& discrete, std::vector<float>& continuous);

/// Unpacks a step request as unpack_actions does and checks it (server side): in the single-agent
/// form's words for a plain env (a stray field, a wrong size, a value outside the action space),
/// else as unpack_actions and check_joint_actions do for copies whose masks are `active`. Throws
/// ProtocolError saying what is wrong.
void read_actions(const envs::MultiAgentSpec& spec, const AgentLayout& layout, int num_envs,
                  std::span<const std::uint8_t> active, const wire::StepRequest& request,
                  std::vector<std::int64_t>& discrete, std::vector<float>& continuous);

/// Checks a padded joint-action batch for copies whose active masks are `active` ([N, A]): throws
/// ProtocolError for a wrong size, a discrete value outside an active agent's space, a non-finite
/// value of an active agent, an inactive agent's slot holding anything but the no-action
/// sentinel. The message names the copy, agent and value ("copy 2, agent 1 (listener_0):
/// discrete action 7 is outside Discrete(5)").
void check_joint_actions(const envs::MultiAgentSpec& spec, int num_envs,
                         std::span<const std::uint8_t> active, const envs::ActionBatch& batch);

}  // namespace trustrl::server
