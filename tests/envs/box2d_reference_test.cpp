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
// - BipedalWalker's ten steps: the hull's motion (obs 0-3) stays within 0.009, the lidar within
//   0.002, the reward within 0.013 (kWalkerSteps, 0.03, leaves 2x room or more); the ground
//   contact flags are the same at every step.
// - The walkers' joints (obs 4-7, 9-12) near their limits: 2.3 decides a revolute joint's limit
//   state once, from the angle at the start of a step, and lets a joint that starts inside its
//   limits pass them within the step; 2.4 holds it (a speculative limit). Whether a knee that
//   ends up near its limit is stopped there or carried 0.1-0.5 rad past, with its speed 0 or
//   full, therefore depends on which side of the limit a difference of 0.003 rad left it (seen in
//   this data, episode 2 step 7): no tolerance short of the whole range covers that. So the joint
//   readings of a step are compared only when, on the recorded side, every hip and knee is more
//   than kLimitMargin inside its limits at the start and at the end of the step (farther than
//   a step's drift of 0.02 between the two, closer than a knee's 0.12 rad of motor travel in a
//   step). There the two solve the same motor and point constraints: measured 0.018 apart at most
//   (the knee angles, an offset the first step's ground contact leaves), speeds 0.012;
//   kWalkerJoints (0.05) leaves 2.7x room. The knees start 0.04 from their upper limit, so the
//   first step is never compared; 15 of the 30 BipedalWalker-v3 steps are.
constexpr double kFirstObs = 1e-3;
constexpr double kLanderSteps = 5e-3;
constexpr double kWalkerSteps = 0.03;
constexpr double kMultiWalkerLidar = 0.1;
constexpr double kWalkerJoints = 0.05;
constexpr double kLimitMargin = 0.05;

void expect_close(double got, double want, double tolerance, const std::string& where) {
  EXPECT_LE(std::fabs(got - want), tolerance) << where << ": got " << got << ", want " << want;
}

bool is_joint_reading(std::size_t k) { return (k >= 4 && k <= 7) || (k >= 9 && k <= 12); }

// Which observations of a step are compared, and how closely (see the tolerances above);
// `joints_clear`: whether the step's joint readings are compared (joints_clear_of_limits).
double step_tolerance(bool walker, std::size_t k, bool joints_clear = false) {
  if (!walker) return kLanderSteps;
  if (k == 8 || k == 13) return 0.0;  // ground contacts
  if (is_joint_reading(k)) return joints_clear ? kWalkerJoints : -1.0;
  return kWalkerSteps;
}

// Whether every hip and knee of a walker observation is more than kLimitMargin inside its limits
// (walker_body.cpp: hips [-0.8, 1.1], knees [-1.6, -0.1]; obs 4 and 9 are the hip angles, obs 6
// and 11 the knee angles + 1).
bool joints_clear_of_limits(const std::vector<double>& obs) {
  auto clear = [](double angle, double lower, double upper) {
    return angle > lower + kLimitMargin && angle < upper - kLimitMargin;
  };
  return clear(obs[4], -0.8, 1.1) && clear(obs[9], -0.8, 1.1) && clear(obs[6] - 1.0, -1.6, -0.1) &&
         clear(obs[11] - 1.0, -1.6, -0.1);
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
  int steps_checked = 0, joint_steps_checked = 0;
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
    std::vector<double> before = initial;
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
      const bool joints_clear =
          walker && joints_clear_of_limits(before) && joints_clear_of_limits(want);
      joint_steps_checked += joints_clear ? 1 : 0;
      for (std::size_t k = 0; k < obs.size(); ++k)
        if (const double tolerance = step_tolerance(walker, k, joints_clear); tolerance >= 0.0)
          expect_close(obs[k], want[k], tolerance, where + " obs[" + std::to_string(k) + "]");
      before = want;
      expect_close(r.reward, step.at("reward").get<double>(), walker ? kWalkerSteps : kLanderSteps,
                   where + " reward");
      ASSERT_EQ(r.terminated, step.at("terminated").get<bool>()) << where;
      ASSERT_EQ(r.truncated, step.at("truncated").get<bool>()) << where;
      ++steps_checked;
    }
  }
  EXPECT_EQ(steps_checked, 30);
  if (walker) {
    EXPECT_GE(joint_steps_checked, 10) << "too few steps with the joints clear of their limits";
  }
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

// BipedalWalker-v3-free-knees.json: the same protocol with the knee commands as drawn, so a
// knee that starts 0.04 rad below its upper limit (-0.1) is straightened in the first step.
// Gymnasium (Box2D 2.3) carries knee 0 of each episode 0.57-0.82 rad past that limit. The
// default, Box2D 2.4's rule, holds it (measured: 0.7 below the limit); joint_limits: box2d_2.3
// lets it overshoot as 2.3 does (measured 0.54-0.55 past; the rest of the gap is 2.4's contact
// and position solving, docs/BOX2D.md).
TEST(Box2DReference, JointLimitsChooseWhetherAKneePassesItsLimitAsOnBox2D23) {
  const json ref = load("BipedalWalker-v3-free-knees");
  const double upper = -0.1;  // the knees' upper limit (walker_body.cpp)
  auto held = make("BipedalWalker-v3");
  auto as_23 = make("BipedalWalker-v3", {{"joint_limits", "box2d_2.3"}});
  std::vector<float> obs_held(24), obs_23(24);
  int overshoots = 0;
  for (const json& episode : ref.at("episodes")) {
    const auto seed = episode.at("seed").get<std::uint64_t>();
    const auto action = episode.at("steps").at(0).at("action").get<std::vector<float>>();
    const auto want = episode.at("steps").at(0).at("obs").get<std::vector<double>>();
    held->reset(seed, obs_held);
    as_23->reset(seed, obs_23);
    held->step({{}, action}, obs_held);
    as_23->step({{}, action}, obs_23);
    for (std::size_t knee : {6u, 11u}) {
      if (want[knee] - 1.0 < upper + 0.3) continue;  // Gymnasium's knee did not pass its limit
      ++overshoots;
      const std::string where = "episode " + std::to_string(seed) + " obs[" + std::to_string(knee) +
                                "], Gymnasium " + std::to_string(want[knee]);
      EXPECT_LT(obs_held[knee] - 1.0, upper + b2_angularSlop) << where;
      EXPECT_GT(obs_23[knee] - 1.0, upper + 0.3) << where;
    }
  }
  EXPECT_EQ(overshoots, 3);
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
