// Compares the Box2D envs with Gymnasium 1.4.0 on pybox2d 2.3.10 (Box2D 2.3), from data recorded
// by tests/data/reference/record_box2d.py. The recorder made Gymnasium draw from trustrl's own
// generator, so make(id)->reset(k) builds the recorded world (terrain, push, engine dispersion);
// then the first observation and ten steps of recorded actions are compared (to the tolerances
// below), and each revolute joint's reference angle exactly.

#include <box2d/box2d.h>
#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <nlohmann/json.hpp>

#include "envs/box2d/bipedal_walker.h"
#include "envs/box2d/lunar_lander.h"
#include "envs/box2d/multiwalker.h"
#include "envs/registry.h"

namespace trustrl::envs {
namespace {

using nlohmann::json;

json load(const std::string& name) {
  std::ifstream in(std::string(TRUSTRL_TEST_DATA_DIR) + "/reference/" + name + ".json");
  EXPECT_TRUE(in.good()) << "missing reference file for " << name;
  return json::parse(in);
}

// Tolerances. trustrl links Debian's Box2D 2.4, Gymnasium runs pybox2d's 2.3, and the two solve
// the same world differently (measured on the recorded data, this file's worst cases):
// - The first observation comes out of one step from the freshly built world: 2e-6 apart for the
//   walkers, 2e-4 for the lander's velocities. kFirstObs is 5x that; the hip angle error the
//   missing reference angle caused was 0.05, 50x.
// - LunarLander's ten steps: 1.9e-3 apart at most; kLanderSteps leaves 2.5x room.
// - BipedalWalker's ten steps: 2.3 decides a revolute joint's limit state once at the start of a
//   step and lets the joint pass the limit within it; 2.4 keeps it in (a speculative limit). The
//   knees start just below their upper limit, so from the first step the knee angles and speeds
//   differ by up to 0.55 and the hip speeds by 0.08. Those (obs 4-7, 9-12) are compared only in
//   the first observation. The hull's motion (obs 0-3) stays within 0.009, the lidar within
//   0.002, the reward within 0.013 (kWalkerSteps, 0.03, leaves 2x room or more); the ground contact
//   flags are the same at every step.
// - MultiWalker's ten steps: as BipedalWalker's (hull within 0.012, noisy neighbour and package
//   readings within 0.001), but its lidar also sees the other walkers' legs, whose joints differ
//   as above: lidar within 0.044, kMultiWalkerLidar (0.1) leaves 2x room.
// (The recorder's knee commands only bend the knees: commands that straighten them make 2.3's
// knees overshoot their limit by 0.5 rad in one step, a 2.3 artefact no tolerance could cover.)
constexpr double kFirstObs = 1e-3;
constexpr double kLanderSteps = 5e-3;
constexpr double kWalkerSteps = 0.03;
constexpr double kMultiWalkerLidar = 0.1;

void expect_close(double got, double want, double tolerance, const std::string& where) {
  EXPECT_LE(std::fabs(got - want), tolerance) << where << ": got " << got << ", want " << want;
}

// Which observations of a step are compared, and how closely (see the tolerances above).
double step_tolerance(bool walker, std::size_t k) {
  if (!walker) return kLanderSteps;
  if (k == 8 || k == 13) return 0.0;                           // ground contacts
  if ((k >= 4 && k <= 7) || (k >= 9 && k <= 12)) return -1.0;  // joints: not compared
  return kWalkerSteps;
}

// Box2D's reference angles of the env's revolute joints, in the recorder's order.
std::vector<float> reference_angles(const Env& env) {
  std::vector<float> angles;
  if (const auto* lander = dynamic_cast<const LunarLander*>(&env)) {
    for (int leg = 0; leg < 2; ++leg) {
      const b2JointEdge* edge = lander->world().leg_body(leg)->GetJointList();
      angles.push_back(static_cast<const b2RevoluteJoint*>(edge->joint)->GetReferenceAngle());
    }
  } else {
    const auto& walker = dynamic_cast<const BipedalWalker&>(env).world().walker();
    for (int j = 0; j < WalkerBody::kNumJoints; ++j)
      angles.push_back(walker.joint(j)->GetReferenceAngle());
  }
  return angles;
}

struct Case {
  std::string file;
  std::string id;
  OptionMap options;
};

void PrintTo(const Case& c, std::ostream* os) { *os << c.file; }

class Box2DReference : public testing::TestWithParam<Case> {};

TEST_P(Box2DReference, MatchesGymnasiumOnBox2D23) {
  const Case& c = GetParam();
  const json ref = load(c.file);
  auto env = make(c.id, c.options);
  EXPECT_EQ(env->spec().max_episode_steps, ref.at("max_episode_steps").get<int>());
  std::vector<float> obs(static_cast<std::size_t>(env->obs_dim()));
  const bool walker = dynamic_cast<const BipedalWalker*>(env.get()) != nullptr;
  int steps_checked = 0;
  for (const json& episode : ref.at("episodes")) {
    const auto seed = episode.at("seed").get<std::uint64_t>();
    const std::string ep = c.file + " episode " + std::to_string(seed);
    env->reset(seed, obs);
    const auto want_angles = episode.at("reference_angles").get<std::vector<double>>();
    const std::vector<float> angles = reference_angles(*env);
    ASSERT_EQ(angles.size(), want_angles.size()) << ep;
    for (std::size_t j = 0; j < angles.size(); ++j)
      EXPECT_EQ(angles[j], static_cast<float>(want_angles[j])) << ep << " joint " << j;
    const auto initial = episode.at("initial_obs").get<std::vector<double>>();
    for (std::size_t k = 0; k < obs.size(); ++k)
      expect_close(obs[k], initial[k], kFirstObs, ep + " initial obs[" + std::to_string(k) + "]");
    int t = 0;
    for (const json& step : episode.at("steps")) {
      const std::string where = ep + " step " + std::to_string(t++);
      StepResult r;
      if (env->spec().action_space.is_discrete()) {
        const std::vector<std::int64_t> a{step.at("action").get<std::int64_t>()};
        r = env->step({a, {}}, obs);
      } else {
        const auto a = step.at("action").get<std::vector<float>>();
        r = env->step({{}, a}, obs);
      }
      const auto want = step.at("obs").get<std::vector<double>>();
      for (std::size_t k = 0; k < obs.size(); ++k)
        if (const double tolerance = step_tolerance(walker, k); tolerance >= 0.0)
          expect_close(obs[k], want[k], tolerance, where + " obs[" + std::to_string(k) + "]");
      expect_close(r.reward, step.at("reward").get<double>(), walker ? kWalkerSteps : kLanderSteps,
                   where + " reward");
      ASSERT_EQ(r.terminated, step.at("terminated").get<bool>()) << where;
      ASSERT_EQ(r.truncated, step.at("truncated").get<bool>()) << where;
      ++steps_checked;
    }
  }
  EXPECT_EQ(steps_checked, 30);
}

// PettingZoo's multiwalker_v9 (commit 369c979fa) on pybox2d 2.3.10, recorded the same way (each
// walker's push drawn from trustrl's stream, the observation noise from its normal()).
// PettingZoo's reset does not step the world, so the first observations are the built world:
// equal to float32 rounding but for the noise, which is computed in double on both sides.
TEST(Box2DReference, MultiWalkerMatchesPettingZooOnBox2D23) {
  const json ref = load("multiwalker_v9");
  auto env = make_multi_agent("multiwalker_v9");
  const MultiAgentSpec& spec = env->spec();
  const auto& walkers = dynamic_cast<const MultiWalker&>(*env);
  const auto n = static_cast<std::size_t>(spec.num_agents());
  const auto width = static_cast<std::size_t>(spec.max_obs_dim());
  std::vector<float> obs(n * width), state(static_cast<std::size_t>(spec.state_dim()));
  std::vector<std::uint8_t> active(n);
  std::vector<double> rewards(n);
  const MultiAgentView view{obs, state, active};
  auto expect_rows = [&](const json& want, bool first, const std::string& where) {
    for (std::size_t a = 0; a < n; ++a) {
      const auto w = want.at(spec.agent_names[a]).get<std::vector<double>>();
      ASSERT_EQ(w.size(), width);
      for (std::size_t k = 0; k < width; ++k) {
        const bool lidar = k >= 14 && k < 24;
        const double tolerance = first ? 1e-6 : lidar ? kMultiWalkerLidar : step_tolerance(true, k);
        if (tolerance >= 0.0)
          expect_close(obs[a * width + k], w[k], tolerance,
                       where + " " + spec.agent_names[a] + " obs[" + std::to_string(k) + "]");
      }
    }
  };
  int steps_checked = 0;
  for (const json& episode : ref.at("episodes")) {
    const auto seed = episode.at("seed").get<std::uint64_t>();
    const std::string ep = "multiwalker_v9 episode " + std::to_string(seed);
    ASSERT_EQ(episode.at("agents").get<std::vector<std::string>>(), spec.agent_names);
    env->reset(seed, view);
    const auto want_angles = episode.at("reference_angles").get<std::vector<double>>();
    ASSERT_EQ(want_angles.size(), n * WalkerBody::kNumJoints);
    for (std::size_t i = 0; i < n; ++i)
      for (int j = 0; j < WalkerBody::kNumJoints; ++j)
        EXPECT_EQ(walkers.world().walker(static_cast<int>(i)).joint(j)->GetReferenceAngle(),
                  static_cast<float>(want_angles[i * WalkerBody::kNumJoints + j]))
            << ep << " walker " << i << " joint " << j;
    expect_rows(episode.at("initial_obs"), true, ep + " initial");
    int t = 0;
    for (const json& step : episode.at("steps")) {
      const std::string where = ep + " step " + std::to_string(t++);
      std::vector<float> actions(n * static_cast<std::size_t>(spec.max_action_dim()));
      for (std::size_t a = 0; a < n; ++a) {
        const auto v = step.at("actions").at(spec.agent_names[a]).get<std::vector<float>>();
        std::copy(v.begin(), v.end(), actions.begin() + static_cast<std::ptrdiff_t>(a * v.size()));
      }
      const MultiAgentStepResult r = env->step({{}, actions}, view, rewards);
      expect_rows(step.at("obs"), false, where);
      for (std::size_t a = 0; a < n; ++a) {
        const std::string& name = spec.agent_names[a];
        expect_close(rewards[a], step.at("rewards").at(name).get<double>(), kWalkerSteps,
                     where + " reward of " + name);
        ASSERT_EQ(r.terminated, step.at("terminated").at(name).get<bool>()) << where;
      }
      ++steps_checked;
    }
  }
  EXPECT_EQ(steps_checked, 30);
}

INSTANTIATE_TEST_SUITE_P(
    Gymnasium, Box2DReference,
    testing::Values(Case{"LunarLander-v3", "LunarLander-v3", {}},
                    Case{"LunarLanderContinuous-v3", "LunarLander-v3", {{"continuous", "true"}}},
                    Case{"BipedalWalker-v3", "BipedalWalker-v3", {}},
                    Case{"BipedalWalker-v3-hardcore", "BipedalWalker-v3", {{"hardcore", "true"}}},
                    Case{"BipedalWalkerHardcore-v3", "BipedalWalkerHardcore-v3", {}}),
    [](const testing::TestParamInfo<Case>& param_info) {
      std::string n = param_info.param.file;
      for (char& c : n)
        if (!std::isalnum(static_cast<unsigned char>(c))) c = '_';
      return n;
    });

}  // namespace
}  // namespace trustrl::envs
