#pragma once
// The multi-agent environment interface: A agents act at once (PettingZoo's parallel API).
//
// Buffers are contiguous and padded so that a learner can batch agents without ragged arrays:
// observations are [A, max_obs_dim] floats (row a holds agent a's observation, zero-padded past
// its own obs_dim), joint actions are [A, max_action_dim] (row a holds agent a's action; values
// past its own action_dim are ignored). An agent that is done stays in its slot with active = 0
// (PettingZoo removes it instead), so shapes never change within an episode.
//
// Episode-level `terminated` / `truncated` keep Gymnasium's meaning (see env.h); an agent whose
// active flag drops from 1 to 0 during a step reached a terminal state of its own (do not
// bootstrap its value past that step). docs/MULTI_AGENT.md describes the layout in full.

#include <cstdint>
#include <limits>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "core/bytes.h"
#include "core/rng.h"
#include "envs/env.h"
#include "envs/frame.h"
#include "envs/space.h"

namespace trustrl::envs {

/// The joint-action value of a discrete component for an inactive agent ("no action").
inline constexpr std::int64_t kNoDiscreteAction = -1;
/// The joint-action value of a continuous component for an inactive agent: a quiet NaN.
inline constexpr float kNoContinuousAction = std::numeric_limits<float>::quiet_NaN();

/// Agents with identical observation and action spaces; a learner may share one actor per group.
struct AgentGroup {
  /// Agent indices in ascending order.
  std::vector<int> agents;
  Space observation_space;
  Space action_space;
};

struct MultiAgentSpec {
  std::string id;
  /// One name per agent ("agent_0", "speaker_0", ...); their count is the number of agents A.
  std::vector<std::string> agent_names;
  /// Per agent: a float32 Box each. Heterogeneous agents may differ in size.
  std::vector<Space> observation_spaces;
  /// Per agent: Discrete, MultiDiscrete or Box. Discrete spaces must not contain
  /// kNoDiscreteAction (-1), which marks an inactive agent's slot.
  std::vector<Space> action_spaces;
  /// The global state for a centralized critic, a float32 Box; a default Space (flat_dim 0)
  /// when the env has none.
  Space state_space;
  /// Steps after which an episode is truncated; 0 means no limit.
  int max_episode_steps = 0;
  /// The team return (sum over agents and steps) at which the task counts as solved, if any.
  std::optional<double> reward_threshold;
  /// Frames per second of a recording.
  int render_fps = 30;
  /// Set when the env is a plain Env seen as one agent (single_agent_adapter.h): it keeps its
  /// single-agent identity (canonical text, hence spec hash and wire form).
  std::optional<EnvSpec> single_agent;

  int num_agents() const { return static_cast<int>(agent_names.size()); }
  std::int64_t obs_dim(int agent) const;
  std::int64_t action_dim(int agent) const;
  std::int64_t state_dim() const { return state_space.flat_dim(); }
  /// The row widths of the padded buffers.
  std::int64_t max_obs_dim() const;
  std::int64_t max_action_dim() const;
  /// Whether some agent takes Discrete/MultiDiscrete actions (then a joint action needs its
  /// `discrete` rows) and whether some agent takes Box actions (its `continuous` rows).
  bool has_discrete_actions() const;
  bool has_continuous_actions() const;
  /// Agents grouped by identical (observation space, action space), in order of first member.
  std::vector<AgentGroup> agent_groups() const;

  /// Throws Error naming the first inconsistency (sizes, kinds, names, the sentinel).
  void validate() const;
  /// A stable text of everything two processes must agree on (id, agents, spaces, time limit).
  std::string canonical() const;
};

/// A joint action for one env: row a (max_action_dim values) is agent a's action. `discrete`
/// ([A, max_action_dim] int64) is needed when some agent has a discrete space, `continuous`
/// ([A, max_action_dim] float32) when some agent has a Box space; a span no agent needs is ignored.
/// An inactive agent's components must all be kNoDiscreteAction / kNoContinuousAction.
struct JointAction {
  std::span<const std::int64_t> discrete;
  std::span<const float> continuous;
};

/// Where an env writes what its agents see: spans into the caller's buffers (not retained).
struct MultiAgentView {
  /// [A, max_obs_dim]: row a is agent a's observation, zero past its obs_dim.
  std::span<float> observations;
  /// [state_dim]: the global state (empty when the env has none).
  std::span<float> state;
  /// [A]: 1 where the agent acts on the next step.
  std::span<std::uint8_t> active;
};

struct MultiAgentStepResult {
  bool terminated = false;
  bool truncated = false;
};

class MultiAgentEnv {
 public:
  /// Validates the spec (throws Error naming the problem).
  explicit MultiAgentEnv(MultiAgentSpec spec);
  virtual ~MultiAgentEnv() = default;
  MultiAgentEnv(const MultiAgentEnv&) = delete;
  MultiAgentEnv& operator=(const MultiAgentEnv&) = delete;

