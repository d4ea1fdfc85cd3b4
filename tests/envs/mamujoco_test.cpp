// Multi-Agent MuJoCo (envs/mujoco/multi_agent_mujoco.h, joint_graph.h): each partition gives
// every actuator to exactly one agent, an agent's observation holds MaMuJoCo's values at the
// documented positions (written out by hand here from obsk.py's rules), k changes the sizes as
// the joint graph says, the team reward and the flags are the single-agent env's for the joined
// action, and bad agent_conf / agent_obsk / models are refused in one line. The conformance suite
// runs the registered ids and their option variants.

#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <set>

#include "core/error.h"
#include "core/rng.h"
#include "envs/mujoco/ant.h"
#include "envs/mujoco/embedded_models.h"
#include "envs/mujoco/joint_graph.h"
#include "envs/mujoco/multi_agent_mujoco.h"
#include "envs/registry.h"

namespace trustrl::envs {
namespace {

namespace fs = std::filesystem;

// One Multi-Agent MuJoCo env with its buffers.
struct Harness {
  explicit Harness(const std::string& id, const OptionMap& options = {})
      : env(make_multi_agent(id, options)) {
    const MultiAgentSpec& s = env->spec();
    obs.resize(static_cast<std::size_t>(s.num_agents() * s.max_obs_dim()));
    state.resize(static_cast<std::size_t>(s.state_dim()));
    active.resize(static_cast<std::size_t>(s.num_agents()));
    rewards.resize(static_cast<std::size_t>(s.num_agents()));
  }
  MultiAgentView view() { return {obs, state, active}; }
  const MultiAgentMujoco& mamujoco() const { return dynamic_cast<const MultiAgentMujoco&>(*env); }
  std::vector<float> obs_of(int a) const {
    const auto w = static_cast<std::size_t>(env->spec().max_obs_dim());
    const auto d = static_cast<std::size_t>(env->spec().obs_dim(a));
    return {obs.begin() + static_cast<std::ptrdiff_t>(a * w),
            obs.begin() + static_cast<std::ptrdiff_t>(a * w + d)};
  }
  std::unique_ptr<MultiAgentEnv> env;
  std::vector<float> obs, state;
  std::vector<std::uint8_t> active;
  std::vector<double> rewards;
};

struct Partition {
  std::string id, conf;
  std::vector<int> action_dims;
  std::vector<int> obs_dims_k0, obs_dims_k1;
  int state_dim = 17;
};

// Sizes from MaMuJoCo's rules: 2 values (qpos, qvel) per own joint, 1 (qpos) per joint at
// distance 1, then the root's 2 qpos and 3 qvel (Ant: 5 and 6); Ant's own joints add 6 forces per
// body they touch (2x4: 7 bodies, 4x2: 4).
const std::vector<Partition>& partitions() {
  static const std::vector<Partition> p = {
      {"mamujoco_v1/HalfCheetah", "2x3", {3, 3}, {11, 11}, {12, 12}},
      {"mamujoco_v1/HalfCheetah",
       "6x1",
       {1, 1, 1, 1, 1, 1},
       {7, 7, 7, 7, 7, 7},
       {9, 9, 8, 9, 9, 8}},
      {"mamujoco_v1/Hopper", "3x1", {1, 1, 1}, {7, 7, 7}, {8, 9, 8}, 11},
      {"mamujoco_v1/Walker2d", "2x3", {3, 3}, {11, 11}, {12, 12}},
      {"mamujoco_v1/Ant", "2x4", {4, 4}, {61, 61}, {63, 63}, 105},
      {"mamujoco_v1/Ant", "2x4d", {4, 4}, {61, 61}, {63, 63}, 105},
      {"mamujoco_v1/Ant", "4x2", {2, 2, 2, 2}, {39, 39, 39, 39}, {42, 42, 42, 42}, 105},
  };
  return p;
}

// A state whose every qpos and qvel value differs: qpos[i] = 0.01 + 0.1 i, qvel[i] = -(0.03 +
// 0.2 i) (small enough for Hopper's clip not to bite).
std::vector<double> distinct_state(const Env& single) {
  const auto n = single.get_state().size() / 3;  // [qpos, qvel, warm start], nq == nv here
  std::vector<double> s;
  for (std::size_t i = 0; i < n; ++i) s.push_back(0.01 + 0.1 * static_cast<double>(i));
  for (std::size_t i = 0; i < n; ++i) s.push_back(-(0.03 + 0.2 * static_cast<double>(i)));
  return s;
}
float qpos(std::size_t i) { return static_cast<float>(0.01 + 0.1 * static_cast<double>(i)); }
float qvel(std::size_t i) { return static_cast<float>(-(0.03 + 0.2 * static_cast<double>(i))); }

void expect_one_line_error(const std::function<void()>& f, const std::vector<std::string>& parts) {
  try {
    f();
    ADD_FAILURE() << "no error; expected one naming " << parts.front();
  } catch (const Error& e) {
    const std::string m = e.what();
    for (const auto& p : parts) EXPECT_NE(m.find(p), std::string::npos) << m;
    EXPECT_EQ(m.find('\n'), std::string::npos) << m;
  }
}

TEST(Mamujoco, PartitionsHaveTheDocumentedSpaces) {
  for (const auto& p : partitions())
    for (int k : {0, 1}) {
      Harness h(p.id, {{"agent_conf", p.conf}, {"agent_obsk", std::to_string(k)}});
      const MultiAgentSpec& s = h.env->spec();
      ASSERT_EQ(s.num_agents(), static_cast<int>(p.action_dims.size())) << p.id << " " << p.conf;
      for (int a = 0; a < s.num_agents(); ++a) {
        const auto i = static_cast<std::size_t>(a);
        EXPECT_EQ(s.agent_names[i], "agent_" + std::to_string(a));
        EXPECT_EQ(s.action_dim(a), p.action_dims[i]) << p.conf << " agent " << a;
        EXPECT_EQ(s.obs_dim(a), (k == 0 ? p.obs_dims_k0 : p.obs_dims_k1)[i])
            << p.conf << " k " << k << " agent " << a;
        const Space& act = s.action_spaces[i];
        for (std::size_t j = 0; j < act.low.size(); ++j) {
          EXPECT_EQ(act.low[j], -1.0f);
          EXPECT_EQ(act.high[j], 1.0f);
        }
      }
      EXPECT_EQ(s.state_dim(), p.state_dim);
      EXPECT_EQ(s.max_episode_steps, 1000);
      EXPECT_FALSE(s.reward_threshold.has_value());
    }
}

TEST(Mamujoco, DefaultsAreMamujocosStandardPartitionsWithOneNeighbour) {
  EXPECT_EQ(Harness("mamujoco_v1/HalfCheetah").env->spec().obs_dim(0), 12);  // 2x3, k = 1
  EXPECT_EQ(Harness("mamujoco_v1/Hopper").env->spec().num_agents(), 3);      // 3x1
}

TEST(Mamujoco, DeeperObservationsAddTheNextJointsPositions) {
  // HalfCheetah's joints form a chain bfoot - bshin - bthigh - fthigh - fshin - ffoot.
  const std::vector<int> sizes_2x3 = {11, 12, 13, 14, 14};
  for (int k = 0; k < 5; ++k)
    EXPECT_EQ(Harness("mamujoco_v1/HalfCheetah", {{"agent_obsk", std::to_string(k)}})
                  .env->spec()
                  .obs_dim(0),
              sizes_2x3[static_cast<std::size_t>(k)])
        << "k " << k;
  // A huge k is the whole graph.
  EXPECT_EQ(Harness("mamujoco_v1/HalfCheetah", {{"agent_obsk", "1000000"}}).env->spec().obs_dim(1),
            14);
}

TEST(Mamujoco, EveryActuatorBelongsToExactlyOneAgent) {
  for (const auto& p : partitions()) {
    Harness h(p.id, {{"agent_conf", p.conf}});
    const MultiAgentMujoco& m = h.mamujoco();
    std::multiset<int> actuators;
    for (int a = 0; a < m.num_agents(); ++a) {
      EXPECT_EQ(static_cast<std::int64_t>(m.agent_nodes(a).size()), m.spec().action_dim(a));
      for (int n : m.agent_nodes(a))
        actuators.insert(m.graph().nodes[static_cast<std::size_t>(n)].actuator);
    }
    const int nu = m.graph().nu;
    ASSERT_EQ(static_cast<int>(actuators.size()), nu) << p.conf;
    for (int i = 0; i < nu; ++i) EXPECT_EQ(actuators.count(i), 1u) << p.conf << " actuator " << i;
  }
}

TEST(Mamujoco, EachAgentComponentDrivesItsOwnActuator) {
  // One component pushed at a time: the multi-agent step must land exactly where the plain
  // env's step with that actuator pushed lands.
  for (const auto& p : partitions()) {
    const std::string single_id = p.id.substr(p.id.find('/') + 1) + "-v5";
    Harness h(p.id, {{"agent_conf", p.conf}});
    const MultiAgentMujoco& m = h.mamujoco();
    const auto width = static_cast<std::size_t>(m.spec().max_action_dim());
    for (int a = 0; a < m.num_agents(); ++a)
      for (std::size_t j = 0; j < m.agent_nodes(a).size(); ++j) {
        auto single = make(single_id);
        std::vector<float> single_obs(static_cast<std::size_t>(single->obs_dim()));
        single->reset(11, single_obs);
        h.env->reset(11, h.view());
        std::vector<float> joint(static_cast<std::size_t>(m.num_agents()) * width, 0.0f);
        joint[static_cast<std::size_t>(a) * width + j] = 0.8f;
        std::vector<float> plain(static_cast<std::size_t>(single->action_dim()), 0.0f);
        const int actuator =
            m.graph().nodes[static_cast<std::size_t>(m.agent_nodes(a)[j])].actuator;
        plain[static_cast<std::size_t>(actuator)] = 0.8f;
        h.env->step({{}, joint}, h.view(), h.rewards);
        single->step({{}, plain}, single_obs);
        EXPECT_EQ(h.env->get_state(), single->get_state()) << p.conf << " agent " << a << " " << j;
      }
  }
}

TEST(Mamujoco, HalfCheetahObservationsHoldTheDocumentedValues) {
  Harness h("mamujoco_v1/HalfCheetah", {{"agent_conf", "2x3"}, {"agent_obsk", "1"}});
  h.env->reset(0, h.view());
  h.env->set_state(distinct_state(h.mamujoco().single_agent_env()), h.view());
  // qpos/qvel indices: 0 rootx, 1 rootz, 2 rooty, 3 bthigh, 4 bshin, 5 bfoot, 6 fthigh, 7 fshin,
  // 8 ffoot. Own joints sorted by label, (qpos, qvel) each; then the neighbour's qpos; then the
  // root's qpos (z, angle: x left out) and qvel (x, z, angle).
  EXPECT_EQ(h.obs_of(0),
            (std::vector<float>{qpos(5), qvel(5), qpos(4), qvel(4), qpos(3), qvel(3), qpos(6),
                                qpos(1), qpos(2), qvel(0), qvel(1), qvel(2)}));
  EXPECT_EQ(h.obs_of(1),
            (std::vector<float>{qpos(8), qvel(8), qpos(7), qvel(7), qpos(6), qvel(6), qpos(3),
                                qpos(1), qpos(2), qvel(0), qvel(1), qvel(2)}));
  // The global state is HalfCheetah-v5's observation: qpos[1:], qvel.
  std::vector<float> single_obs;
  for (std::size_t i = 1; i < 9; ++i) single_obs.push_back(qpos(i));
  for (std::size_t i = 0; i < 9; ++i) single_obs.push_back(qvel(i));
  EXPECT_EQ(h.state, single_obs);

  Harness six("mamujoco_v1/HalfCheetah", {{"agent_conf", "6x1"}, {"agent_obsk", "1"}});
  six.env->reset(0, six.view());
  six.env->set_state(distinct_state(six.mamujoco().single_agent_env()), six.view());
  const std::vector<float> root = {qpos(1), qpos(2), qvel(0), qvel(1), qvel(2)};
  auto with_root = [&](std::vector<float> local) {
    local.insert(local.end(), root.begin(), root.end());
    return local;
  };
  // bthigh (agent 0): neighbours bshin and fthigh, sorted by label.
  EXPECT_EQ(six.obs_of(0), with_root({qpos(3), qvel(3), qpos(4), qpos(6)}));
  EXPECT_EQ(six.obs_of(2), with_root({qpos(5), qvel(5), qpos(4)}));           // bfoot: bshin
  EXPECT_EQ(six.obs_of(3), with_root({qpos(6), qvel(6), qpos(3), qpos(7)}));  // fthigh
  EXPECT_EQ(six.obs_of(5), with_root({qpos(8), qvel(8), qpos(7)}));           // ffoot: fshin
  // Padding past a shorter agent's observation is zero.
  const auto w = static_cast<std::size_t>(six.env->spec().max_obs_dim());
  EXPECT_EQ(six.obs[2 * w + 8], 0.0f);
}

TEST(Mamujoco, Walker2dObservationsAreUnclippedAndActionsRunFootToThigh) {
  Harness h("mamujoco_v1/Walker2d", {{"agent_obsk", "1"}});
  h.env->reset(0, h.view());
  // qpos/qvel: 0 rootx, 1 rootz, 2 rooty, 3 thigh, 4 leg, 5 foot, 6 thigh_left, 7 leg_left,
  // 8 foot_left.
  std::vector<double> s = distinct_state(h.mamujoco().single_agent_env());
  s[9 + 5] = 15.0;  // the right foot's velocity: Walker2d-v5's observation clips it, MaMuJoCo not
  h.env->set_state(s, h.view());
  const std::vector<float> root = {qpos(1), qpos(2), qvel(0), qvel(1), qvel(2)};
  auto with_root = [&](std::vector<float> local) {
    local.insert(local.end(), root.begin(), root.end());
    return local;
  };
  EXPECT_EQ(h.obs_of(0), with_root({qpos(5), 15.0f, qpos(4), qvel(4), qpos(3), qvel(3), qpos(6)}));
  EXPECT_EQ(h.obs_of(1),
            with_root({qpos(8), qvel(8), qpos(7), qvel(7), qpos(6), qvel(6), qpos(3)}));
  EXPECT_EQ(h.state[8 + 5], 10.0f);  // the global state is Walker2d-v5's clipped observation
  // MaMuJoCo's tuples (foot, leg, thigh): agent 0's first component drives actuator 2.
  const MultiAgentMujoco& m = h.mamujoco();
  EXPECT_EQ(m.graph().nodes[static_cast<std::size_t>(m.agent_nodes(0)[0])].actuator, 2);
  EXPECT_EQ(m.graph().nodes[static_cast<std::size_t>(m.agent_nodes(1)[2])].actuator, 3);
}

TEST(Mamujoco, AntObservationsHoldForcesOfTheirBodiesOnce) {
  for (const std::string conf : {"2x4", "4x2"}) {
    Harness h("mamujoco_v1/Ant", {{"agent_conf", conf}});
    const MultiAgentMujoco& m = h.mamujoco();
    h.env->reset(2, h.view());
    // Let the ant drop onto its feet, so that some forces are not zero.
    const auto width = static_cast<std::size_t>(h.env->spec().max_action_dim());
    const std::vector<float> still(static_cast<std::size_t>(h.env->spec().num_agents()) * width,
                                   0.0f);
    for (int t = 0; t < 20; ++t) h.env->step({{}, still}, h.view(), h.rewards);
    const auto q = m.sim().qpos(), v = m.sim().qvel();
    const auto forces = dynamic_cast<const Ant&>(m.single_agent_env()).cfrc_ext();
    std::vector<float> want;
    auto joint = [&](int qi, int vi, std::vector<int> bodies) {
      want.push_back(static_cast<float>(q[static_cast<std::size_t>(qi)]));
      want.push_back(static_cast<float>(v[static_cast<std::size_t>(vi)]));
      for (int b : bodies)
        for (std::size_t i = 0; i < 6; ++i)
          want.push_back(static_cast<float>(
              std::clamp(forces[6 * static_cast<std::size_t>(b) + i], -1.0, 1.0)));
    };
    auto positions = [&](std::vector<int> qi) {
      for (int i : qi) want.push_back(static_cast<float>(q[static_cast<std::size_t>(i)]));
    };
    auto root = [&] {
      positions({2, 3, 4, 5, 6});
      for (std::size_t i = 0; i < 6; ++i) want.push_back(static_cast<float>(v[i]));
    };
    // Bodies: 1 torso; legs 2-4 (front left), 5-7, 8-10, 11-13 (right back). Joints (qpos,
    // qvel): hip1 (7, 6), ankle1 (8, 7), hip2 (9, 8), ankle2 (10, 9), hip3 (11, 10), ankle3
    // (12, 11), hip4 (13, 12), ankle4 (14, 13). Own joints by label: ankles before hips.
    if (conf == "2x4") {
      joint(8, 7, {2, 3, 4});   // ankle1
      joint(10, 9, {5, 6, 7});  // ankle2
      joint(7, 6, {1});         // hip1: front_left_leg seen already
      joint(9, 8, {});          // hip2: torso and front_right_leg seen already
      positions({11, 13});      // hip3, hip4 at distance 1 (the hips' hyperedge)
      root();
      EXPECT_EQ(h.obs_of(0), want);
    } else {
      joint(14, 13, {11, 12, 13});  // agent_3: ankle4
      joint(13, 12, {1});           // hip4
      positions({7, 9, 11});        // hip1, hip2, hip3
      root();
      EXPECT_EQ(h.obs_of(3), want);
    }
    int nonzero = 0;
    for (double f : forces) nonzero += f != 0.0;
    EXPECT_GT(nonzero, 0) << "the ant never touched the ground";
  }
}

TEST(Mamujoco, HopperObservationsClipVelocitiesAsHopperDoes) {
  Harness h("mamujoco_v1/Hopper", {{"agent_obsk", "1"}});
  h.env->reset(0, h.view());
  // qpos/qvel: 0 rootx, 1 rootz, 2 rooty, 3 thigh, 4 leg, 5 foot.
  std::vector<double> s = {0.0, 1.25, 0.05, -0.1, -0.2, 0.3, 25.0, -0.5, 11.0, -40.0, 3.0, 0.25};
  h.env->set_state(s, h.view());
  const std::vector<float> root = {1.25f, 0.05f, 10.0f, -0.5f, 10.0f};
  auto with_root = [&](std::vector<float> local) {
    local.insert(local.end(), root.begin(), root.end());
    return local;
  };
  EXPECT_EQ(h.obs_of(0), with_root({-0.1f, -10.0f, -0.2f}));      // thigh: leg
  EXPECT_EQ(h.obs_of(1), with_root({-0.2f, 3.0f, 0.3f, -0.1f}));  // leg: foot, thigh
  EXPECT_EQ(h.obs_of(2), with_root({0.3f, 0.25f, -0.2f}));        // foot: leg
  Harness k0("mamujoco_v1/Hopper", {{"agent_obsk", "0"}});
  k0.env->reset(0, k0.view());
  k0.env->set_state(s, k0.view());
  EXPECT_EQ(k0.obs_of(1), with_root({-0.2f, 3.0f}));
}

TEST(Mamujoco, GlobalObservationGivesEveryAgentTheState) {
  Harness h("mamujoco_v1/HalfCheetah", {{"agent_observation", "global"}});
  EXPECT_EQ(h.env->spec().obs_dim(0), 17);
  EXPECT_EQ(h.env->spec().obs_dim(1), 17);
  h.env->reset(4, h.view());
  const std::vector<float> joint = {0.5f, -0.5f, 0.2f, 0.1f, 0.9f, -1.0f};
  h.env->step({{}, joint}, h.view(), h.rewards);
  EXPECT_EQ(h.obs_of(0), h.state);
  EXPECT_EQ(h.obs_of(1), h.state);
  EXPECT_TRUE(h.mamujoco().observation_layout(0).empty());
}

TEST(Mamujoco, TeamRewardAndFlagsAreTheSingleAgentEnvsForTheJoinedAction) {
  for (const auto& p : partitions()) {
    const std::string single_id = p.id.substr(p.id.find('/') + 1) + "-v5";
    Harness h(p.id, {{"agent_conf", p.conf}});
    const MultiAgentMujoco& m = h.mamujoco();
    auto single = make(single_id);
    std::vector<float> single_obs(static_cast<std::size_t>(single->obs_dim()));
    // A seeded reset starts where the plain env's reset with that seed starts.
    h.env->reset(5, h.view());
    single->reset(5, single_obs);
    ASSERT_EQ(h.state, single_obs) << p.conf;
    Rng rng(9);
    const auto width = static_cast<std::size_t>(m.spec().max_action_dim());
    int steps = 0, episodes = 0;
    for (int t = 0; t < 300; ++t) {
      std::vector<float> joint(static_cast<std::size_t>(m.num_agents()) * width, 0.0f);
      std::vector<float> plain(static_cast<std::size_t>(single->action_dim()), 0.0f);
      for (int a = 0; a < m.num_agents(); ++a)
        for (std::size_t j = 0; j < m.agent_nodes(a).size(); ++j) {
          // Out-of-range values too: both envs clip the same way and cost the same.
          const auto v = static_cast<float>(rng.uniform(-1.3, 1.3));
          joint[static_cast<std::size_t>(a) * width + j] = v;
          plain[static_cast<std::size_t>(
              m.graph().nodes[static_cast<std::size_t>(m.agent_nodes(a)[j])].actuator)] = v;
        }
      const auto r = h.env->step({{}, joint}, h.view(), h.rewards);
      const auto s = single->step({{}, plain}, single_obs);
      ++steps;
      for (double reward : h.rewards) ASSERT_EQ(reward, s.reward) << p.conf << " step " << t;
      ASSERT_EQ(h.state, single_obs) << p.conf << " step " << t;
      ASSERT_EQ(r.terminated, s.terminated) << p.conf << " step " << t;
      ASSERT_EQ(r.truncated, s.truncated) << p.conf << " step " << t;
      for (auto a : h.active) EXPECT_EQ(a, 1);
      if (r.terminated || r.truncated) {
        ++episodes;
        h.env->reset(std::nullopt, h.view());
        single->reset(std::nullopt, single_obs);
        ASSERT_EQ(h.state, single_obs) << p.conf << " unseeded reset";
      }
    }
    EXPECT_EQ(steps, 300);
    // Random Hopper episodes end within some tens of steps: terminations were compared too.
    if (p.id == "mamujoco_v1/Hopper") {
      EXPECT_GT(episodes, 1);
    }
  }
}

TEST(Mamujoco, BadPartitionsAndDepthsAreRefusedInOneLine) {
  expect_one_line_error(
      [] {
        make_multi_agent("mamujoco_v1/HalfCheetah", {{"agent_conf", "3x2"}});
      },
      {"mamujoco_v1/HalfCheetah", "agent_conf", "'3x2'", "2x3, 6x1"});
  expect_one_line_error(
      [] {
        make_multi_agent("mamujoco_v1/Hopper", {{"agent_conf", "2x3"}});
      },
      {"mamujoco_v1/Hopper", "agent_conf", "'2x3'", "3x1"});
  expect_one_line_error(
      [] {
        make_multi_agent("mamujoco_v1/HalfCheetah", {{"agent_conf", ""}});
      },
      {"agent_conf", "''"});
  expect_one_line_error(
      [] {
        make_multi_agent("mamujoco_v1/HalfCheetah", {{"agent_obsk", "-1"}});
      },
      {"mamujoco_v1/HalfCheetah", "agent_obsk", "-1"});
  expect_one_line_error(
      [] {
        make_multi_agent("mamujoco_v1/HalfCheetah", {{"agent_obsk", "1.5"}});
      },
      {"agent_obsk", "whole number"});
  expect_one_line_error(
      [] {
        make_multi_agent("mamujoco_v1/HalfCheetah", {{"agent_obsk", "one"}});
      },
      {"agent_obsk", "'one'"});
  expect_one_line_error(
      [] {
        make_multi_agent("mamujoco_v1/Hopper", {{"agent_count", "3"}});
      },
      {"agent_count", "agent_conf", "agent_obsk"});
  expect_one_line_error([] { (void)joint_graph("Swimmer"); }, {"Swimmer", "HalfCheetah, Hopper"});
}

TEST(Mamujoco, SingleAgentOptionsPassThroughAndAModelMustFitTheGraph) {
  // HalfCheetah-v5's options reach the wrapped env (MaMuJoCo passes its kwargs to gymnasium.make).
  Harness with_x("mamujoco_v1/HalfCheetah",
                 {{"exclude_current_positions_from_observation", "false"}});
  EXPECT_EQ(with_x.env->spec().state_dim(), 18);
  EXPECT_EQ(with_x.env->spec().obs_dim(0), 12);
  Harness costly("mamujoco_v1/HalfCheetah", {{"ctrl_cost_weight", "2"}});
  costly.env->reset(1, costly.view());
  const std::vector<float> joint(6, 1.0f);  // 2 agents x 3
  costly.env->step({{}, joint}, costly.view(), costly.rewards);
  EXPECT_LT(costly.rewards[0], -10.0);  // 2 * 6 units of control cost against a small dx/dt

  // A model of another robot is refused, naming both sizes.
  const fs::path file = fs::temp_directory_path() /
                        ("trustrl_mamujoco_" + std::to_string(::getpid()) + "_hopper.xml");
  std::ofstream(file) << embedded_model("hopper.xml");
  expect_one_line_error(
      [&] {
        make_multi_agent("mamujoco_v1/HalfCheetah", {{"xml_file", file.string()}});
      },
      {"mamujoco_v1/HalfCheetah", "nq 6", "nq 9"});
  fs::remove(file);
}

TEST(Mamujoco, SaveAndLoadContinueExactly) {
  // Ant's observed forces are the step's, kept in its state: a loaded copy must observe them too.
  for (const std::string id : {"mamujoco_v1/Hopper", "mamujoco_v1/Ant"}) {
    Harness a(id), b(id);
    a.env->reset(3, a.view());
    const auto width = static_cast<std::size_t>(a.env->spec().max_action_dim());
    std::vector<float> joint(static_cast<std::size_t>(a.env->num_agents()) * width);
    for (std::size_t i = 0; i < joint.size(); ++i)
      joint[i] = 0.3f - 0.1f * static_cast<float>(i % 5);
    // Hopper's episode lasts longer than 5 such steps; by step 20 the ant stands on its feet.
    const int before = id == "mamujoco_v1/Ant" ? 20 : 5;
    for (int t = 0; t < before; ++t) a.env->step({{}, joint}, a.view(), a.rewards);
    ByteWriter w;
    a.env->save(w);
    ByteReader r(w.bytes(), "a mamujoco snapshot");
    b.env->load(r, b.view());
    EXPECT_EQ(b.obs, a.obs) << id;
    EXPECT_EQ(b.state, a.state) << id;
    EXPECT_EQ(b.env->elapsed_steps(), before) << id;
    for (int t = 0; t < 5; ++t) {
      const auto ra = a.env->step({{}, joint}, a.view(), a.rewards);
      const auto rb = b.env->step({{}, joint}, b.view(), b.rewards);
      EXPECT_EQ(ra.terminated, rb.terminated) << id;
      EXPECT_EQ(a.rewards, b.rewards) << id;
      EXPECT_EQ(a.obs, b.obs) << id;
      if (ra.terminated) break;
    }
  }
}

}  // namespace
}  // namespace trustrl::envs
