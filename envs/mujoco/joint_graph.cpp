#include "envs/mujoco/joint_graph.h"

#include <algorithm>
#include <set>

#include "core/error.h"

namespace trustrl::envs {

namespace {

using enum JointSource;

// Node indices, labels, qpos/qvel/actuator indices, edges, globals and partitions below are
// MaMuJoCo v1's (obsk.py get_parts_and_edges), its negative indices counted from the end of
// qpos/qvel of the Gymnasium -v5 model.

JointGraph half_cheetah() {
  JointGraph g;
  g.robot = "HalfCheetah";
  // 0 bthigh, 1 bshin, 2 bfoot, 3 fthigh, 4 fshin, 5 ffoot: qpos/qvel 3..8, actuators 0..5.
  for (const char* label : {"bthigh", "bshin", "bfoot", "fthigh", "fshin", "ffoot"}) {
    const int i = static_cast<int>(g.nodes.size());
    g.nodes.push_back({label, 3 + i, 3 + i, i, {}});
  }
  g.hyperedges = {{2, 1}, {1, 0}, {0, 3}, {3, 4}, {4, 5}};
  g.categories_by_distance = {{kQpos, kQvel}, {kQpos}};
  // root_x has no qpos entry (the observation excludes x, as HalfCheetah-v5's does).
  g.global_qpos = {1, 2};
  g.global_qvel = {0, 1, 2};
  g.partitions = {{"2x3", {{0, 1, 2}, {3, 4, 5}}}, {"6x1", {{0}, {1}, {2}, {3}, {4}, {5}}}};
  g.default_conf = "2x3";
  g.nq = 9, g.nv = 9, g.nu = 6, g.nbody = 8;
  return g;
}

JointGraph hopper() {
  JointGraph g;
  g.robot = "Hopper";
  // 0 thigh_joint, 1 leg_joint, 2 foot_joint: qpos/qvel 3..5, actuators 0..2.
  for (const char* label : {"thigh_joint", "leg_joint", "foot_joint"}) {
    const int i = static_cast<int>(g.nodes.size());
    g.nodes.push_back({label, 3 + i, 3 + i, i, {}});
  }
  g.hyperedges = {{2, 1}, {1, 0}};
  g.categories_by_distance = {{kQpos, kQvel}, {kQpos}};
  g.global_qpos = {1, 2};
  g.global_qvel = {0, 1, 2};
  g.velocity_clip = 10.0;
  g.partitions = {{"3x1", {{0}, {1}, {2}}}};
  g.default_conf = "3x1";
  g.nq = 6, g.nv = 6, g.nu = 3, g.nbody = 5;
  return g;
}

JointGraph walker2d() {
  JointGraph g;
  g.robot = "Walker2d";
  // 0 thigh_joint, 1 leg_joint, 2 foot_joint, 3 thigh_left_joint, 4 leg_left_joint,
  // 5 foot_left_joint: qpos/qvel 3..8, actuators 0..5. MaMuJoCo clips none of these velocities
  // (Walker2d-v5's own observation clips qvel to +-10).
  for (const char* label : {"thigh_joint", "leg_joint", "foot_joint", "thigh_left_joint",
                            "leg_left_joint", "foot_left_joint"}) {
    const int i = static_cast<int>(g.nodes.size());
    g.nodes.push_back({label, 3 + i, 3 + i, i, {}});
  }
  g.hyperedges = {{2, 1}, {1, 0}, {5, 4}, {4, 3}, {0, 3}};
  g.categories_by_distance = {{kQpos, kQvel}, {kQpos}};
  g.global_qpos = {1, 2};
  g.global_qvel = {0, 1, 2};
  // Each agent's actions run foot, leg, thigh (MaMuJoCo's tuple order).
  g.partitions = {{"2x3", {{2, 1, 0}, {5, 4, 3}}}};
  g.default_conf = "2x3";
  g.nq = 9, g.nv = 9, g.nu = 6, g.nbody = 8;
  return g;
}

JointGraph ant() {
  JointGraph g;
  g.robot = "Ant";
  // Bodies of Gymnasium's ant.xml: 1 torso, 2 front_left_leg, 3 aux_1, 4 its foot, 5
  // front_right_leg, 6 aux_2, 7 its foot, 8 back_leg, 9 aux_3, 10 its foot, 11 right_back_leg,
  // 12 aux_4, 13 its foot.
  // Nodes 0 hip1, 1 ankle1, 2 hip2, 3 ankle2, 4 hip3, 5 ankle3, 6 hip4, 7 ankle4: qpos 7..14 and
  // qvel 6..13 (after the free joint's 7 and 6); the actuators run hip4, ankle4, hip1, ankle1, ...
  g.nodes = {{"hip1", 7, 6, 2, {1, 2}},    {"ankle1", 8, 7, 3, {2, 3, 4}},
             {"hip2", 9, 8, 4, {1, 5}},    {"ankle2", 10, 9, 5, {5, 6, 7}},
             {"hip3", 11, 10, 6, {1, 8}},  {"ankle3", 12, 11, 7, {8, 9, 10}},
             {"hip4", 13, 12, 0, {1, 11}}, {"ankle4", 14, 13, 1, {11, 12, 13}}};
  g.hyperedges = {{7, 6}, {1, 0}, {3, 2}, {5, 4}, {6, 0, 2, 4}};
  g.categories_by_distance = {{kQpos, kQvel, kCfrcExt}, {kQpos}};
  // The torso's orientation quaternion and height (qpos 2..6), its linear and angular velocity.
  g.global_qpos = {2, 3, 4, 5, 6};
  g.global_qvel = {0, 1, 2, 3, 4, 5};
  g.partitions = {{"2x4", {{0, 1, 2, 3}, {4, 5, 6, 7}}},
                  {"2x4d", {{0, 1, 6, 7}, {2, 3, 4, 5}}},
                  {"4x2", {{0, 1}, {2, 3}, {4, 5}, {6, 7}}}};
  g.default_conf = "2x4";
  g.nq = 15, g.nv = 14, g.nu = 8, g.nbody = 14;
  return g;
}

}  // namespace

const std::vector<std::vector<int>>& JointGraph::partition(const std::string& conf) const {
  std::string known;
  for (const auto& [name, agents] : partitions) {
    if (name == conf) return agents;
    known += (known.empty() ? "" : ", ") + name;
  }
  throw Error("agent_conf '" + conf + "' is not a partition of " + robot + " (known: " + known +
              ")");
}

const JointGraph& joint_graph(const std::string& robot) {
  static const std::vector<JointGraph> graphs = {half_cheetah(), hopper(), walker2d(), ant()};
  std::string known;
  for (const auto& g : graphs) {
    if (g.robot == robot) return g;
    known += (known.empty() ? "" : ", ") + g.robot;
  }
  throw Error("Multi-Agent MuJoCo has no joint graph for '" + robot + "' (known: " + known + ")");
}

std::vector<std::vector<int>> nodes_by_distance(const JointGraph& graph,
                                                const std::vector<int>& agent, int k) {
  const auto by_label = [&](std::vector<int> nodes) {
    std::sort(nodes.begin(), nodes.end(), [&](int a, int b) {
      return graph.nodes[static_cast<std::size_t>(a)].label <
             graph.nodes[static_cast<std::size_t>(b)].label;
    });
    return nodes;
  };
  std::set<int> explored(agent.begin(), agent.end());
  std::vector<std::vector<int>> levels = {by_label(agent)};
  std::set<int> frontier = explored;
  for (int d = 1; d <= k; ++d) {
    std::set<int> next;
    for (int node : frontier)
      for (const auto& edge : graph.hyperedges)
        if (std::find(edge.begin(), edge.end(), node) != edge.end())
          for (int other : edge)
            if (!explored.count(other)) next.insert(other);
    explored.insert(next.begin(), next.end());
    levels.push_back(by_label({next.begin(), next.end()}));
    frontier = std::move(next);
  }
  return levels;
}

std::vector<ObservedValue> agent_observation(const JointGraph& graph, const std::vector<int>& agent,
                                             int k) {
  std::vector<ObservedValue> out;
  std::set<int> bodies_seen;
  const auto levels = nodes_by_distance(graph, agent, k);
  for (std::size_t d = 0; d < levels.size(); ++d) {
    const auto& categories =
        graph.categories_by_distance[std::min(d, graph.categories_by_distance.size() - 1)];
    for (int n : levels[d]) {
      const JointNode& node = graph.nodes[static_cast<std::size_t>(n)];
      for (JointSource c : categories) {
        if (c == kQpos) out.push_back({kQpos, node.qpos});
        if (c == kQvel) out.push_back({kQvel, node.qvel, graph.velocity_clip});
        if (c == kCfrcExt)
          for (int body : node.bodies)
            if (bodies_seen.insert(body).second)
              for (int i = 0; i < 6; ++i)
                out.push_back({kCfrcExt, 6 * body + i, graph.cfrc_ext_clip});
      }
    }
  }
  for (int i : graph.global_qpos) out.push_back({kQpos, i});
  for (int i : graph.global_qvel) out.push_back({kQvel, i, graph.velocity_clip});
  return out;
}

}  // namespace trustrl::envs
