#pragma once
// Multi-Agent MuJoCo: a single-agent MuJoCo locomotion env whose actuators are split among agents
// (Peng et al. 2021, "FACMAC"; the semantics of Gymnasium-Robotics' MaMuJoCo v1,
// gymnasium_robotics/envs/multiagent_mujoco/mujoco_multi.py, over the -v5 envs). Registered as
// "mamujoco_v1/<Robot>" (docs/MUJOCO.md).
//
// Agents "agent_0", ...: the agent_conf's partition of the joint graph (joint_graph.h). Agent a's
// action is Box(ctrlrange) over its joints' actuators, in the partition's order; the joint action
// is assembled into the single-agent action and stepped there. Agent a's observation (float32):
// agent_observation(graph, agent a's nodes, agent_obsk) read from MuJoCo's qpos, qvel and
// cfrc_ext after the step; with agent_observation: global, the global state instead (HARL's
// fully observable setting). The global state is the single-agent env's observation. Every agent
// gets the single-agent reward (a shared team reward; the team return is A times it); the episode
// terminates when the single-agent env terminates (agents stay active) and is truncated at its
// time limit (1000 steps).
//
// get_state()/set_state(), save()/load(): the single-agent env's (its RNG draws the reset noise,
// so a reset with seed s starts where the single-agent env's reset with seed s starts).

#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <vector>

#include "envs/env.h"
#include "envs/mujoco/joint_graph.h"
#include "envs/mujoco/mujoco_sim.h"
#include "envs/multi_agent_env.h"
#include "envs/options.h"

namespace trustrl::envs {

class MultiAgentMujoco final : public MultiAgentEnv {
 public:
  /// Reads agent_conf (text, default graph.default_conf), agent_obsk (integer >= 0, default 1)
  /// and agent_observation ("local", MaMuJoCo's, the default; or "global": every agent observes
  /// the global state, the fully observable setting of HARL's MaMuJoCo runs) from `options`. `env`
  /// is the single-agent env (it read its own options already) and `sim` its simulation. Throws
  /// Error for an unknown agent_conf or a model whose sizes differ from the graph's.
  /// `cfrc_ext`, if given, returns the forces the env observes (Ant keeps the step's forces as
  /// part of its state, so they survive set_state() and load()); by default `sim`'s.
  using Forces = std::function<std::span<const double>()>;
  MultiAgentMujoco(EnvOptions& options, const JointGraph& graph, std::unique_ptr<Env> env,
                   const MujocoSim& sim, Forces cfrc_ext = {});

  /// Agent a's nodes (indices into graph().nodes), in the order of its action components.
  const std::vector<int>& agent_nodes(int agent) const {
    return partition_[static_cast<std::size_t>(agent)];
  }
  /// What each value of agent a's observation reads; empty with agent_observation: global.
  std::span<const ObservedValue> observation_layout(int agent) const {
    if (layouts_.empty()) return {};
    return layouts_[static_cast<std::size_t>(agent)];
  }
  const JointGraph& graph() const { return graph_; }
  const Env& single_agent_env() const { return *env_; }
  const MujocoSim& sim() const { return sim_; }

  std::vector<double> get_state() const override { return env_->get_state(); }
  void save(ByteWriter& out) const override { env_->save(out); }
  void load(ByteReader& in, const MultiAgentView& out) override;
  Frame render() const override { return env_->render(); }
  std::int64_t unstable_steps() const override { return env_->unstable_steps(); }

 protected:
  void reset_impl(const MultiAgentView& out) override;
  MultiAgentStepResult step_impl(const JointAction& action, const MultiAgentView& out,
                                 std::span<double> rewards) override;
  void set_state_impl(std::span<const double> state, const MultiAgentView& out) override;

 private:
  MultiAgentMujoco(const JointGraph& graph, std::unique_ptr<Env> env, const MujocoSim& sim,
                   Forces cfrc_ext, const std::vector<std::vector<int>>& partition,
                   std::optional<int> k);
  void write_observations(const MultiAgentView& out) const;

  const JointGraph& graph_;
  std::unique_ptr<Env> env_;
  const MujocoSim& sim_;
  Forces cfrc_ext_;
  std::vector<std::vector<int>> partition_;
  // One per agent; empty when every agent observes the global state.
  std::vector<std::vector<ObservedValue>> layouts_;
  std::vector<float> action_;
};

}  // namespace trustrl::envs
