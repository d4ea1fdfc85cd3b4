// Walker2d-v5 and -v4 (envs/mujoco/walker2d.h): spaces, one step's reward decomposition checked by
// hand, termination through set_state, -v4's differences, reset noise and the state round trip.
// The conformance suite runs both as registered ids.

#include "envs/mujoco/walker2d.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <tuple>

#include "core/error.h"
#include "envs/registry.h"
#include "tests/envs/mujoco_test_util.h"

namespace trustrl::envs {
namespace {

// Upright at rest: qpos [x, z, angle, 6 joints], qvel 9 (zeros).
std::vector<double> standing(double z, double angle, std::vector<double> qvel = {}) {
  qvel.resize(9, 0.0);
  return qpos_qvel({0, z, angle, 0, 0, 0, 0, 0, 0}, qvel);
}

TEST(Walker2d, HasGymnasiumsSpaces) {
  for (const char* id : {"Walker2d-v5", "Walker2d-v4"}) {
    auto env = make(id);
    EXPECT_EQ(env->spec().id, id);
    EXPECT_EQ(env->obs_dim(), 17) << id;
    EXPECT_EQ(env->action_dim(), 6) << id;
    EXPECT_EQ(env->spec().max_episode_steps, 1000) << id;
    EXPECT_EQ(env->spec().render_fps, 125) << id;  // 1 / (4 * 2 ms)
    EXPECT_FALSE(env->spec().reward_threshold.has_value()) << id;
    const Space& a = env->spec().action_space;
    EXPECT_TRUE(std::all_of(a.low.begin(), a.low.end(), [](float v) { return v == -1.0f; }));
    EXPECT_TRUE(std::all_of(a.high.begin(), a.high.end(), [](float v) { return v == 1.0f; }));
  }
  auto with_x = make("Walker2d-v5", {{"exclude_current_positions_from_observation", "false"}});
  EXPECT_EQ(with_x->obs_dim(), 18);
  auto obs = obs_for(*with_x);
  with_x->reset(3, obs);
  EXPECT_EQ(obs[0], static_cast<float>(with_x->get_state()[0]));
}

TEST(Walker2d, OneStepRewardIsForwardPlusHealthyMinusControl) {
  auto env = make_env<Walker2d>("Walker2d-v5");
  auto obs = obs_for(*env);
  env->reset(7, obs);
  const double x_before = env->get_state()[0];
  const float action[6] = {0.5f, -0.3f, 2.0f, 0.1f, -1.0f, 0.0f};  // 2.0 clamped by MuJoCo only
  const StepResult r = env->step({{}, action}, obs);
  const std::vector<double> s = env->get_state();
  const double x_velocity = (s[0] - x_before) / (4 * 0.002);
  const double ctrl_cost = 1e-3 * (0.25 + 0.09 + 4.0 + 0.01 + 1.0);
  EXPECT_NE(x_velocity, 0.0);
  EXPECT_NEAR(env->info().x_velocity, x_velocity, 1e-12);
  EXPECT_NEAR(env->info().reward_forward, x_velocity, 1e-12);
  EXPECT_NEAR(env->info().reward_ctrl, -ctrl_cost, 1e-9);
  EXPECT_EQ(env->info().reward_survive, 1.0);
  EXPECT_NEAR(r.reward, x_velocity + 1.0 - ctrl_cost, 1e-9);
  EXPECT_FALSE(r.terminated);
  // Observation: qpos[1:] then qvel clipped to +-10.
  for (int i = 0; i < 8; ++i) EXPECT_EQ(obs[i], static_cast<float>(s[i + 1])) << i;
  for (int i = 0; i < 9; ++i)
    EXPECT_EQ(obs[8 + i], static_cast<float>(std::clamp(s[9 + i], -10.0, 10.0))) << i;
}

TEST(Walker2d, RewardWeightsAreOptions) {
  auto env = make_env<Walker2d>(
      "Walker2d-v5",
      {{"forward_reward_weight", "2"}, {"ctrl_cost_weight", "0.5"}, {"healthy_reward", "3"}});
  auto obs = obs_for(*env);
  env->reset(7, obs);
  const double x_before = env->get_state()[0];
  const float action[6] = {1.0f, 0.0f, -1.0f, 0.0f, 0.0f, 0.0f};
  const StepResult r = env->step({{}, action}, obs);
  const double x_velocity = (env->get_state()[0] - x_before) / env->dt();
  EXPECT_NEAR(r.reward, 2 * x_velocity + 3 - 0.5 * 2.0, 1e-9);
}

TEST(Walker2d, HealthyIsZAndAngleInsideOpenRanges) {
  auto env = make_env<Walker2d>("Walker2d-v5");
  auto obs = obs_for(*env);
  env->reset(0, obs);
  const auto healthy_at = [&](const std::vector<double>& state) {
    env->set_state(state, obs);
    return env->is_healthy();
  };
  EXPECT_TRUE(healthy_at(standing(1.25, 0.0)));
  EXPECT_FALSE(healthy_at(standing(0.75, 0.0)));  // below 0.8
  EXPECT_FALSE(healthy_at(standing(2.1, 0.0)));   // above 2
  EXPECT_FALSE(healthy_at(standing(2.0, 0.0)));   // open interval
  EXPECT_FALSE(healthy_at(standing(1.25, 1.1)));
  EXPECT_FALSE(healthy_at(standing(1.25, -1.1)));
  EXPECT_TRUE(healthy_at(standing(1.25, 0.9)));
  // Unlike Hopper, no other state value is checked: a huge joint velocity is still healthy.
  EXPECT_TRUE(healthy_at(standing(1.25, 0.0, {0, 0, 0, 150, 0, 0, 0, 0, -150})));
}

TEST(Walker2d, TerminatesWhenUnhealthyUnlessToldNotTo) {
  const float zero[6] = {0, 0, 0, 0, 0, 0};
  for (const auto& [terminate, ends] : {std::pair{"true", true}, std::pair{"false", false}}) {
    auto env = make_env<Walker2d>("Walker2d-v5", {{"terminate_when_unhealthy", terminate}});
    auto obs = obs_for(*env);
    env->reset(0, obs);
    EXPECT_FALSE(env->step({{}, zero}, obs).terminated);
    EXPECT_EQ(env->info().reward_survive, 1.0);
    env->set_state(standing(0.7, 0.0), obs);
    const StepResult r = env->step({{}, zero}, obs);
    EXPECT_EQ(r.terminated, ends) << terminate;
    EXPECT_FALSE(r.truncated);
    EXPECT_EQ(env->info().reward_survive, 0.0) << terminate;
    EXPECT_EQ(env->unstable_steps(), 0);  // the healthy check ended it, not the physics
  }
}

TEST(Walker2d, V4PaysTheHealthyRewardOnTheTerminatingStep) {
  const float zero[6] = {0, 0, 0, 0, 0, 0};
  for (const auto& [version, terminate, paid] :
       {std::tuple{4, "true", 1.0}, std::tuple{4, "false", 0.0}, std::tuple{5, "true", 0.0}}) {
    auto env = make_env<Walker2d>("Walker2d-v" + std::to_string(version),
                                  {{"terminate_when_unhealthy", terminate}}, version);
    auto obs = obs_for(*env);
    env->reset(0, obs);
    env->set_state(standing(0.7, 0.0), obs);
    const StepResult r = env->step({{}, zero}, obs);
    EXPECT_EQ(env->info().reward_survive, paid) << version << " " << terminate;
    EXPECT_EQ(r.terminated, std::string(terminate) == "true") << version << " " << terminate;
    EXPECT_NEAR(r.reward, env->info().reward_forward + paid, 1e-12);
  }
}

TEST(Walker2d, V4sRightFootSlipsMoreThanV5s) {
  // Same start, same actions: the models differ only in the right foot's friction (0.9 against
  // 1.9), so the two walkers move alike until that foot slides on the ground, and then part.
  const OptionMap keep_going = {{"terminate_when_unhealthy", "false"}};
  auto v4 = make("Walker2d-v4", keep_going), v5 = make("Walker2d-v5", keep_going);
  auto obs4 = obs_for(*v4), obs5 = obs_for(*v5);
  v4->reset(5, obs4);
  v5->reset(5, obs5);
  EXPECT_EQ(obs4, obs5);
  EXPECT_EQ(v4->get_state(), v5->get_state());
  EXPECT_THROW(make("Walker2d-v4", {{"frame_skip", "2"}}), Error);
  EXPECT_THROW(make("Walker2d-v4", {{"xml_file", "/tmp/x.xml"}}), Error);
  Rng rng(3);
  std::vector<float> action(6);
  int parted_at = -1;
  for (int t = 0; t < 1000 && parted_at < 0; ++t) {
    for (float& a : action) a = static_cast<float>(rng.uniform(-1, 1));
    v4->step({{}, action}, obs4);
    v5->step({{}, action}, obs5);
    if (obs4 != obs5) parted_at = t;
  }
  EXPECT_GT(parted_at, 0);  // not at the first step, which no foot touches the ground in
}

TEST(Walker2d, RangesAndOptionsAreChecked) {
  EXPECT_THROW(make("Walker2d-v5", {{"healthy_z_min", "2"}, {"healthy_z_max", "1"}}), Error);
  EXPECT_THROW(make("Walker2d-v5", {{"healthy_angle_min", "1"}, {"healthy_angle_max", "1"}}),
               Error);
  EXPECT_THROW(make("Walker2d-v5", {{"healthy_state_min", "-1"}}), Error);  // Hopper's, not here
  EXPECT_THROW(make("Walker2d-v5", {{"frame_skip", "0"}}), Error);
  EXPECT_THROW(make("Walker2d-v5", {{"reset_noise_scale", "-1"}}), Error);
  EXPECT_EQ(make("Walker2d-v5", {{"frame_skip", "2"}})->spec().render_fps, 250);
}

TEST(Walker2d, ResetNoiseIsUniformWithinItsScale) {
  for (const double scale : {5e-3, 0.1}) {
    auto env = make_env<Walker2d>("Walker2d-v5", {{"reset_noise_scale", std::to_string(scale)}});
    auto obs = obs_for(*env);
    const std::vector<double> init(env->sim().init_qpos().begin(), env->sim().init_qpos().end());
    ASSERT_EQ(init[1], 1.25);
    double largest = 0;
    for (std::uint64_t seed = 0; seed < 20; ++seed) {
      env->reset(seed, obs);
      const std::vector<double> s = env->get_state();
      for (std::size_t i = 0; i < 18; ++i) {
        const double noise = s[i] - (i < 9 ? init[i] : 0.0);
        ASSERT_LE(std::abs(noise), scale) << i;
        largest = std::max(largest, std::abs(noise));
      }
    }
    EXPECT_GT(largest, 0.8 * scale);  // 360 uniform draws reach the edge
  }
  auto quiet = make_env<Walker2d>("Walker2d-v5", {{"reset_noise_scale", "0"}});
  auto obs = obs_for(*quiet);
  quiet->reset(1, obs);
  const std::vector<double> s = quiet->get_state();
  EXPECT_EQ(std::vector<double>(s.begin(), s.begin() + 18), standing(1.25, 0.0));
}

TEST(Walker2d, StateRoundTripsExactly) {
  auto env = make_env<Walker2d>("Walker2d-v5");
  auto obs = obs_for(*env);
  env->reset(4, obs);
  const float action[6] = {0.3f, 0.3f, -0.3f, -0.3f, 0.2f, 0.1f};
  for (int t = 0; t < 40; ++t) env->step({{}, action}, obs);
  const std::vector<double> saved = env->get_state();
  ASSERT_EQ(saved.size(), 27u);  // qpos, qvel, warm start
  const std::vector<float> saved_obs = obs;
  env->step({{}, action}, obs);
  const std::vector<double> next = env->get_state();
  env->set_state(saved, obs);
  EXPECT_EQ(obs, saved_obs);
  env->step({{}, action}, obs);
  EXPECT_EQ(env->get_state(), next);
  EXPECT_THROW(env->set_state(std::vector<double>(17, 0.0), obs), Error);
}

}  // namespace
}  // namespace trustrl::envs
