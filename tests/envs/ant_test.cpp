// Ant-v5 and -v4 (envs/mujoco/ant.h): spaces, one step's reward decomposition (forward from the
// main body's frame, contact cost from the clipped external forces) checked by hand, the closed
// healthy range, -v4's options, reset noise and the exact state round trip. The conformance suite
// runs both as registered ids.

#include "envs/mujoco/ant.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <tuple>

#include "core/error.h"
#include "envs/registry.h"
#include "tests/envs/mujoco_test_util.h"

namespace trustrl::envs {
namespace {

constexpr int kNq = 15, kNv = 14, kBodies = 14;

// At rest, level, at height z: qpos [x, y, z, quaternion, 8 joints], qvel 14 zeros.
std::vector<double> resting(double z) {
  std::vector<double> qpos(kNq, 0.0);
  qpos[2] = z;
  qpos[3] = 1.0;
  return qpos_qvel(qpos, std::vector<double>(kNv, 0.0));
}

// Steps `env` with a fixed gait-like action until its legs press on the floor.
void walk(Env& env, std::span<float> obs, int steps) {
  const float action[8] = {0.5f, -0.5f, 0.5f, 0.5f, -0.5f, 0.5f, -0.5f, -0.5f};
  for (int t = 0; t < steps; ++t) env.step({{}, action}, obs);
}

TEST(Ant, HasGymnasiumsSpaces) {
  auto env = make("Ant-v5");
  EXPECT_EQ(env->obs_dim(), 105);  // 13 + 14 + 13 x 6
  EXPECT_EQ(env->action_dim(), 8);
  EXPECT_EQ(env->spec().max_episode_steps, 1000);
  EXPECT_EQ(env->spec().reward_threshold, 6000.0);
  EXPECT_EQ(env->spec().render_fps, 20);  // 1 / (5 * 10 ms)
  const Space& a = env->spec().action_space;
  EXPECT_TRUE(std::all_of(a.low.begin(), a.low.end(), [](float v) { return v == -1.0f; }));
  EXPECT_TRUE(std::all_of(a.high.begin(), a.high.end(), [](float v) { return v == 1.0f; }));
  EXPECT_EQ(make("Ant-v5", {{"exclude_current_positions_from_observation", "false"}})->obs_dim(),
            107);
  EXPECT_EQ(make("Ant-v5", {{"include_cfrc_ext_in_observation", "false"}})->obs_dim(), 27);
  EXPECT_EQ(make("Ant-v4")->obs_dim(), 27);
  EXPECT_EQ(make("Ant-v4", {{"use_contact_forces", "true"}})->obs_dim(), 111);  // world's too
  EXPECT_EQ(make("Ant-v4")->spec().render_fps, 20);
}

TEST(Ant, OneStepRewardIsForwardPlusHealthyMinusControlAndContact) {
  auto env = make_env<Ant>("Ant-v5");
  auto obs = obs_for(*env);
  env->reset(7, obs);
  walk(*env, obs, 20);
  const float action[8] = {0.5f, -0.3f, 2.0f, 0.1f, -1.0f, 0.0f, 0.7f, -0.2f};
  double ctrl_cost = 0.0;  // on the action as given, 2.0 included
  for (float a : action) ctrl_cost += 0.5 * static_cast<double>(a) * a;
  const MujocoSim& sim = env->sim();
  int pressing = 0;
  for (int t = 0; t < 10 && !env->needs_reset(); ++t) {
    // The forward term reads the torso frame as MuJoCo last computed it (Gymnasium's
    // data.body(1).xpos), not qpos.
    const double x_before = sim.xpos()[3], y_before = sim.xpos()[4];
    const StepResult r = env->step({{}, action}, obs);
    const double x_velocity = (sim.xpos()[3] - x_before) / (5 * 0.01);
    const double y_velocity = (sim.xpos()[4] - y_before) / (5 * 0.01);
    double contact = 0.0;
    bool clipped = false;
    for (double f : sim.cfrc_ext()) {
      contact += std::pow(std::clamp(f, -1.0, 1.0), 2);
      clipped = clipped || std::abs(f) > 1.0;
    }
    pressing += clipped;
    ASSERT_NE(x_velocity, 0.0);
    ASSERT_NEAR(env->info().x_velocity, x_velocity, 1e-12);
    ASSERT_NEAR(env->info().y_velocity, y_velocity, 1e-12);
    ASSERT_NEAR(env->info().reward_forward, x_velocity, 1e-12);
    ASSERT_NEAR(env->info().reward_ctrl, -ctrl_cost, 1e-12);
    ASSERT_NEAR(env->info().reward_contact, -5e-4 * contact, 1e-12);
    ASSERT_EQ(env->info().reward_survive, r.terminated ? 0.0 : 1.0);
    ASSERT_EQ(env->info().x_position, sim.qpos()[0]);
    ASSERT_NEAR(r.reward, x_velocity + env->info().reward_survive - ctrl_cost - 5e-4 * contact,
                1e-9);
    // Observation: qpos[2:], qvel, then the clipped forces of bodies 1..13.
    for (int i = 0; i < 13; ++i) ASSERT_EQ(obs[i], static_cast<float>(sim.qpos()[i + 2])) << i;
    for (int i = 0; i < 14; ++i) ASSERT_EQ(obs[13 + i], static_cast<float>(sim.qvel()[i])) << i;
    for (int i = 0; i < 78; ++i)
      ASSERT_EQ(obs[27 + i], static_cast<float>(std::clamp(sim.cfrc_ext()[6 + i], -1.0, 1.0))) << i;
  }
  EXPECT_GT(pressing, 0);  // some step's legs pressed on the floor harder than the clip
}

TEST(Ant, WeightsRangesAndTheMainBodyAreOptions) {
  auto env = make_env<Ant>("Ant-v5", {{"forward_reward_weight", "2"},
                                      {"ctrl_cost_weight", "0.1"},
                                      {"contact_cost_weight", "0.01"},
                                      {"contact_force_min", "-0.5"},
                                      {"contact_force_max", "2"},
                                      {"healthy_reward", "3"},
                                      {"main_body", "aux_1"}});
  EXPECT_EQ(env->main_body(), 3);  // world, torso, front_left_leg, aux_1
  auto obs = obs_for(*env);
  env->reset(7, obs);
  walk(*env, obs, 20);
  const float action[8] = {1, 0, -1, 0, 0, 0, 0, 0};
  int touching = 0;
  for (int t = 0; t < 10; ++t) {
    const double x_before = env->sim().xpos()[3 * 3];
    const StepResult r = env->step({{}, action}, obs);
    const double x_velocity = (env->sim().xpos()[3 * 3] - x_before) / env->dt();
    double contact = 0.0;
    for (double f : env->sim().cfrc_ext()) contact += std::pow(std::clamp(f, -0.5, 2.0), 2);
    touching += contact > 0;
    ASSERT_NEAR(r.reward, 2 * x_velocity + 3 - 0.1 * 2.0 - 0.01 * contact, 1e-9) << t;
  }
  EXPECT_GT(touching, 0);
  EXPECT_EQ(make_env<Ant>("Ant-v5", {{"main_body", "3"}})->main_body(), 3);
  EXPECT_EQ(make_env<Ant>("Ant-v5")->main_body(), 1);  // the torso
  for (const char* bad : {"tail", "14", "-1", "1x", ""})
    EXPECT_THROW(make("Ant-v5", {{"main_body", bad}}), Error) << bad;
  EXPECT_THROW(make("Ant-v5", {{"healthy_z_min", "1"}, {"healthy_z_max", "0.5"}}), Error);
  EXPECT_THROW(make("Ant-v5", {{"contact_force_min", "1"}, {"contact_force_max", "1"}}), Error);
  EXPECT_THROW(make("Ant-v5", {{"contact_cost_weight", "-1"}}), Error);
  EXPECT_THROW(make("Ant-v5", {{"use_contact_forces", "true"}}), Error);  // -v4's option
}

TEST(Ant, HealthyIsFiniteAndZInsideAClosedRange) {
  auto env = make_env<Ant>("Ant-v5");
  auto obs = obs_for(*env);
  env->reset(0, obs);
  const auto healthy_at = [&](double z) {
    env->set_state(resting(z), obs);
    return env->is_healthy();
  };
  EXPECT_TRUE(healthy_at(0.75));
  EXPECT_TRUE(healthy_at(0.2));  // closed, unlike Hopper's and Walker2d's
  EXPECT_TRUE(healthy_at(1.0));
  EXPECT_FALSE(healthy_at(0.19));
  EXPECT_FALSE(healthy_at(1.01));
  const float zero[8] = {};
  for (const auto& [terminate, ends] : {std::pair{"true", true}, std::pair{"false", false}}) {
    auto e = make_env<Ant>("Ant-v5", {{"terminate_when_unhealthy", terminate}});
    e->reset(0, obs);
    e->set_state(resting(1.5), obs);
    const StepResult r = e->step({{}, zero}, obs);
    EXPECT_EQ(r.terminated, ends) << terminate;
    EXPECT_EQ(e->info().reward_survive, 0.0) << terminate;
    EXPECT_EQ(e->unstable_steps(), 0);
  }
}

TEST(Ant, V4LeavesContactForcesOutUnlessAskedAndPaysTheHealthyRewardOnTheLastStep) {
  auto v4 = make_env<Ant>("Ant-v4", {}, 4);
  auto obs = obs_for(*v4);
  v4->reset(7, obs);
  walk(*v4, obs, 20);
  const float action[8] = {0.5f, -0.3f, 1.0f, 0.1f, -1.0f, 0.0f, 0.7f, -0.2f};
  const StepResult r = v4->step({{}, action}, obs);
  EXPECT_EQ(v4->info().reward_contact, 0.0);
  EXPECT_NEAR(r.reward, v4->info().reward_forward + 1.0 + v4->info().reward_ctrl, 1e-12);
  for (const char* option :
       {"frame_skip", "main_body", "forward_reward_weight", "include_cfrc_ext_in_observation"})
    EXPECT_THROW(make("Ant-v4", {{option, "1"}}), Error) << option;
  // Gymnasium's ant_v4.py keeps xml_file.
  const std::string path = std::string(TRUSTRL_SOURCE_DIR) + "/envs/mujoco/assets/ant.xml";
  EXPECT_EQ(make("Ant-v4", {{"xml_file", path}})->obs_dim(), 27);
  // Falling out of the healthy range: -v4 pays the healthy reward on the terminating step.
  v4->set_state(resting(1.5), obs);
  const float zero[8] = {};
  EXPECT_TRUE(v4->step({{}, zero}, obs).terminated);
  EXPECT_EQ(v4->info().reward_survive, 1.0);
}

TEST(Ant, V4WithContactForcesMovesAndPaysAsV5) {
  // The same model and dynamics: with use_contact_forces, -v4's reward is -v5's, and its
  // observation holds -v5's forces after the world's six zeros.
  auto v4 = make("Ant-v4", {{"use_contact_forces", "true"}}), v5 = make("Ant-v5");
  auto obs4 = obs_for(*v4), obs5 = obs_for(*v5);
  v4->reset(21, obs4);
  v5->reset(21, obs5);
  Rng rng(4);
  std::vector<float> action(8);
  bool touched = false;
  for (int t = 0; t < 30 && !v5->needs_reset(); ++t) {
    for (float& a : action) a = static_cast<float>(rng.uniform(-1, 1));
    const StepResult r4 = v4->step({{}, action}, obs4), r5 = v5->step({{}, action}, obs5);
    // ... but for the healthy reward on a terminating step, which only -v4 pays.
    ASSERT_EQ(r4.reward, r5.reward + (r5.terminated ? 1.0 : 0.0)) << t;
    ASSERT_EQ(r4.terminated, r5.terminated) << t;
    ASSERT_TRUE(std::equal(obs5.begin(), obs5.begin() + 27, obs4.begin())) << t;
    ASSERT_TRUE(std::all_of(obs4.begin() + 27, obs4.begin() + 33, [](float f) { return f == 0; }));
    ASSERT_TRUE(std::equal(obs5.begin() + 27, obs5.end(), obs4.begin() + 33)) << t;
    touched = touched || std::any_of(obs5.begin() + 27, obs5.end(), [](float f) { return f != 0; });
  }
  EXPECT_TRUE(touched);
}

TEST(Ant, ResetNoiseIsUniformOnPositionsAndNormalOnVelocities) {
  auto env = make_env<Ant>("Ant-v5");
  auto obs = obs_for(*env);
  const std::vector<double> init(env->sim().init_qpos().begin(), env->sim().init_qpos().end());
  ASSERT_EQ(init[2], 0.75);
  ASSERT_EQ(init[3], 1.0);
  double largest = 0, sum_sq = 0;
  int n = 0;
  for (std::uint64_t seed = 0; seed < 50; ++seed) {
    env->reset(seed, obs);
    const std::vector<double> s = env->get_state();
    // The torso's quaternion as well, left unnormalized until the first step (MujocoSim).
    for (int i = 0; i < kNq; ++i) {
      ASSERT_LE(std::abs(s[i] - init[i]), 0.1) << i;
      largest = std::max(largest, std::abs(s[i] - init[i]));
    }
    ASSERT_EQ(obs[1], static_cast<float>(s[3]));
    for (int i = kNq; i < kNq + kNv; ++i) sum_sq += s[i] * s[i], ++n;
    // No step yet: no contact forces observed.
    ASSERT_TRUE(std::all_of(obs.begin() + 27, obs.end(), [](float f) { return f == 0; }));
  }
  EXPECT_GT(largest, 0.09);
  EXPECT_NEAR(std::sqrt(sum_sq / n), 0.1, 0.02);  // 0.1 * standard normal, 700 draws
}

TEST(Ant, StateRoundTripsExactlyWithTheDerivedQuantities) {
  auto env = make_env<Ant>("Ant-v5");
  auto obs = obs_for(*env);
  env->reset(4, obs);
  walk(*env, obs, 25);
  const std::vector<double> saved = env->get_state();
  ASSERT_EQ(saved.size(), static_cast<std::size_t>(kNq + 2 * kNv + 2 + 6 * kBodies));
  const std::vector<float> saved_obs = obs;
  const float action[8] = {0.3f, 0.3f, -0.3f, -0.3f, 0.2f, 0.1f, 0.0f, -0.9f};
  const double reward = env->step({{}, action}, obs).reward;
  const std::vector<double> next = env->get_state();
  // Scramble the env, then load: the observation and the next step are exactly the saved ones.
  env->reset(99, obs);
  env->set_state(saved, obs);
  EXPECT_EQ(obs, saved_obs);
  EXPECT_EQ(env->step({{}, action}, obs).reward, reward);
  EXPECT_EQ(env->get_state(), next);
  // [qpos, qvel] alone: Gymnasium's set_state; no step's contact forces.
  env->set_state(std::span<const double>(saved).subspan(0, kNq + kNv), obs);
  EXPECT_TRUE(std::all_of(obs.begin() + 27, obs.end(), [](float f) { return f == 0; }));
  EXPECT_THROW(env->set_state(std::vector<double>(kNq + 2 * kNv, 0.0), obs), Error);
  std::vector<double> bad = saved;
  bad.back() = NAN;
  EXPECT_THROW(env->set_state(bad, obs), Error);
}

TEST(Ant, InstabilityEndsTheEpisodeWithFiniteObservations) {
  auto env = make_env<Ant>("Ant-v5");
  auto obs = obs_for(*env);
  env->reset(0, obs);
  std::vector<double> state = resting(0.75);
  state[kNq + 8] = 1e11;  // a hip's velocity above MuJoCo's 1e10 limit
  env->set_state(state, obs);
  const float zero[8] = {};
  const StepResult r = env->step({{}, zero}, obs);
  EXPECT_TRUE(r.terminated);
  EXPECT_EQ(r.reward, 0.0);
  EXPECT_EQ(env->unstable_steps(), 1);
  EXPECT_TRUE(std::all_of(obs.begin(), obs.end(), [](float v) { return std::isfinite(v); }));
}

}  // namespace
}  // namespace trustrl::envs
