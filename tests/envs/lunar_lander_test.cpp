// LunarLander-v3 / LunarLanderContinuous-v3: what must hold although Box2D 2.4 cannot replay
// Gymnasium's 2.3 trajectories: spaces, observation layout, reward identity, contacts,
// termination causes, time limit, determinism, bad input, the heuristic landing, and random-policy
// statistics close to Gymnasium's.

#include "envs/box2d/lunar_lander.h"

#include <gtest/gtest.h>

#include <cmath>

#include "box2d_heuristics.h"
#include "box2d_test_util.h"
#include "core/error.h"
#include "envs/registry.h"

namespace trustrl::envs {
namespace {

using testing::lunar_lander_heuristic_continuous;
using testing::lunar_lander_heuristic_discrete;

using W = LunarLanderWorld;

std::unique_ptr<LunarLander> make_lander(const OptionMap& options = {},
                                         bool continuous_id = false) {
  EnvOptions opts(continuous_id ? "LunarLanderContinuous-v3" : "LunarLander-v3", options);
  auto env = std::make_unique<LunarLander>(opts, continuous_id);
  opts.finish();
  return env;
}

std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  return "(no error)";
}

// Runs the heuristic for one episode; returns the return and the final StepResult.
struct Episode {
  double ret = 0;
  int length = 0;
  StepResult last;
};
Episode run_heuristic(LunarLander& env, std::uint64_t seed) {
  std::vector<float> obs(8);
  env.reset(seed, obs);
  Episode ep;
  while (true) {
    if (env.continuous()) {
      const auto a = lunar_lander_heuristic_continuous(obs);
      ep.last = env.step({{}, a}, obs);
    } else {
      const std::int64_t a = lunar_lander_heuristic_discrete(obs);
      ep.last = env.step({std::span(&a, 1), {}}, obs);
    }
    ep.ret += ep.last.reward;
    ++ep.length;
    if (ep.last.terminated || ep.last.truncated) return ep;
  }
}

TEST(LunarLander, SpecsMatchGymnasium) {
  auto discrete = make("LunarLander-v3");
  EXPECT_EQ(discrete->spec().id, "LunarLander-v3");
  EXPECT_EQ(discrete->spec().action_space, Space::discrete(4));
  EXPECT_EQ(discrete->spec().max_episode_steps, 1000);
  EXPECT_EQ(discrete->spec().reward_threshold, 200.0);
  EXPECT_EQ(discrete->spec().render_fps, 50);
  const Space& obs = discrete->spec().observation_space;
  ASSERT_EQ(obs.flat_dim(), 8);
  const auto two_pi = static_cast<float>(2 * 3.14159265358979323846);
  EXPECT_EQ(obs.low, (std::vector<float>{-2.5f, -2.5f, -10, -10, -two_pi, -10, 0, 0}));
  EXPECT_EQ(obs.high, (std::vector<float>{2.5f, 2.5f, 10, 10, two_pi, 10, 1, 1}));

  auto continuous = make("LunarLanderContinuous-v3");
  EXPECT_EQ(continuous->spec().id, "LunarLanderContinuous-v3");
  EXPECT_EQ(continuous->spec().action_space, Space::box(-1, 1, {2}));
  EXPECT_EQ(continuous->spec().observation_space, obs);
  EXPECT_EQ(continuous->spec().max_episode_steps, 1000);

  // The continuous option switches either id.
  EXPECT_EQ(make("LunarLander-v3", {{"continuous", "true"}})->spec().action_space,
            Space::box(-1, 1, {2}));
  EXPECT_EQ(make("LunarLanderContinuous-v3", {{"continuous", "false"}})->spec().action_space,
            Space::discrete(4));
}

TEST(LunarLander, BadOptionsAreNamed) {
  EXPECT_EQ(
      error_of([] {
        make("LunarLander-v3", {{"gravty", "-5"}});
      }),
      "LunarLander-v3: unknown option 'gravty' (known options: continuous, enable_wind, gravity, "
      "joint_limits, max_episode_steps, turbulence_power, wind_power)");
  EXPECT_EQ(error_of([] {
              make("LunarLanderContinuous-v3", {{"joint_limits", "2.3"}});
            }),
            "LunarLanderContinuous-v3: option 'joint_limits' must be box2d_2.4 or box2d_2.3, got "
            "'2.3'");
  EXPECT_NE(error_of([] {
              make("LunarLander-v3", {{"gravity", "-12"}});
            }).find("option 'gravity' must be"),
            std::string::npos);
  EXPECT_NE(error_of([] {
              make("LunarLander-v3", {{"gravity", "0"}});
            }).find("option 'gravity'"),
            std::string::npos);
  EXPECT_NE(error_of([] {
              make("LunarLander-v3", {{"enable_wind", "yes"}});
            }).find("option 'enable_wind'"),
            std::string::npos);
}

TEST(LunarLander, BadActionsAreRefusedByTheBaseClass) {
  auto env = make("LunarLander-v3");
  std::vector<float> obs(8);
  env->reset(0, obs);
  for (std::int64_t bad : {4, -1}) {
    std::vector<std::int64_t> a{bad};
    EXPECT_EQ(error_of([&] {
                env->step({a, {}}, obs);
              }),
              "LunarLander-v3: action " + std::to_string(bad) + " is outside Discrete(4)");
  }
  auto cont = make("LunarLanderContinuous-v3");
  cont->reset(0, obs);
  std::vector<float> nan{0.0f, NAN};
  EXPECT_EQ(error_of([&] {
              cont->step({{}, nan}, obs);
            }),
            "LunarLanderContinuous-v3: action component 1 is nan; actions must be finite");
  std::vector<float> short_action{0.0f};
  EXPECT_NE(error_of([&] {
              cont->step({{}, short_action}, obs);
            }).find("expected a continuous action of 2"),
            std::string::npos);
}

TEST(LunarLander, OutOfRangeContinuousActionsAreClipped) {
  auto a = make_lander({}, true), b = make_lander({}, true);
  std::vector<float> oa(8), ob(8);
  a->reset(5, oa);
  b->reset(5, ob);
  for (const auto& [big, clipped] : std::vector<std::pair<std::vector<float>, std::vector<float>>>{
           {{7.0f, -3.0f}, {1.0f, -1.0f}},
           {{-9.0f, 2.5f}, {-1.0f, 1.0f}},
           {{0.75f, 40.0f}, {0.75f, 1.0f}}}) {
    const StepResult ra = a->step({{}, big}, oa);
    const StepResult rb = b->step({{}, clipped}, ob);
    EXPECT_EQ(oa, ob);
    EXPECT_EQ(ra.reward, rb.reward);
  }
}

TEST(LunarLander, ObservationIsTheScaledLanderState) {
  auto env = make_lander();
  std::vector<float> obs(8);
  env->reset(11, obs);
  Rng actions(3);
  for (int t = 0; t < 60; ++t) {
    const W& w = env->world();
    const BodyKinematics k = w.lander();
    // Gymnasium's scale factors: x 10, y 6.67, vx 5, vy 7.5, angle 1, angular velocity 2.5.
    EXPECT_FLOAT_EQ(obs[0], static_cast<float>((k.x - 10.0) / 10.0));
    EXPECT_FLOAT_EQ(obs[1], static_cast<float>((k.y - (w.helipad_y() + 18.0 / 30)) / (20.0 / 3)));
    EXPECT_FLOAT_EQ(obs[2], static_cast<float>(k.vx / 5.0));
    EXPECT_FLOAT_EQ(obs[3], static_cast<float>(k.vy / 7.5));
    EXPECT_FLOAT_EQ(obs[4], static_cast<float>(k.angle));
    EXPECT_FLOAT_EQ(obs[5], static_cast<float>(k.angular_velocity / 2.5));
    EXPECT_EQ(obs[6], w.leg_contact(0) ? 1.0f : 0.0f);
    EXPECT_EQ(obs[7], w.leg_contact(1) ? 1.0f : 0.0f);
    std::int64_t a = static_cast<std::int64_t>(actions.below(4));
    if (env->step({std::span(&a, 1), {}}, obs).terminated) break;
  }
}

TEST(LunarLander, StartsAtTheTopCentreAboveAFlatPad) {
  auto env = make_lander();
  std::vector<float> obs(8);
  for (std::uint64_t seed : {0, 1, 2}) {
    env->reset(seed, obs);
    const W& w = env->world();
    EXPECT_DOUBLE_EQ(w.helipad_x1(), 20.0 / 10 * 4);
    EXPECT_DOUBLE_EQ(w.helipad_x2(), 20.0 / 10 * 6);
    EXPECT_DOUBLE_EQ(w.helipad_y(), 40.0 / 3 / 4);
    ASSERT_EQ(w.terrain_polygons().size(), 10u);
    // The chunks over the pad are flat at the pad's height (0.33 * 3 of it).
    for (std::size_t i = 4; i <= 5; ++i) {
      EXPECT_NEAR(w.terrain_polygons()[i][0].y, 0.99 * w.helipad_y(), 1e-12);
      EXPECT_NEAR(w.terrain_polygons()[i][1].y, 0.99 * w.helipad_y(), 1e-12);
    }
    EXPECT_NEAR(obs[0], 0.0, 0.02);  // one step of a random push
    EXPECT_NEAR(obs[1], (40.0 / 3 - (w.helipad_y() + 0.6)) / (20.0 / 3), 0.02);
    EXPECT_EQ(w.lander_polygon().size(), 6u);
    EXPECT_EQ(w.leg_polygon(0).size(), 4u);
  }
}

// reward = shaping(s_t) - shaping(s_{t-1}) - 0.3 main - 0.03 side, and -100 / +100 at the end.
TEST(LunarLander, RewardIsShapingDifferenceMinusFuel) {
  for (bool continuous : {false, true}) {
    auto env = make_lander({}, continuous);
    std::vector<float> obs(8);
    Rng actions(17);
    int checked = 0, endings = 0;
    for (std::uint64_t seed = 0; seed < 6; ++seed) {
      env->reset(seed, obs);
      double prev = LunarLander::shaping(env->observe());
      while (true) {
        StepResult r;
        double fuel = 0;
        if (continuous) {
          const std::array<float, 2> a{static_cast<float>(actions.uniform(-1.2, 1.2)),
                                       static_cast<float>(actions.uniform(-1.2, 1.2))};
          const double main = std::clamp(a[0], -1.0f, 1.0f),
                       lateral = std::clamp(a[1], -1.0f, 1.0f);
          if (main > 0) fuel += 0.3 * (main + 1) * 0.5;
          if (std::fabs(lateral) > 0.5) fuel += 0.03 * std::fabs(lateral);
          r = env->step({{}, a}, obs);
        } else {
          const auto a = static_cast<std::int64_t>(actions.below(4));
          fuel = a == 2 ? 0.3 : (a == 1 || a == 3 ? 0.03 : 0.0);
          r = env->step({std::span(&a, 1), {}}, obs);
        }
        const double now = LunarLander::shaping(env->observe());
        if (r.terminated) {
          EXPECT_TRUE(r.reward == -100.0 || r.reward == 100.0) << r.reward;
          ++endings;
          break;
        }
        EXPECT_NEAR(r.reward, now - prev - fuel, 1e-9);
        prev = now;
        ++checked;
        if (r.truncated) break;
      }
    }
    EXPECT_GT(checked, 300);
    EXPECT_EQ(endings, 6);
  }
}

TEST(LunarLander, CrashEndsWithMinus100) {
  // Engines off: the lander falls onto the moon; most seeds land it on its body.
  auto env = make_lander();
  std::vector<float> obs(8);
  int crashes = 0;
  for (std::uint64_t seed = 0; seed < 10; ++seed) {
    env->reset(seed, obs);
    StepResult r;
    const std::int64_t nothing = 0;
    do r = env->step({std::span(&nothing, 1), {}}, obs);
    while (!r.terminated && !r.truncated);
    if (env->world().lander_touched()) {
      ++crashes;
      EXPECT_TRUE(r.terminated);
      EXPECT_EQ(r.reward, -100.0);
      EXPECT_LT(std::fabs(obs[0]), 1.0f);
    }
  }
  EXPECT_GE(crashes, 5);
}

// From rest in mid-air: the main engine (2) pushes up; "fire left orientation engine" (1) pushes
// towards -x and turns counter-clockwise; the right one (3) mirrors it. Compared with doing
// nothing.
TEST(LunarLander, EnginesPushAsGymnasiumDescribes) {
  auto after = [](std::int64_t action) {
    auto env = make_lander();
    std::vector<float> obs(8);
    env->reset(0, obs);
    env->set_state(std::vector<double>{10, 10, 0, 0, 0, 0}, obs);
    env->step({std::span(&action, 1), {}}, obs);
    return obs;
  };
  const auto nothing = after(0), left = after(1), main = after(2), right = after(3);
  EXPECT_GT(main[3], nothing[3] + 0.02f);
  EXPECT_LT(left[2], nothing[2] - 0.005f);
  EXPECT_GT(left[5], nothing[5] + 0.02f);
  EXPECT_GT(right[2], nothing[2] + 0.005f);
  EXPECT_LT(right[5], nothing[5] - 0.02f);
}

TEST(LunarLander, LeavingTheViewEndsWithMinus100) {
  auto env = make_lander();
  std::vector<float> obs(8);
  env->reset(0, obs);
  // Put the lander high up near the right edge, flying right at 10 m/s.
  const std::vector<double> state{19.9, 12.0, 0.0, 10.0, 0.0, 0.0};
  env->set_state(state, obs);
  EXPECT_NEAR(obs[0], 0.99, 1e-6);
  const std::int64_t nothing = 0;
  const StepResult r = env->step({std::span(&nothing, 1), {}}, obs);
  EXPECT_TRUE(r.terminated);
  EXPECT_EQ(r.reward, -100.0);
  EXPECT_GE(obs[0], 1.0f);
  EXPECT_FALSE(env->world().lander_touched());
}

TEST(LunarLander, HeuristicLandsAndSleeps) {
  // Gymnasium's heuristic; the episode ends when the lander comes to rest (+100).
  auto env = make_lander();
  int landed = 0, solved = 0;
  for (std::uint64_t seed = 0; seed < 10; ++seed) {
    const Episode ep = run_heuristic(*env, seed);
    if (ep.ret > 200) ++solved;
    if (ep.last.terminated && ep.last.reward == 100.0) {
      ++landed;
      EXPECT_FALSE(env->world().lander_awake());
      EXPECT_FALSE(env->world().lander_touched());
      // The lander rests on its legs. Gymnasium clears a leg's flag when any of its contacts
      // ends, so a leg standing across the joint of two terrain edges can read 0 (measured: seeds
      // 2, 3, 6, 7 end with one flag); at least one is set.
      EXPECT_TRUE(env->world().leg_contact(0) || env->world().leg_contact(1));
    }
  }
  // Measured: 9 of seeds 0..9 score above 200 (seed 9 hovers until the time limit).
  EXPECT_GE(solved, 8);
  EXPECT_GE(landed, 8);
}

TEST(LunarLander, ContinuousHeuristicLands) {
  auto env = make_lander({}, true);
  int solved = 0;
  double total = 0;
  for (std::uint64_t seed = 0; seed < 10; ++seed) {
    const Episode ep = run_heuristic(*env, seed);
    total += ep.ret;
    if (ep.ret > 200) ++solved;
  }
  // Measured: 10 of 10 above 200, mean about 283 (EnvPool asks >= 260 of its port).
  EXPECT_GE(solved, 9);
  EXPECT_GT(total / 10, 240);
}

TEST(LunarLander, LegContactsFollowTheGround) {
  auto env = make_lander();
  std::vector<float> obs(8);
  env->reset(1, obs);
  EXPECT_EQ(obs[6], 0.0f);
  EXPECT_EQ(obs[7], 0.0f);
  bool seen[2] = {false, false};
  while (true) {
    const std::int64_t a = lunar_lander_heuristic_discrete(obs);
    const StepResult r = env->step({std::span(&a, 1), {}}, obs);
    for (int i = 0; i < 2; ++i) {
      EXPECT_EQ(obs[static_cast<std::size_t>(6 + i)], env->world().leg_contact(i) ? 1.0f : 0.0f);
      seen[i] = seen[i] || obs[static_cast<std::size_t>(6 + i)] == 1.0f;
      // A leg on the ground is low: within a leg's reach of the pad.
      if (obs[static_cast<std::size_t>(6 + i)] == 1.0f) {
        EXPECT_LT(obs[1], 0.2f);
      }
    }
    if (r.terminated || r.truncated) break;
  }
  EXPECT_TRUE(seen[0] && seen[1]);
}

TEST(LunarLander, TimeLimitTruncatesThroughTheBaseClass) {
  auto env = make("LunarLander-v3", {{"max_episode_steps", "7"}});
  std::vector<float> obs(8);
  env->reset(2, obs);
  const std::int64_t main = 2;  // hovering up: nothing ends the episode in 7 steps
  for (int t = 1; t <= 7; ++t) {
    const StepResult r = env->step({std::span(&main, 1), {}}, obs);
    EXPECT_FALSE(r.terminated);
    EXPECT_EQ(r.truncated, t == 7);
  }
  EXPECT_TRUE(env->needs_reset());
}

TEST(LunarLander, WindAndGravityOptionsChangeTheFlight) {
  auto run = [](const OptionMap& options) {
    auto env = make_lander(options);
    return testing::record_episodes(*env, {4}, 9, 40);
  };
  const auto calm = run({});
  EXPECT_EQ(calm, run({}));
  EXPECT_NE(calm, run({{"enable_wind", "true"}}));
  EXPECT_NE(calm, run({{"gravity", "-5"}}));
  // Wind off: its powers change nothing.
  EXPECT_EQ(calm, run({{"wind_power", "5"}, {"turbulence_power", "0.5"}}));
  EXPECT_NE(run({{"enable_wind", "true"}}), run({{"enable_wind", "true"}, {"wind_power", "5"}}));
}

TEST(LunarLander, WeakerGravityFallsSlower) {
  auto fall = [](const char* gravity) {
    auto env = make_lander({{"gravity", gravity}});
    std::vector<float> obs(8);
    env->reset(3, obs);
    const std::int64_t nothing = 0;
    for (int t = 0; t < 30; ++t) env->step({std::span(&nothing, 1), {}}, obs);
    return obs[3];
  };
  EXPECT_GT(fall("-2"), fall("-10"));
}

// A fresh b2World per episode: the same seeds give the same episodes bit for bit whatever ran
// before, and whatever the thread count.
TEST(LunarLander, SameSeedsSameEpisodesBitForBit) {
  for (bool continuous : {false, true}) {
    const std::vector<std::uint64_t> seeds{7, 8, 9, 10, 11};
    auto used = make_lander({}, continuous);
    testing::record_episodes(*used, {1, 2, 3}, 99);  // history a reused world would carry
    const auto after_history = testing::record_episodes(*used, seeds, 5);
    auto fresh = make_lander({}, continuous);
    EXPECT_EQ(after_history, testing::record_episodes(*fresh, seeds, 5));
    // Reset out of order and again: nothing carries over.
    auto again = make_lander({}, continuous);
    testing::record_episodes(*again, {11, 7}, 5);
    EXPECT_EQ(after_history, testing::record_episodes(*again, seeds, 5));
  }
}

TEST(LunarLander, VectorEnvIsIdenticalForOneAndFourThreads) {
  for (const char* id : {"LunarLander-v3", "LunarLanderContinuous-v3"}) {
    const auto serial = testing::record_vector(id, 8, 1, 400, 21);
    EXPECT_EQ(serial, testing::record_vector(id, 8, 4, 400, 21)) << id;
  }
}

TEST(LunarLander, StateIsADocumentedSubsetAndSnapshotsAreRefused) {
  auto env = make_lander();
  std::vector<float> obs(8);
  EXPECT_NE(error_of([&] { env->get_state(); }).find("needs reset() first"), std::string::npos);
  env->reset(0, obs);
  const auto state = env->get_state();
  ASSERT_EQ(state.size(), 6u);
  const BodyKinematics k = env->world().lander();
  EXPECT_EQ(state, (std::vector<double>{k.x, k.y, k.angle, k.vx, k.vy, k.angular_velocity}));

  // set_state places the lander (legs carried along) and writes the matching observation.
  const std::vector<double> target{8.0, 9.0, 0.3, 1.0, -2.0, 0.5};
  env->set_state(target, obs);
  const auto placed = env->get_state();
  for (std::size_t i = 0; i < 6; ++i) EXPECT_NEAR(placed[i], target[i], 1e-5) << i;
  EXPECT_FLOAT_EQ(obs[0], static_cast<float>((placed[0] - 10) / 10));
  EXPECT_FLOAT_EQ(obs[4], static_cast<float>(placed[2]));
  EXPECT_NE(error_of([&] {
              env->set_state(std::vector<double>{1, 2}, obs);
            }).find("state needs 6 values"),
            std::string::npos);

  EXPECT_FALSE(env->can_snapshot());
  ByteWriter out;
  EXPECT_NE(error_of([&] { env->save(out); }).find("cannot be saved"), std::string::npos);
  auto vec = LocalVectorEnv::make("LunarLander-v3", {}, 2, 1);
  EXPECT_FALSE(vec->can_snapshot());
}

// Gymnasium 1.4.0's uniform-random policy: return about -182 +- 103 over episodes of about 95
// steps. Box2D 2.4 sends the lander tumbling (|angle| > pi, each radian costing 100 of shaping)
// after a hard leg impact in about 6% of episodes, which drags the mean down (docs/BOX2D.md);
// the other episodes average like Gymnasium's. Measured over seeds 1000..1199: -208 +- 139, 95.7
// steps; without the tumbling episodes (185 of 200) -186.
TEST(LunarLander, RandomPolicyStatisticsAreCloseToGymnasium) {
  auto env = make_lander();
  std::vector<float> obs(8);
  Rng actions(777);
  const int episodes = 200;
  double sum = 0, steps = 0, calm_sum = 0;
  int calm = 0, crashed_or_out = 0;
  for (int e = 0; e < episodes; ++e) {
    env->reset(1000 + static_cast<std::uint64_t>(e), obs);
    double ret = 0;
    bool tumbled = false;
    while (true) {
      const auto a = static_cast<std::int64_t>(actions.below(4));
      const StepResult r = env->step({std::span(&a, 1), {}}, obs);
      ret += r.reward;
      ++steps;
      tumbled = tumbled || std::fabs(obs[4]) > 3.14159f;
      if (r.terminated || r.truncated) {
        if (r.terminated && r.reward == -100.0) ++crashed_or_out;
        break;
      }
    }
    sum += ret;
    if (!tumbled) {
      calm_sum += ret;
      ++calm;
    }
  }
  const double mean_return = sum / episodes, mean_length = steps / episodes;
  EXPECT_GT(mean_return, -240.0);
  EXPECT_LT(mean_return, -150.0);
  EXPECT_GT(mean_length, 80.0);
  EXPECT_LT(mean_length, 110.0);
  EXPECT_GE(calm, 180);
  EXPECT_NEAR(calm_sum / calm, -182.0, 20.0);
  EXPECT_GE(crashed_or_out, 190);  // random flights almost never come to rest
}

}  // namespace
}  // namespace trustrl::envs
