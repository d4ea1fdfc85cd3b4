// Humanoid-v5 and -v4 (envs/mujoco/humanoid.h): spaces, one step's reward decomposition (forward
// from the centre of mass, clipped contact cost) and the observation's parts checked by hand,
// the healthy range, -v4's differences, reset noise and the exact state round trip. The
// conformance suite runs both as registered ids.

#include "envs/mujoco/humanoid.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <tuple>

#include "core/error.h"
#include "envs/registry.h"
#include "tests/envs/mujoco_test_util.h"

namespace trustrl::envs {
namespace {

constexpr int kNq = 24, kNv = 23, kBodies = 14;

std::vector<double> standing(double z) {
  std::vector<double> qpos(kNq, 0.0);
  qpos[2] = z;
  qpos[3] = 1.0;
  return qpos_qvel(qpos, std::vector<double>(kNv, 0.0));
}

// Gymnasium's mass_center, written out again: sum of masses times xipos over the total mass.
std::pair<double, double> mass_center(const MujocoSim& sim) {
  double m = 0, x = 0, y = 0;
  for (int b = 0; b < sim.nbody(); ++b) {
    m += sim.body_mass()[b];
    x += sim.body_mass()[b] * sim.xipos()[3 * b];
    y += sim.body_mass()[b] * sim.xipos()[3 * b + 1];
  }
  return {x / m, y / m};
}

bool all_zero(std::span<const float> v) {
  return std::all_of(v.begin(), v.end(), [](float f) { return f == 0.0f; });
}

TEST(Humanoid, HasGymnasiumsSpaces) {
  auto env = make("Humanoid-v5");
  EXPECT_EQ(env->obs_dim(), 348);  // 22 + 23 + 130 + 78 + 17 + 78
  EXPECT_EQ(env->action_dim(), 17);
  EXPECT_EQ(env->spec().max_episode_steps, 1000);
  EXPECT_FALSE(env->spec().reward_threshold.has_value());
  EXPECT_EQ(env->spec().render_fps, 67);  // 1 / (5 * 3 ms), rounded
  const Space& a = env->spec().action_space;
  EXPECT_TRUE(std::all_of(a.low.begin(), a.low.end(), [](float v) { return v == -0.4f; }));
  EXPECT_TRUE(std::all_of(a.high.begin(), a.high.end(), [](float v) { return v == 0.4f; }));
  for (const auto& [option, size] :
       {std::pair{"include_cinert_in_observation", 130}, std::pair{"include_cvel_in_observation", 78},
        std::pair{"include_qfrc_actuator_in_observation", 17},
        std::pair{"include_cfrc_ext_in_observation", 78}})
    EXPECT_EQ(make("Humanoid-v5", {{option, "false"}})->obs_dim(), 348 - size) << option;
  EXPECT_EQ(
      make("Humanoid-v5", {{"exclude_current_positions_from_observation", "false"}})->obs_dim(),
      350);
  EXPECT_EQ(make("Humanoid-v4")->obs_dim(), 376);  // 22 + 23 + 140 + 84 + 23 + 84
  for (const char* option : {"frame_skip", "xml_file", "contact_cost_weight", "contact_cost_max",
                             "include_cvel_in_observation"})
    EXPECT_THROW(make("Humanoid-v4", {{option, "1"}}), Error) << option;
}

TEST(Humanoid, StepRewardIsForwardPlusHealthyMinusControlAndContact) {
  auto env = make_env<Humanoid>("Humanoid-v5");
  auto obs = obs_for(*env);
  env->reset(3, obs);
  const MujocoSim& sim = env->sim();
  std::vector<float> action(17);
  for (std::size_t i = 0; i < action.size(); ++i) action[i] = (i % 2 ? -0.3f : 0.5f);  // 0.5 > 0.4
  double ctrl_cost = 0.0;  // on the action as given
  for (float a : action) ctrl_cost += 0.1 * static_cast<double>(a) * a;
  int touching = 0, steps = 0;
  for (; steps < 40 && !env->needs_reset(); ++steps) {
    const auto [x_before, y_before] = mass_center(sim);
    const StepResult r = env->step({{}, action}, obs);
    const auto [x_after, y_after] = mass_center(sim);
    const double x_velocity = (x_after - x_before) / (5 * 0.003);
    double contact = 0.0;
    for (double f : sim.cfrc_ext()) contact += f * f;
    contact = std::min(5e-7 * contact, 10.0);
    touching += contact > 0;
    ASSERT_NEAR(env->info().x_velocity, x_velocity, 1e-12) << steps;
    ASSERT_NEAR(env->info().y_velocity, (y_after - y_before) / 0.015, 1e-12) << steps;
    ASSERT_NEAR(env->info().reward_forward, 1.25 * x_velocity, 1e-12);
    ASSERT_NEAR(env->info().reward_ctrl, -ctrl_cost, 1e-12);
    ASSERT_NEAR(env->info().reward_contact, -contact, 1e-12);
    const double healthy = sim.qpos()[2] > 1.0 && sim.qpos()[2] < 2.0 ? 5.0 : 0.0;
    ASSERT_EQ(env->info().reward_survive, healthy);
    ASSERT_EQ(r.terminated, healthy == 0.0);
    ASSERT_NEAR(r.reward, 1.25 * x_velocity + healthy - ctrl_cost - contact, 1e-9);
    // Observation: qpos[2:], qvel, then each part without the world (and the free joint).
    std::size_t k = 0;
    for (int i = 2; i < kNq; ++i) ASSERT_EQ(obs[k++], static_cast<float>(sim.qpos()[i]));
    for (int i = 0; i < kNv; ++i) ASSERT_EQ(obs[k++], static_cast<float>(sim.qvel()[i]));
    for (const auto& [part, skip] : {std::pair{sim.cinert(), 10}, std::pair{sim.cvel(), 6},
                                     std::pair{sim.qfrc_actuator(), 6}, std::pair{sim.cfrc_ext(), 6}})
      for (std::size_t i = static_cast<std::size_t>(skip); i < part.size(); ++i)
        ASSERT_EQ(obs[k++], static_cast<float>(part[i])) << steps << " " << i;
    ASSERT_EQ(k, obs.size());
  }
  EXPECT_GT(touching, 0);  // the feet reached the floor before the episode ended
  EXPECT_GT(steps, 5);
}

TEST(Humanoid, WeightsAndTheContactCostRangeAreOptions) {
  auto env = make_env<Humanoid>("Humanoid-v5", {{"forward_reward_weight", "2"},
                                                {"ctrl_cost_weight", "1"},
                                                {"contact_cost_weight", "1"},
                                                {"contact_cost_max", "0.25"},
                                                {"healthy_reward", "3"},
                                                {"terminate_when_unhealthy", "false"}});
  auto obs = obs_for(*env);
  env->reset(3, obs);
  const std::vector<float> action(17, 0.1f);
  bool capped = false;
  for (int t = 0; t < 40; ++t) {
    const double x_before = mass_center(env->sim()).first;
    const StepResult r = env->step({{}, action}, obs);
    const double x_velocity = (mass_center(env->sim()).first - x_before) / env->dt();
    double contact = 0.0;
    for (double f : env->sim().cfrc_ext()) contact += f * f;
    capped = capped || contact > 0.25;
    const double healthy = env->is_healthy() ? 3.0 : 0.0;
    ASSERT_FALSE(r.terminated);
    ASSERT_NEAR(r.reward,
                2 * x_velocity + healthy - 17 * static_cast<double>(0.1f) * 0.1f -
                    std::min(contact, 0.25),
                1e-9)
        << t;
  }
  EXPECT_TRUE(capped);
  EXPECT_THROW(make("Humanoid-v5", {{"contact_cost_min", "1"}, {"contact_cost_max", "1"}}), Error);
  EXPECT_THROW(make("Humanoid-v5", {{"healthy_z_min", "2"}, {"healthy_z_max", "1"}}), Error);
  EXPECT_THROW(make("Humanoid-v5", {{"contact_cost_weight", "-1"}}), Error);
}

TEST(Humanoid, HealthyIsZInsideAnOpenRange) {
  auto env = make_env<Humanoid>("Humanoid-v5");
  auto obs = obs_for(*env);
  env->reset(0, obs);
  const auto healthy_at = [&](double z) {
    env->set_state(standing(z), obs);
    return env->is_healthy();
  };
  EXPECT_TRUE(healthy_at(1.4));
  EXPECT_FALSE(healthy_at(1.0));
  EXPECT_FALSE(healthy_at(2.0));
  EXPECT_TRUE(healthy_at(1.99));
  EXPECT_FALSE(healthy_at(0.5));
}

TEST(Humanoid, V4ObservesEverythingPaysNoContactCostAndPaysTheLastHealthyReward) {
  auto v4 = make_env<Humanoid>("Humanoid-v4", {}, 4);
  auto v5 = make_env<Humanoid>("Humanoid-v5");
  auto obs4 = obs_for(*v4), obs5 = obs_for(*v5);
  v4->reset(8, obs4);
  v5->reset(8, obs5);
  Rng rng(6);
  std::vector<float> action(17);
  bool touched = false, ended = false;
  for (int t = 0; t < 60 && !ended; ++t) {
    for (float& a : action) a = static_cast<float>(rng.uniform(-0.4, 0.4));
    const StepResult r4 = v4->step({{}, action}, obs4), r5 = v5->step({{}, action}, obs5);
    // Same dynamics; -v4 has no contact cost and pays the healthy reward when it terminates.
    ASSERT_EQ(r4.terminated, r5.terminated) << t;
    ASSERT_NEAR(r4.reward, r5.reward - v5->info().reward_contact + (r5.terminated ? 5.0 : 0.0),
                1e-9)
        << t;
    ASSERT_EQ(v4->info().reward_contact, 0.0);
    touched = touched || v5->info().reward_contact != 0.0;
    ended = r4.terminated;
    // -v4's observation: -v5's parts with the world's (and the free joint's) values in front.
    const std::span<const float> o4(obs4), o5(obs5);
    ASSERT_TRUE(std::equal(o5.begin(), o5.begin() + 45, o4.begin()));
    std::size_t k4 = 45, k5 = 45;
    for (const auto& [all, skip] : {std::pair{140, 10}, std::pair{84, 6}, std::pair{23, 6},
                                    std::pair{84, 6}}) {
      const auto s4 = o4.subspan(k4, static_cast<std::size_t>(all));
      ASSERT_TRUE(std::equal(s4.begin() + skip, s4.end(), o5.begin() + k5)) << t << " " << all;
      k4 += static_cast<std::size_t>(all);
      k5 += static_cast<std::size_t>(all - skip);
    }
    // The world never moves, so its cinert, cvel and cfrc_ext are zero.
    ASSERT_TRUE(all_zero(o4.subspan(45, 10)));
    ASSERT_TRUE(all_zero(o4.subspan(45 + 140, 6)));
    ASSERT_TRUE(all_zero(o4.subspan(45 + 140 + 84 + 23, 6)));
  }
  EXPECT_TRUE(touched);
  EXPECT_TRUE(ended);
  EXPECT_EQ(v4->info().reward_survive, 5.0);
  EXPECT_EQ(v5->info().reward_survive, 0.0);
}

TEST(Humanoid, ResetNoiseIsUniformOnEveryPositionAndVelocity) {
  auto env = make_env<Humanoid>("Humanoid-v5");
  auto obs = obs_for(*env);
  const std::vector<double> init(env->sim().init_qpos().begin(), env->sim().init_qpos().end());
  ASSERT_EQ(init[2], 1.4);
  double largest = 0;
  for (std::uint64_t seed = 0; seed < 10; ++seed) {
    env->reset(seed, obs);
    const std::vector<double> s = env->get_state();
    for (int i = 0; i < kNq + kNv; ++i) {
      const double noise = s[i] - (i < kNq ? init[i] : 0.0);
      ASSERT_LE(std::abs(noise), 0.01) << i;
      largest = std::max(largest, std::abs(noise));
    }
    // No control and no contact yet.
    ASSERT_TRUE(all_zero(std::span<const float>(obs).subspan(45 + 130 + 78)));
  }
  EXPECT_GT(largest, 0.009);  // 470 uniform draws reach the edge
}

TEST(Humanoid, StateRoundTripsExactlyWithTheDerivedQuantities) {
  auto env = make_env<Humanoid>("Humanoid-v5");
  auto obs = obs_for(*env);
  env->reset(4, obs);
  const std::vector<float> action(17, 0.2f);
  for (int t = 0; t < 12; ++t) env->step({{}, action}, obs);
  ASSERT_FALSE(env->needs_reset());
  const std::vector<double> saved = env->get_state();
  ASSERT_EQ(saved.size(), static_cast<std::size_t>(kNq + 2 * kNv + 2 + 22 * kBodies + kNv));
  const std::vector<float> saved_obs = obs;
  const double reward = env->step({{}, action}, obs).reward;
  const std::vector<double> next = env->get_state();
  env->reset(99, obs);
  env->set_state(saved, obs);
  EXPECT_EQ(obs, saved_obs);
  EXPECT_EQ(env->step({{}, action}, obs).reward, reward);
  EXPECT_EQ(env->get_state(), next);
  // [qpos, qvel] alone: the derived quantities at that state, with no control or contact force.
  env->set_state(std::span<const double>(saved).subspan(0, kNq + kNv), obs);
  EXPECT_FALSE(all_zero(std::span<const float>(obs).subspan(45, 130)));
  EXPECT_TRUE(all_zero(std::span<const float>(obs).subspan(45 + 130 + 78)));
  EXPECT_THROW(env->set_state(std::vector<double>(kNq + 2 * kNv, 0.0), obs), Error);
}

}  // namespace
}  // namespace trustrl::envs
