// Hopper-v5 and HalfCheetah-v5 (envs/mujoco/): spaces, one step's reward decomposition checked by
// hand from the state before and after, Hopper's termination, reset noise, instability, and the
// one-line errors for broken models. The conformance suite runs them as registered ids.

#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <tuple>

#include "core/error.h"
#include "envs/mujoco/embedded_models.h"
#include "envs/mujoco/half_cheetah.h"
#include "envs/mujoco/hopper.h"
#include "envs/mujoco/locomotion.h"
#include "envs/mujoco/mujoco_sim.h"
#include "envs/registry.h"
#include "tests/envs/mujoco_test_util.h"

namespace trustrl::envs {
namespace {

namespace fs = std::filesystem;

void expect_one_line_naming(const std::function<void()>& load, const std::string& name) {
  try {
    load();
    FAIL() << "loaded " << name;
  } catch (const Error& e) {
    const std::string message = e.what();
    EXPECT_NE(message.find(name), std::string::npos) << message;
    EXPECT_EQ(message.find('\n'), std::string::npos) << message;
    // MuJoCo's own reason follows the name.
    EXPECT_GT(message.size(), message.find(name) + name.size() + 2) << message;
  }
}

TEST(MujocoSpaces, HopperAndHalfCheetahHaveGymnasiumsShapes) {
  auto hopper = make("Hopper-v5");
  EXPECT_EQ(hopper->obs_dim(), 11);
  EXPECT_EQ(hopper->action_dim(), 3);
  EXPECT_EQ(hopper->spec().max_episode_steps, 1000);
  EXPECT_EQ(hopper->spec().render_fps, 125);  // 1 / (4 * 2 ms)
  auto cheetah = make("HalfCheetah-v5");
  EXPECT_EQ(cheetah->obs_dim(), 17);
  EXPECT_EQ(cheetah->action_dim(), 6);
  EXPECT_EQ(cheetah->spec().max_episode_steps, 1000);
  EXPECT_EQ(cheetah->spec().render_fps, 20);  // 1 / (5 * 10 ms)
  for (const Env* env : {hopper.get(), cheetah.get()}) {
    const Space& a = env->spec().action_space;
    EXPECT_TRUE(std::all_of(a.low.begin(), a.low.end(), [](float v) { return v == -1.0f; }));
    EXPECT_TRUE(std::all_of(a.high.begin(), a.high.end(), [](float v) { return v == 1.0f; }));
    const Space& o = env->spec().observation_space;
    EXPECT_TRUE(std::all_of(o.low.begin(), o.low.end(), [](float v) { return std::isinf(v); }));
  }
}

TEST(MujocoSpaces, IncludingXPutsItFirst) {
  for (const char* id : {"Hopper-v5", "HalfCheetah-v5"}) {
    auto with_x = make(id, {{"exclude_current_positions_from_observation", "false"}});
    auto without_x = make(id);
    EXPECT_EQ(with_x->obs_dim(), without_x->obs_dim() + 1) << id;
    auto obs = obs_for(*with_x);
    with_x->reset(3, obs);
    EXPECT_EQ(obs[0], static_cast<float>(with_x->get_state()[0])) << id;
    auto short_obs = obs_for(*without_x);
    without_x->reset(3, short_obs);
    EXPECT_TRUE(std::equal(short_obs.begin(), short_obs.end(), obs.begin() + 1)) << id;
  }
}

TEST(Hopper, OneStepRewardIsForwardPlusHealthyMinusControl) {
  auto env = make_env<Hopper>("Hopper-v5");
  auto obs = obs_for(*env);
  env->reset(7, obs);
  const double x_before = env->get_state()[0];
  const float action[3] = {0.5f, -0.3f, 2.0f};  // 2.0 is clamped by MuJoCo, not in the cost
  const StepResult r = env->step({{}, action}, obs);
  const std::vector<double> s = env->get_state();
  const double x_velocity = (s[0] - x_before) / (4 * 0.002);
  const double ctrl_cost = 1e-3 * (0.25 + 0.09 + 4.0);
  EXPECT_NEAR(env->info().x_velocity, x_velocity, 1e-12);
  EXPECT_NE(x_velocity, 0.0);
  EXPECT_NEAR(env->info().reward_forward, x_velocity, 1e-12);
  EXPECT_NEAR(env->info().reward_ctrl, -ctrl_cost, 1e-9);
  EXPECT_EQ(env->info().reward_survive, 1.0);
  EXPECT_NEAR(r.reward, x_velocity + 1.0 - ctrl_cost, 1e-9);
  EXPECT_FALSE(r.terminated);
  // Observation: qpos[1:] then qvel clipped to +-10.
  for (int i = 0; i < 5; ++i) EXPECT_EQ(obs[i], static_cast<float>(s[i + 1])) << i;
  for (int i = 0; i < 6; ++i)
    EXPECT_EQ(obs[5 + i], static_cast<float>(std::clamp(s[6 + i], -10.0, 10.0))) << i;
}

TEST(Hopper, RewardWeightsAreOptions) {
  auto env = make_env<Hopper>(
      "Hopper-v5",
      {{"forward_reward_weight", "2"}, {"ctrl_cost_weight", "0.5"}, {"healthy_reward", "3"}});
  auto obs = obs_for(*env);
  env->reset(7, obs);
  const double x_before = env->get_state()[0];
  const float action[3] = {1.0f, 0.0f, -1.0f};
  const StepResult r = env->step({{}, action}, obs);
  const double x_velocity = (env->get_state()[0] - x_before) / env->dt();
  EXPECT_NEAR(r.reward, 2 * x_velocity + 3 - 0.5 * 2.0, 1e-9);
}

TEST(Hopper, VelocityObservationIsClippedButStateIsNot) {
  auto env = make_env<Hopper>("Hopper-v5");
  auto obs = obs_for(*env);
  env->reset(0, obs);
  const std::vector<double> state = {0, 1.25, 0, 0, 0, 0, 30, -30, 0, 0, 0, 0};
  env->set_state(state, obs);
  EXPECT_EQ(obs[5], 10.0f);
  EXPECT_EQ(obs[6], -10.0f);
  EXPECT_EQ(env->get_state()[6], 30.0);
}

TEST(Hopper, TerminatesWhenTheTorsoFallsBelowHealthyZ) {
  auto env = make_env<Hopper>("Hopper-v5");
  auto obs = obs_for(*env);
  env->reset(0, obs);
  const float zero[3] = {0, 0, 0};
  // Upright at the start: healthy, goes on.
  EXPECT_TRUE(env->is_healthy());
  EXPECT_FALSE(env->step({{}, zero}, obs).terminated);
  // Torso at z = 0.6 (< 0.7), everything else at rest.
  env->set_state(std::vector<double>{0, 0.6, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}, obs);
  EXPECT_FALSE(env->is_healthy());
  const StepResult r = env->step({{}, zero}, obs);
  EXPECT_TRUE(r.terminated);
  EXPECT_FALSE(r.truncated);
  EXPECT_EQ(env->info().reward_survive, 0.0);
  EXPECT_EQ(env->unstable_steps(), 0);  // the healthy check ended it, not the physics
  EXPECT_TRUE(env->needs_reset());
}

TEST(Hopper, TerminatesWhenTheTorsoTiltsOrAStateLeavesItsRange) {
  auto env = make_env<Hopper>("Hopper-v5");
  auto obs = obs_for(*env);
  env->reset(0, obs);
  env->set_state(std::vector<double>{0, 1.25, 0.3, 0, 0, 0, 0, 0, 0, 0, 0, 0}, obs);
  EXPECT_FALSE(env->is_healthy());
  env->set_state(std::vector<double>{0, 1.25, 0.1, 0, 0, 0, 0, 0, 0, 0, 0, 0}, obs);
  EXPECT_TRUE(env->is_healthy());
  env->set_state(std::vector<double>{0, 1.25, 0, 0, 0, 0, 0, 0, 0, 150, 0, 0}, obs);
  EXPECT_FALSE(env->is_healthy());
  // Gymnasium checks state_vector()[2:]: the x and z positions are outside the state range
  // check, the x velocity is inside it.
  env->set_state(std::vector<double>{500, 150, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}, obs);
  EXPECT_TRUE(env->is_healthy());
  env->set_state(std::vector<double>{0, 1.25, 0, 0, 0, 0, 150, 0, 0, 0, 0, 0}, obs);
  EXPECT_FALSE(env->is_healthy());
}

TEST(Hopper, UnhealthyGoesOnWithoutTermination) {
  auto env = make_env<Hopper>("Hopper-v5", {{"terminate_when_unhealthy", "false"}});
  auto obs = obs_for(*env);
  env->reset(0, obs);
  env->set_state(std::vector<double>{0, 0.6, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}, obs);
  const float zero[3] = {0, 0, 0};
  const StepResult r = env->step({{}, zero}, obs);
  EXPECT_FALSE(r.terminated);
  EXPECT_EQ(env->info().reward_survive, 0.0);
}

TEST(Hopper, V4PaysTheHealthyRewardOnTheTerminatingStep) {
  const std::vector<double> fallen = {0, 0.6, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0};
  const float zero[3] = {0, 0, 0};
  for (const auto& [version, terminate, paid] :
       {std::tuple{4, "true", 1.0}, std::tuple{4, "false", 0.0}, std::tuple{5, "true", 0.0}}) {
    EnvOptions options("Hopper-v" + std::to_string(version),
                       {{"terminate_when_unhealthy", terminate}});
    Hopper env(options, version);
    auto obs = obs_for(env);
    env.reset(0, obs);
    env.set_state(fallen, obs);
    const StepResult r = env.step({{}, zero}, obs);
    EXPECT_EQ(env.info().reward_survive, paid) << version << " " << terminate;
    EXPECT_EQ(r.terminated, std::string(terminate) == "true") << version << " " << terminate;
    EXPECT_NEAR(r.reward, env.info().reward_forward + paid, 1e-12);
  }
}

TEST(MujocoV4, HasNoFrameSkipOrXmlFileOption) {
  for (const char* id : {"Hopper-v4", "HalfCheetah-v4"}) {
    EXPECT_THROW(make(id, {{"frame_skip", "2"}}), Error) << id;
    EXPECT_THROW(make(id, {{"xml_file", "/tmp/x.xml"}}), Error) << id;
    EXPECT_EQ(make(id)->spec().id, id);
  }
  EXPECT_EQ(make("Hopper-v5", {{"frame_skip", "2"}})->spec().render_fps, 250);
}

TEST(MujocoV4, HalfCheetahV4MovesAsV5) {
  auto v4 = make("HalfCheetah-v4"), v5 = make("HalfCheetah-v5");
  auto obs4 = obs_for(*v4), obs5 = obs_for(*v5);
  v4->reset(21, obs4);
  v5->reset(21, obs5);
  const float action[6] = {0.2f, -0.4f, 0.6f, -0.8f, 1.0f, 0.0f};
  for (int t = 0; t < 20; ++t)
    ASSERT_EQ(v4->step({{}, action}, obs4).reward, v5->step({{}, action}, obs5).reward) << t;
  EXPECT_EQ(obs4, obs5);
}

TEST(Hopper, HealthyRangesAreChecked) {
  EXPECT_THROW(make("Hopper-v5", {{"healthy_z_min", "2"}, {"healthy_z_max", "1"}}), Error);
  EXPECT_THROW(make("Hopper-v5", {{"healthy_z_range", "0.7"}}), Error);  // unknown option
  EXPECT_THROW(make("Hopper-v5", {{"frame_skip", "0"}}), Error);
  EXPECT_THROW(make("Hopper-v5", {{"reset_noise_scale", "-1"}}), Error);
}

TEST(HalfCheetah, OneStepRewardIsForwardMinusControlAndNeverTerminates) {
  auto env = make_env<HalfCheetah>("HalfCheetah-v5");
  auto obs = obs_for(*env);
  env->reset(11, obs);
  const float action[6] = {1.0f, -1.0f, 0.5f, 0.0f, 0.25f, -0.75f};
  double sum_squares = 0;
  for (float a : action) sum_squares += static_cast<double>(a) * a;
  for (int t = 0; t < 50; ++t) {
    const double x_before = env->get_state()[0];
    const StepResult r = env->step({{}, action}, obs);
    const std::vector<double> s = env->get_state();
    const double x_velocity = (s[0] - x_before) / (5 * 0.01);
    EXPECT_NEAR(env->info().reward_forward, x_velocity, 1e-12);
    EXPECT_NEAR(env->info().reward_ctrl, -0.1 * sum_squares, 1e-12);
    EXPECT_NEAR(r.reward, x_velocity - 0.1 * sum_squares, 1e-9);
    ASSERT_FALSE(r.terminated);
    // Observation: qpos[1:] then qvel, unclipped.
    for (int i = 0; i < 8; ++i) ASSERT_EQ(obs[i], static_cast<float>(s[i + 1])) << i;
    for (int i = 0; i < 9; ++i) ASSERT_EQ(obs[8 + i], static_cast<float>(s[9 + i])) << i;
  }
  EXPECT_NE(env->get_state()[0], 0.0);
}

TEST(MujocoReset, HopperNoiseIsUniformWithinItsScale) {
  for (const double scale : {5e-3, 0.2}) {
    auto env = make_env<Hopper>("Hopper-v5", {{"reset_noise_scale", std::to_string(scale)}});
    auto obs = obs_for(*env);
    const std::vector<double> init(env->sim().init_qpos().begin(), env->sim().init_qpos().end());
    double largest = 0;
    for (std::uint64_t seed = 0; seed < 20; ++seed) {
      env->reset(seed, obs);
      const std::vector<double> s = env->get_state();
      for (std::size_t i = 0; i < 12; ++i) {
        const double noise = s[i] - (i < 6 ? init[i] : 0.0);
        ASSERT_LE(std::abs(noise), scale) << i;
        largest = std::max(largest, std::abs(noise));
      }
    }
    EXPECT_GT(largest, 0.8 * scale);  // 240 uniform draws reach the edge
  }
}

TEST(MujocoReset, HalfCheetahPositionNoiseIsUniformAndVelocityNoiseScales) {
  auto env = make_env<HalfCheetah>("HalfCheetah-v5");
  auto obs = obs_for(*env);
  double sum_sq = 0;
  int n = 0;
  for (std::uint64_t seed = 0; seed < 50; ++seed) {
    env->reset(seed, obs);
    const std::vector<double> s = env->get_state();
    for (std::size_t i = 0; i < 9; ++i) ASSERT_LE(std::abs(s[i] - env->sim().init_qpos()[i]), 0.1);
    for (std::size_t i = 9; i < 18; ++i) sum_sq += s[i] * s[i], ++n;
  }
  // 0.1 * standard normal: the spread of 450 draws is near 0.1.
  EXPECT_NEAR(std::sqrt(sum_sq / n), 0.1, 0.02);
  auto quiet = make_env<HalfCheetah>("HalfCheetah-v5", {{"reset_noise_scale", "0"}});
  quiet->reset(5, obs);
  const std::vector<double> s = quiet->get_state();
  for (std::size_t i = 0; i < 9; ++i) EXPECT_EQ(s[i], quiet->sim().init_qpos()[i]);
  for (std::size_t i = 9; i < 18; ++i) EXPECT_EQ(s[i], 0.0);
}

// The shared reset draws qpos's noise, then qvel's, from the env's Rng in coordinate order: the
// same Rng drawn by hand gives the same state, bit for bit, for either velocity noise.
TEST(MujocoReset, ResetWithNoiseDrawsPositionsThenVelocitiesInOrder) {
  MujocoSim sim = MujocoSim::from_xml("hopper.xml", embedded_model("hopper.xml"));
  for (const VelocityNoise noise : {VelocityNoise::kUniform, VelocityNoise::kNormal}) {
    const double scale = 0.05;
    Rng rng(42), by_hand(42);
    reset_with_noise(sim, rng, scale, noise);
    for (std::size_t i = 0; i < sim.qpos().size(); ++i)
      EXPECT_EQ(sim.qpos()[i], sim.init_qpos()[i] + by_hand.uniform(-scale, scale)) << i;
    for (std::size_t i = 0; i < sim.qvel().size(); ++i)
      EXPECT_EQ(sim.qvel()[i], noise == VelocityNoise::kNormal ? scale * by_hand.normal()
                                                               : by_hand.uniform(-scale, scale))
          << i;
  }
}

TEST(MujocoReward, SurviveRewardIsPaidWhileHealthyAndByV4OnTheTerminatingStep) {
  EXPECT_EQ(survive_reward(true, 5, true, 1.5), 1.5);
  EXPECT_EQ(survive_reward(false, 5, true, 1.5), 0.0);
  EXPECT_EQ(survive_reward(false, 4, true, 1.5), 1.5);   // Gymnasium issue 526
  EXPECT_EQ(survive_reward(false, 4, false, 1.5), 0.0);  // no termination: not paid
  EXPECT_EQ(survive_reward(true, 4, false, 1.5), 1.5);
}

TEST(MujocoInstability, EndsTheEpisodeWithFiniteObservationsAndCounts) {
  auto env = make_env<HalfCheetah>("HalfCheetah-v5");
  auto obs = obs_for(*env);
  env->reset(0, obs);
  std::vector<double> state = env->get_state();
  state[9 + 3] = 1e11;  // bthigh's velocity above MuJoCo's 1e10 limit
  env->set_state(state, obs);
  const float zero[6] = {0, 0, 0, 0, 0, 0};
  const StepResult r = env->step({{}, zero}, obs);
  EXPECT_TRUE(r.terminated);
  EXPECT_EQ(r.reward, 0.0);
  EXPECT_EQ(env->unstable_steps(), 1);
  EXPECT_TRUE(std::all_of(obs.begin(), obs.end(), [](float v) { return std::isfinite(v); }));
  env->reset(1, obs);
  EXPECT_FALSE(env->step({{}, zero}, obs).terminated);
  EXPECT_EQ(env->unstable_steps(), 1);
}

TEST(MujocoSim, BrokenModelTextIsRefusedInOneLine) {
  expect_one_line_naming(
      [] { MujocoSim::from_xml("broken.xml", "<mujoco><worldbody><body></mujoco>"); },
      "broken.xml");
  expect_one_line_naming(
      [] {
        MujocoSim::from_xml("bad_joint.xml",
                            "<mujoco><worldbody><body><joint type=\"sprocket\"/>"
                            "<geom size=\"1\"/></body></worldbody></mujoco>");
      },
      "bad_joint.xml");
}

TEST(MujocoSim, MissingOrBrokenModelFileIsRefusedInOneLine) {
  const fs::path dir = fs::temp_directory_path() / ("trustrl_mujoco_" + std::to_string(::getpid()));
  fs::create_directories(dir);
  const std::string missing = (dir / "missing.xml").string();
  expect_one_line_naming([&] { make("Hopper-v5", {{"xml_file", missing}}); }, missing);
  const std::string broken = (dir / "broken.xml").string();
  std::ofstream(broken) << "<mujoco><worldbody><geom type=\"capsule\"";
  expect_one_line_naming([&] { make("HalfCheetah-v5", {{"xml_file", broken}}); }, broken);
  fs::remove_all(dir);
}

TEST(MujocoSim, BuiltInModelsAreTheAssetFiles) {
  // The compiled-in text and the file under envs/mujoco/assets/ give the same simulation.
  for (const auto& [id, file] :
       {std::pair{"Hopper-v5", "hopper.xml"}, std::pair{"HalfCheetah-v5", "half_cheetah.xml"},
        std::pair{"Walker2d-v5", "walker2d_v5.xml"}}) {
    const std::string path = std::string(TRUSTRL_SOURCE_DIR) + "/envs/mujoco/assets/" + file;
    auto built_in = make(id);
    auto from_file = make(id, {{"xml_file", path}});
    auto obs_a = obs_for(*built_in), obs_b = obs_for(*from_file);
    built_in->reset(9, obs_a);
    from_file->reset(9, obs_b);
    Rng rng(1);
    std::vector<float> action(static_cast<std::size_t>(built_in->action_dim()));
    for (int t = 0; t < 30 && !built_in->needs_reset(); ++t) {
      for (float& a : action) a = static_cast<float>(rng.uniform(-1, 1));
      const StepResult ra = built_in->step({{}, action}, obs_a);
      const StepResult rb = from_file->step({{}, action}, obs_b);
      ASSERT_EQ(ra.reward, rb.reward) << id << " step " << t;
      ASSERT_EQ(obs_a, obs_b) << id << " step " << t;
    }
  }
  EXPECT_THROW(embedded_model("swimmer.xml"), Error);
}

TEST(MujocoSim, EveryBuiltInModelIsItsAssetFile) {
  // Models that no -v5 id loads by default (no xml_file option to compare through) as well.
  for (const char* file :
       {"hopper.xml", "half_cheetah.xml", "walker2d_v5.xml", "walker2d_v4.xml"}) {
    const std::string path = std::string(TRUSTRL_SOURCE_DIR) + "/envs/mujoco/assets/" + file;
    MujocoSim built_in = MujocoSim::from_xml(file, embedded_model(file));
    MujocoSim from_file = MujocoSim::from_file(path);
    ASSERT_EQ(built_in.nu(), from_file.nu()) << file;
    Rng rng(2);
    std::vector<float> ctrl(static_cast<std::size_t>(built_in.nu()));
    for (int t = 0; t < 50; ++t) {
      for (float& c : ctrl) c = static_cast<float>(rng.uniform(-1, 1));
      built_in.step(ctrl, 2);
      from_file.step(ctrl, 2);
    }
    EXPECT_EQ(built_in.state(), from_file.state()) << file;
  }
}

TEST(MujocoSim, StateRoundTripsAndWrongSizesAreRefused) {
  auto env = make_env<Hopper>("Hopper-v5");
  auto obs = obs_for(*env);
  env->reset(4, obs);
  const float action[3] = {0.3f, 0.3f, -0.3f};
  for (int t = 0; t < 20; ++t) env->step({{}, action}, obs);
  const std::vector<double> saved = env->get_state();
  ASSERT_EQ(saved.size(), 18u);  // qpos, qvel, warm start
  env->step({{}, action}, obs);
  const std::vector<double> next = env->get_state();
  env->set_state(saved, obs);
  env->step({{}, action}, obs);
  EXPECT_EQ(env->get_state(), next);
  EXPECT_THROW(env->set_state(std::vector<double>(5, 0.0), obs), Error);
  EXPECT_THROW(env->set_state(std::vector<double>(12, NAN), obs), Error);
}

TEST(MujocoSim, ExposesTheBodyQuantitiesTheEnvsObserve) {
  MujocoSim sim = MujocoSim::from_xml("hopper.xml", embedded_model("hopper.xml"));
  ASSERT_EQ(sim.nbody(), 5);  // world, torso, thigh, leg, foot
  EXPECT_EQ(sim.body_id("torso"), 1);
  EXPECT_EQ(sim.body_id("foot"), 4);
  EXPECT_EQ(sim.body_id("tail"), -1);
  EXPECT_EQ(sim.body_mass()[0], 0.0);
  for (int b = 1; b < 5; ++b) {
    EXPECT_GT(sim.body_mass()[b], 0.0) << b;
    EXPECT_DOUBLE_EQ(sim.cinert()[10 * b + 9], sim.body_mass()[b]) << b;  // mass is last
  }
  // At qpos0 the torso frame stands at z = 1.25 above the origin, its capsule centred on it.
  EXPECT_DOUBLE_EQ(sim.xpos()[3 + 2], 1.25);
  EXPECT_DOUBLE_EQ(sim.xipos()[3 + 2], 1.25);
  EXPECT_EQ(sim.xpos().size(), 15u);
  EXPECT_EQ(sim.cvel().size(), 30u);
  EXPECT_EQ(sim.qfrc_actuator().size(), 6u);
  auto all_zero = [](std::span<const double> v) {
    return std::all_of(v.begin(), v.end(), [](double x) { return x == 0.0; });
  };
  EXPECT_TRUE(all_zero(sim.cvel()));
  EXPECT_TRUE(all_zero(sim.cfrc_ext()));
  // The thigh motor's force in joint space is gear 200 times the control.
  const float ctrl[3] = {0.5f, 0.0f, 0.0f};
  sim.step(ctrl, 1);
  EXPECT_DOUBLE_EQ(sim.qfrc_actuator()[3], 100.0);
  EXPECT_EQ(sim.qfrc_actuator()[4], 0.0);
  EXPECT_FALSE(all_zero(sim.cvel()));
  // Falling onto the floor: the foot, then the whole hopper, meets contact forces.
  const float zero[3] = {0, 0, 0};
  for (int t = 0; t < 200; ++t) sim.step(zero, 4);
  EXPECT_TRUE(all_zero(sim.cfrc_ext().subspan(0, 6)));  // the world's
  EXPECT_FALSE(all_zero(sim.cfrc_ext()));
  sim.reset();
  EXPECT_TRUE(all_zero(sim.cfrc_ext()));
}

TEST(MujocoSim, QuaternionsStayAsGivenUntilTheNextStepAndStatesComeBackExactly) {
  MujocoSim sim = MujocoSim::from_xml(
      "ball.xml",
      "<mujoco><worldbody><geom type=\"plane\" size=\"5 5 1\"/><body pos=\"0 0 1\">"
      "<freejoint/><geom type=\"box\" size=\"0.1 0.2 0.3\"/></body></worldbody></mujoco>");
  ASSERT_EQ(sim.nq(), 7);
  // A quaternion of norm 2: kept in qpos (MuJoCo 2.2.2's mj_forward alone would halve it).
  const std::vector<double> qpos = {0, 0, 1, 2, 0, 0, 0}, qvel = {0.5, 0, 0, 1, 2, 3};
  sim.set_qpos_qvel(qpos, qvel);
  EXPECT_EQ(std::vector<double>(sim.qpos().begin(), sim.qpos().end()), qpos);
  const float none[1] = {};
  sim.step(std::span<const float>(none, 0), 1);
  const auto q = sim.qpos().subspan(3, 4);
  EXPECT_NEAR(std::hypot(std::hypot(q[0], q[1]), std::hypot(q[2], q[3])), 1.0, 1e-12);
  // A tumbling box meeting the floor, saved and loaded mid-flight: the same future, bit for bit.
  for (int t = 0; t < 100; ++t) sim.step(std::span<const float>(none, 0), 5);
  const std::vector<double> saved = sim.state();
  for (int t = 0; t < 50; ++t) sim.step(std::span<const float>(none, 0), 5);
  const std::vector<double> later = sim.state();
  sim.set_state(saved);
  for (int t = 0; t < 50; ++t) sim.step(std::span<const float>(none, 0), 5);
  EXPECT_EQ(sim.state(), later);
}

}  // namespace
}  // namespace trustrl::envs
