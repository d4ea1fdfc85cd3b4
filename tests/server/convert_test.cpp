#include "server/convert.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>

#include "core/error.h"
#include "envs/registry.h"
#include "server/spec_hash.h"

namespace trustrl::server {
namespace {

std::string error_of(const std::function<void()>& body) {
  try {
    body();
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

TEST(Convert, SpacesRoundTrip) {
  envs::Space box = envs::Space::box(-2.0f, 3.0f, {2, 3});
  box.low[4] = -INFINITY;
  for (const envs::Space& s :
       {envs::Space::discrete(5, -2), box, envs::Space::multi_discrete({3, 1, 4})})
    EXPECT_EQ(from_wire(to_wire(s), "space"), s) << s.describe();
}

TEST(Convert, SpecRoundTrip) {
  for (const char* id : {"CartPole-v1", "Pendulum-v1", "MountainCarContinuous-v0"}) {
    const envs::EnvSpec spec = envs::make(id)->spec();
    const envs::EnvSpec back = from_wire(to_wire(spec));
    EXPECT_EQ(back.canonical(), spec.canonical());
    EXPECT_EQ(back.reward_threshold, spec.reward_threshold);
    EXPECT_EQ(back.render_fps, spec.render_fps);
  }
}

TEST(Convert, InvalidSpacesNameTheProblem) {
  wire::Space s;
  EXPECT_NE(error_of([&] {
              from_wire(s, "spec.action_space");
            }).find("spec.action_space: the space kind is unset"),
            std::string::npos);
  s.set_kind(wire::SPACE_KIND_BOX);
  s.add_shape(2);
  s.add_low(0);
  s.add_high(1);
  EXPECT_NE(error_of([&] { from_wire(s, "obs"); }).find("needs 2 low and high values, got 1 and 1"),
            std::string::npos);
  s.add_low(NAN);
  s.add_high(1);
  EXPECT_NE(error_of([&] { from_wire(s, "obs"); }).find("bound 1 is NaN"), std::string::npos);
  s.set_low(1, 2);
  EXPECT_NE(error_of([&] { from_wire(s, "obs"); }).find("low > high at component 1"),
            std::string::npos);
  wire::Space d;
  d.set_kind(wire::SPACE_KIND_DISCRETE);
  EXPECT_NE(error_of([&] { from_wire(d, "act"); }).find("n >= 1"), std::string::npos);
  d.set_n(2);
  d.add_nvec(3);
  EXPECT_NE(error_of([&] { from_wire(d, "act"); }).find("nvec belongs to MultiDiscrete"),
            std::string::npos);
  wire::Space huge;
  huge.set_kind(wire::SPACE_KIND_BOX);
  huge.add_shape(1 << 20);
  huge.add_shape(1 << 20);
  EXPECT_NE(error_of([&] { from_wire(huge, "obs"); }).find("more than"), std::string::npos);
}

TEST(Convert, SingleAgentClientsRefuseMultiAgentSpecs) {
  wire::EnvSpec spec = to_wire(envs::make("CartPole-v1")->spec());
  spec.clear_observation_space();
  spec.clear_action_space();
  spec.set_num_agents(2);
  for (int a = 0; a < 2; ++a) {
    auto* agent = spec.add_agents();
    *agent->mutable_observation_space() = to_wire(envs::Space::box(-1, 1, {3}));
    *agent->mutable_action_space() = to_wire(envs::Space::discrete(5));
  }
  EXPECT_NO_THROW(validate(spec));
  EXPECT_NE(error_of([&] { from_wire(spec); }).find("2 agents"), std::string::npos);
  spec.set_num_agents(3);
  EXPECT_NE(error_of([&] { validate(spec); }).find("spec.agents lists 2"), std::string::npos);
}

// The hash is part of the protocol: other implementations (the Python SDK among them) compute
// it too, so its value for a known spec must never change by accident. Python's test checks the
// same constant.
TEST(SpecHash, KnownValueForCartPole) {
  const wire::EnvSpec spec = to_wire(envs::make("CartPole-v1")->spec());
  EXPECT_EQ(hash_text(spec_hash(spec)), "0x5363650e7e2df84f");
}

TEST(SpecHash, CoversWhatChangesTheArraysOnly) {
  const wire::EnvSpec base = to_wire(envs::make("Pendulum-v1")->spec());
  const std::uint64_t h = spec_hash(base);
  wire::EnvSpec other = base;
  other.set_id("MyPendulum");
  other.set_reward_threshold(-100);
  other.set_render_fps(5);
  EXPECT_EQ(spec_hash(other), h) << "id, threshold and fps are informational";
  other = base;
  other.set_max_episode_steps(201);
  EXPECT_NE(spec_hash(other), h);
  other = base;
  other.mutable_action_space()->set_high(0, 2.5f);
  EXPECT_NE(spec_hash(other), h);
  other = base;
  other.set_num_agents(1);
  EXPECT_NE(spec_hash(other), h);
  // -0 and +0 are the same bound.
  wire::EnvSpec a = base, b = base;
  a.mutable_observation_space()->set_low(0, 0.0f);
  b.mutable_observation_space()->set_low(0, -0.0f);
  EXPECT_EQ(spec_hash(a), spec_hash(b));
}

TEST(SpecHash, DifferenceNamesTheFields) {
  const wire::EnvSpec cartpole = to_wire(envs::make("CartPole-v1")->spec());
  wire::EnvSpec other = cartpole;
  other.set_max_episode_steps(200);
  other.mutable_action_space()->set_n(3);
  EXPECT_EQ(spec_difference(cartpole, other),
            "max_episode_steps: expected 500, got 200; action_space: expected Discrete(2), got "
            "Discrete(3)");
  EXPECT_EQ(spec_difference(cartpole, cartpole), "");
  other = cartpole;
  other.mutable_observation_space()->set_high(0, 5.0f);
  EXPECT_NE(spec_difference(cartpole, other).find("observation_space: expected Box([-4.8"),
            std::string::npos);
}

envs::StepBuffers stepped_buffers() {
  auto env = envs::LocalVectorEnv::make("CartPole-v1", {}, 4, 1);
  env->reset(3);
  std::vector<std::int64_t> right(4, 1);
  for (int t = 0; t < 200; ++t) {
    env->step({right, {}});
    if (env->buffers().done(1)) break;
  }
  return env->buffers();
}

TEST(Convert, StepBatchRoundTripsWithFinalObservationsOfEndedCopiesOnly) {
  const envs::StepBuffers local = stepped_buffers();
  ASSERT_TRUE(local.done(1));
  wire::StepResponse msg;
  write_step(local, &msg);
  int ended = 0;
  for (int i = 0; i < 4; ++i) ended += local.done(i);
  EXPECT_EQ(msg.final_observations_size(), ended * 4);
  EXPECT_EQ(msg.episode_lengths_size(), ended);
  envs::StepBuffers remote;
  remote.resize(4, 1, 4, 0);
  // Copies that did not end keep their rows (the message carries none); the ended copies' rows
  // hold stale values that read_step must overwrite, or the comparisons below fail.
  remote.final_observations = local.final_observations;
  remote.episode_returns = local.episode_returns;
  remote.episode_lengths = local.episode_lengths;
  for (int i = 0; i < 4; ++i) {
    if (!local.done(i)) continue;
    const auto k = static_cast<std::size_t>(i);
    std::fill_n(remote.final_observations.begin() + static_cast<std::ptrdiff_t>(4 * k), 4, -99.0f);
    remote.episode_returns[k] = -99.0;
    remote.episode_lengths[k] = -99;
  }
  read_step(msg, remote, "test");
  EXPECT_EQ(remote.observations, local.observations);
  EXPECT_EQ(remote.rewards, local.rewards);
  EXPECT_EQ(remote.terminated, local.terminated);
  EXPECT_EQ(remote.truncated, local.truncated);
  EXPECT_EQ(remote.final_observations, local.final_observations);
  EXPECT_EQ(remote.episode_returns, local.episode_returns);
  EXPECT_EQ(remote.episode_lengths, local.episode_lengths);
}

TEST(Convert, BadStepBatchesAreRefusedNamingTheSource) {
  const envs::StepBuffers local = stepped_buffers();
  wire::StepResponse good;
  write_step(local, &good);
  envs::StepBuffers into;
  into.resize(4, 1, 4, 0);
  auto error = [&](const wire::StepResponse& msg) {
    return error_of([&] { read_step(msg, into, "simulator at sim:1"); });
  };
  wire::StepResponse bad = good;
  bad.mutable_observations()->RemoveLast();
  EXPECT_EQ(error(bad),
            "simulator at sim:1 sent 15 values in observations, expected 16 ([4 copies, 4])");
  bad = good;
  bad.set_observations(6, NAN);
  EXPECT_EQ(error(bad),
            "simulator at sim:1 sent nan in the observation of copy 1 (component 2); "
            "every value must be finite");
  bad = good;
  bad.set_rewards(3, INFINITY);
  EXPECT_NE(error(bad).find("inf in the reward of copy 3"), std::string::npos);
  bad = good;
  bad.add_episode_lengths(3);
  EXPECT_NE(error(bad).find("in episode_lengths, expected"), std::string::npos);
  bad = good;
  bad.set_terminated(0, !bad.terminated(0));
  bad.set_truncated(0, false);
  EXPECT_NE(error(bad).find("final_observations"), std::string::npos) << "K follows the flags";
  wire::ResetResponse reset;
  reset.add_observations(1);
  EXPECT_NE(error_of([&] {
              read_reset(reset, into, "sim");
            }).find("sim sent 1 values in the reset's observations, expected 16"),
            std::string::npos);
}

}  // namespace
}  // namespace trustrl::server
