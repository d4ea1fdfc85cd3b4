#pragma once
// The joint graphs of Multi-Agent MuJoCo (Peng et al. 2021, "FACMAC"; as Gymnasium-Robotics'
// MaMuJoCo v1 defines them in gymnasium_robotics/envs/multiagent_mujoco/obsk.py): each actuated
// joint of a robot is a node, (hyper)edges join joints that touch, an agent_conf ("2x3") splits the
// nodes among agents, and an agent observes its own nodes plus those within graph distance k,
// then the root's (global) values. docs/MUJOCO.md has the tables.

#include <limits>
#include <string>
#include <utility>
#include <vector>

namespace trustrl::envs {

/// What an observed value is read from: MuJoCo's qpos, qvel or cfrc_ext (6 per body).
enum class JointSource { kQpos, kQvel, kCfrcExt };

/// One actuated joint: a node of the graph (MaMuJoCo's Node).
struct JointNode {
  /// MaMuJoCo's label; each distance level of an observation lists its nodes sorted by it.
  std::string label;
  int qpos = 0;
  int qvel = 0;
  /// Index of the joint's actuator in the single-agent action.
  int actuator = 0;
  /// Bodies whose cfrc_ext the node observes, in MaMuJoCo's order (Ant only).
  std::vector<int> bodies;
};

struct JointGraph {
  /// Gymnasium's env name: "HalfCheetah".
  std::string robot;
  std::vector<JointNode> nodes;
  /// Sets of node indices that are all adjacent to each other (MaMuJoCo's HyperEdge).
  std::vector<std::vector<int>> hyperedges;
  /// The categories an agent observes of a node at distance k: entry min(k, size - 1).
  std::vector<std::vector<JointSource>> categories_by_distance;
  /// The root's values every agent sees after its local ones: these qpos, then these qvel.
  std::vector<int> global_qpos, global_qvel;
  /// Observed velocities are clipped to +-this (Hopper: 10, as Hopper-v5's observation).
  double velocity_clip = std::numeric_limits<double>::infinity();
  /// Observed cfrc_ext values are clipped to +-this (MaMuJoCo's Ant body_fn).
  double cfrc_ext_clip = 1.0;
  /// agent_conf -> each agent's nodes, in the order of its action components.
  std::vector<std::pair<std::string, std::vector<std::vector<int>>>> partitions;
  /// The agent_conf used when none is given.
  std::string default_conf;
  /// The model's sizes the indices above assume.
  int nq = 0, nv = 0, nu = 0, nbody = 0;

  /// The agents' nodes of `conf`; throws Error naming the known confs for an unknown one.
  const std::vector<std::vector<int>>& partition(const std::string& conf) const;
};

/// The graph of "HalfCheetah", "Hopper", "Walker2d" or "Ant"; throws Error for another name.
const JointGraph& joint_graph(const std::string& robot);

/// The nodes at graph distance exactly 0, 1, ..., k from `agent`'s nodes (level 0 is the agent's
/// own), each level sorted by label: MaMuJoCo's get_joints_at_kdist.
std::vector<std::vector<int>> nodes_by_distance(const JointGraph& graph,
                                                const std::vector<int>& agent, int k);

/// One value of an agent's observation: source[index] clipped to +-clip (for kCfrcExt, index is
/// body * 6 + component).
struct ObservedValue {
  JointSource source = JointSource::kQpos;
  int index = 0;
  double clip = std::numeric_limits<double>::infinity();
};

/// An agent's observation with depth k, in MaMuJoCo's build_obs order: for each distance level,
/// for each node, its categories (a body's cfrc_ext once per agent); then the global qpos and
/// qvel.
std::vector<ObservedValue> agent_observation(const JointGraph& graph, const std::vector<int>& agent,
                                             int k);

}  // namespace trustrl::envs