  const MultiAgentSpec& spec() const { return spec_; }
  int num_agents() const { return spec_.num_agents(); }

  /// Starts an episode and writes its first observations, state and active mask into `out`.
  /// With a seed the env's RNG is reseeded first; without one it carries on.
  void reset(std::optional<std::uint64_t> seed, const MultiAgentView& out);

  /// Applies a joint action, writes the next observations, state and active mask into `out` and
  /// each agent's reward into `rewards` ([A]; 0 for agents that were inactive before the step).
  /// Throws Error naming the problem for buffers or a joint action of the wrong size, a discrete
  /// value outside an active agent's space, a non-finite continuous value of an active agent, an
  /// inactive agent's slot holding anything but the no-action sentinel, or a step without a
  /// running episode. Out-of-range continuous actions are the env's to clip.
  MultiAgentStepResult step(const JointAction& action, const MultiAgentView& out,
                            std::span<double> rewards);
  /// step() for a joint action that already passed check_action() in the env's current state,
  /// with buffers of the sizes step() requires (a vector env checks a whole batch before
  /// stepping any copy, so each action is checked once).
  MultiAgentStepResult step_checked(const JointAction& action, const MultiAgentView& out,
                                    std::span<double> rewards);

  /// Throws what step() would throw for `action` against the current active mask, and does
  /// nothing else (a vector env checks every copy before stepping any).
  void check_action(const JointAction& action) const;

  /// Replaces the spec's time limit; 0 removes it.
  void set_time_limit(int max_episode_steps);

  int elapsed_steps() const { return elapsed_steps_; }
  bool needs_reset() const { return needs_reset_; }
  /// The active mask last written (all zero before the first reset).
  std::span<const std::uint8_t> active() const { return active_; }

  /// The env's full internal state as doubles, including which agents are active (layout
  /// documented by each env), for tests.
  virtual std::vector<double> get_state() const = 0;
  /// Puts the env in `state` (as get_state() returns it) and writes the matching view. The step
  /// counter is kept. Throws Error for a state of the wrong size.
  void set_state(std::span<const double> state, const MultiAgentView& out);

  /// Whether save()/load() can capture the env exactly.
  virtual bool can_snapshot() const { return true; }
  /// Everything needed to continue exactly: state, RNG, step counter.
  virtual void save(ByteWriter& out) const;
  /// Restores what save() wrote and writes the current view into `out`.
  virtual void load(ByteReader& in, const MultiAgentView& out);

  /// Steps ended because the simulation became unstable (a physics engine's warning: NaN or
  /// huge positions, velocities or accelerations), since construction; such a step terminates
  /// the episode. 0 for envs that cannot become unstable.
  virtual std::int64_t unstable_steps() const { return 0; }

  /// A picture of the current scene. Throws Error if the env cannot draw itself.
  virtual Frame render() const;

 protected:
  /// Draws the initial state from rng() and writes the first view. `out.active` arrives all 1;
  /// clear the agents that do not start active.
  virtual void reset_impl(const MultiAgentView& out) = 0;
  /// One transition. `out.active` arrives holding the mask before the step: clear the agents
  /// that become done. `rewards` arrives zeroed. `truncated` is set by the caller from the time
  /// limit. Actions were validated; inactive agents' slots hold the sentinel.
  virtual MultiAgentStepResult step_impl(const JointAction& action, const MultiAgentView& out,
                                         std::span<double> rewards) = 0;
  /// See set_state(); `out.active` arrives all 1.
  virtual void set_state_impl(std::span<const double> state, const MultiAgentView& out) = 0;
  Rng& rng() { return rng_; }
  /// The seed of the reset() under way (for an env that seeds something of its own).
  std::optional<std::uint64_t> reset_seed() const { return reset_seed_; }
  /// For an env whose save()/load() bytes are another's (single_agent_adapter.h keeps a plain
  /// env's): sets the step counter and episode flag, marks every agent active and writes the mask
  /// into `out`.
  void restore_episode(int elapsed_steps, bool needs_reset, const MultiAgentView& out);

 private:
  void check_view(const MultiAgentView& out) const;
  // Zeroes the padding of every observation row and records the active mask.
  void finish_view(const MultiAgentView& out);

  MultiAgentSpec spec_;
  std::int64_t max_obs_dim_ = 0;
  std::int64_t max_action_dim_ = 0;
  // Per-step constants of the spec, kept so a step does not recompute them.
  std::vector<std::size_t> obs_dims_;
  bool padded_ = false;
  bool has_discrete_ = false;
  bool has_continuous_ = false;
  Rng rng_{0};
  std::optional<std::uint64_t> reset_seed_;
  int elapsed_steps_ = 0;
  bool needs_reset_ = true;
  std::vector<std::uint8_t> active_;
};

}  // namespace trustrl::envs
