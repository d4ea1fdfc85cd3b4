// Specs and batches on the wire, single- and multi-agent: round trips, packing, and the checks on
// every answer a client reads (sizes, finite values, the team reward).

#include "server/env_protocol/convert.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>

#include "core/error.h"
#include "envs/registry.h"
#include "envs/vector_env.h"
#include "server/env_protocol/spec_hash.h"

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

// The message of the ProtocolError `body` throws ("" when it throws none; another error escapes).
std::string protocol_error_of(const std::function<void()>& body) {
  try {
    body();
  } catch (const ProtocolError& e) {
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
  EXPECT_EQ(spec_difference(cartpole, cartpole), std::nullopt);
  other = cartpole;
  other.mutable_observation_space()->set_high(0, 5.0f);
  EXPECT_NE(
      spec_difference(cartpole, other).value_or("").find("observation_space: expected Box([-4.8"),
      std::string::npos);
}

// The wire layout of CartPole-v1: a plain env, so its batches take the single-agent form.
AgentLayout cartpole_layout() {
  return AgentLayout(envs::LocalVectorEnv::make("CartPole-v1", {}, 1, 1)->spec());
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
  const AgentLayout layout = cartpole_layout();
  ASSERT_FALSE(layout.agent_axis);
  wire::StepResponse msg;
  write_step(layout, local, &msg);
  EXPECT_EQ(msg.agent_rewards_size(), 0) << "no agent_* fields in the single-agent form";
  EXPECT_EQ(msg.agent_active_size(), 0);
  EXPECT_EQ(msg.final_agent_active_size(), 0);
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
  remote.final_active.assign(remote.final_active.size(), 0);
  read_step(layout, msg, remote, "test");
  EXPECT_EQ(remote.observations, local.observations);
  EXPECT_EQ(remote.rewards, local.rewards);
  EXPECT_EQ(remote.terminated, local.terminated);
  EXPECT_EQ(remote.truncated, local.truncated);
  EXPECT_EQ(remote.final_observations, local.final_observations);
  EXPECT_EQ(remote.episode_returns, local.episode_returns);
  EXPECT_EQ(remote.episode_lengths, local.episode_lengths);
  for (int i = 0; i < 4; ++i) {
    if (!local.done(i)) continue;
    const auto k = static_cast<std::size_t>(i);
    EXPECT_EQ(remote.final_active[k], 1) << "an ended copy's one agent was active at its end";
    EXPECT_EQ(remote.agent_episode_returns[k], local.episode_returns[k]);
  }
}

TEST(Convert, BadStepBatchesAreRefusedNamingTheSource) {
  const envs::StepBuffers local = stepped_buffers();
  const AgentLayout layout = cartpole_layout();
  wire::StepResponse good;
  write_step(layout, local, &good);
  envs::StepBuffers into;
  into.resize(4, 1, 4, 0);
  auto error = [&](const wire::StepResponse& msg) {
    return protocol_error_of([&] { read_step(layout, msg, into, "simulator at sim:1"); });
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
  EXPECT_NE(protocol_error_of([&] {
              read_reset(layout, reset, into, "sim");
            }).find("sim sent 1 values in the reset's observations, expected 16"),
            std::string::npos);
}

// The multi-agent wire form.

TEST(MultiAgentConvert, SpecRoundTrip) {
  for (const std::string id :
       {"simple_spread_v3", "simple_speaker_listener_v4", "multiwalker_v9"}) {
    const envs::MultiAgentSpec spec = envs::make_multi_agent(id)->spec();
    const wire::EnvSpec message = to_wire(spec);
    EXPECT_NO_THROW(validate(message)) << id;
    EXPECT_EQ(multi_agent_from_wire(message).canonical(), spec.canonical()) << id;
    EXPECT_NE(error_of([&] { from_wire(message); }).find("a single-agent client cannot drive"),
              std::string::npos)
        << id;
  }
  envs::MultiAgentSpec no_state = envs::make_multi_agent("simple_spread_v3")->spec();
  no_state.state_space = envs::Space{};
  const wire::EnvSpec message = to_wire(no_state);
  EXPECT_EQ(message.state_space().kind(), wire::SPACE_KIND_UNSPECIFIED);
  EXPECT_EQ(multi_agent_from_wire(message).state_dim(), 0);
}

TEST(MultiAgentConvert, RefusesSpecsItCannotDrive) {
  wire::EnvSpec spec = to_wire(envs::make_multi_agent("simple_speaker_listener_v4")->spec());
  wire::EnvSpec sentinel = spec;
  sentinel.mutable_agents(0)->mutable_action_space()->set_start(-1);
  EXPECT_NE(error_of([&] { multi_agent_from_wire(sentinel); }).find("no-action sentinel"),
            std::string::npos);
  wire::EnvSpec miscounted = spec;
  miscounted.set_num_agents(3);
  EXPECT_NE(error_of([&] {
              multi_agent_from_wire(miscounted);
            }).find("spec.num_agents is 3 but spec.agents lists 2"),
            std::string::npos);
  wire::EnvSpec unnamed = spec;
  unnamed.mutable_agents(1)->clear_name();
  EXPECT_EQ(multi_agent_from_wire(unnamed).agent_names[1], "agent_1");
}

TEST(MultiAgentConvert, ActionsPackInAgentOrderPerDtype) {
  // Agent 0 Discrete(3), agent 1 Box of 2, agent 2 MultiDiscrete([2, 4]): D = 3, C = 2, width 2.
  envs::MultiAgentSpec spec;
  spec.id = "mixed";
  spec.agent_names = {"a", "b", "c"};
  spec.observation_spaces = {envs::Space::box(-1, 1, {1}), envs::Space::box(-1, 1, {3}),
                             envs::Space::box(-1, 1, {2})};
  spec.action_spaces = {envs::Space::discrete(3), envs::Space::box(-1, 1, {2}),
                        envs::Space::multi_discrete({2, 4})};
  const AgentLayout layout(spec);
  EXPECT_EQ(layout.obs_width, 6);
  EXPECT_EQ(layout.discrete_width, 3);
  EXPECT_EQ(layout.continuous_width, 2);
  const float nan = envs::kNoContinuousAction;
  const std::int64_t none = envs::kNoDiscreteAction;
  // Two copies, padded [2, 3, 2].
  const std::vector<std::int64_t> discrete{2, none, none, none, 1, 3, 0, none, none, none, 0, 2};
  const std::vector<float> continuous{nan, nan, 0.5f,  -0.5f, nan, nan,
                                      nan, nan, 0.25f, 1.0f,  nan, nan};
  wire::StepRequest request;
  pack_actions(layout, 2, {discrete, continuous}, &request);
  EXPECT_EQ(std::vector<std::int64_t>(request.discrete_actions().begin(),
                                      request.discrete_actions().end()),
            (std::vector<std::int64_t>{2, 1, 3, 0, 0, 2}));
  EXPECT_EQ(
      std::vector<float>(request.continuous_actions().begin(), request.continuous_actions().end()),
      (std::vector<float>{0.5f, -0.5f, 0.25f, 1.0f}));
  std::vector<std::int64_t> d;
  std::vector<float> c;
  ASSERT_NO_THROW(unpack_actions(layout, 2, request, d, c));
  EXPECT_EQ(d, discrete);
  const std::vector<std::uint8_t> all_active(6, 1);
  EXPECT_NO_THROW(check_joint_actions(spec, 2, all_active, {d, c}));
  // Agent c of copy 1 inactive: its MultiDiscrete slot must hold -1, -1.
  std::vector<std::uint8_t> active(6, 1);
  active[5] = 0;
  EXPECT_EQ(protocol_error_of([&] {
              check_joint_actions(spec, 2, active, {d, c});
            }),
            "copy 1, agent 2 (c) is inactive; its action must be -1 (no action), got 0 at "
            "component 0");
  EXPECT_EQ(protocol_error_of([&] {
              check_joint_actions(
                  spec, 2, all_active,
                  {std::vector<std::int64_t>(discrete.begin(), discrete.end() - 1), c});
            }),
            "expected 12 discrete action values ([2 copies, 3 agents, 2 per agent]), got 11");
  EXPECT_EQ(protocol_error_of([&] {
              check_joint_actions(spec, 2, std::vector<std::uint8_t>(5, 1), {d, c});
            }),
            "the active mask holds 5 values, expected 6");
  d[11] = 4;
  EXPECT_EQ(
      protocol_error_of([&] {
        check_joint_actions(spec, 2, all_active, {d, c});
      }),
      "copy 1, agent 2 (c): discrete action 4 at component 1 is outside MultiDiscrete([2, 4]) "
      "(allowed 0..3)");

  // The request's fields must hold [N, D] discrete and [N, C] continuous values.
  wire::StepRequest short_request = request;
  short_request.mutable_continuous_actions()->RemoveLast();
  EXPECT_EQ(protocol_error_of([&] { unpack_actions(layout, 2, short_request, d, c); }),
            "expected 4 values in continuous_actions (2 copies x 2 continuous component(s) of the "
            "agents' action spaces, in agent order), got 3");
  // read_actions checks the unpacked batch against the masks too: copy 1's agent c is inactive.
  EXPECT_EQ(protocol_error_of([&] { read_actions(spec, layout, 2, active, request, d, c); }),
            "copy 1, agent 2 (c) is inactive; its action must be -1 (no action), got 0 at "
            "component 0");
  EXPECT_NO_THROW(read_actions(spec, layout, 2, all_active, request, d, c));
  EXPECT_EQ(d, discrete);
}

TEST(Convert, ActionsOfAPlainEnvAreReadInTheSingleAgentForm) {
  const auto env = envs::LocalVectorEnv::make("CartPole-v1", {}, 2, 1);
  const AgentLayout layout(env->spec());
  const std::vector<std::uint8_t> active(2, 1);
  std::vector<std::int64_t> d;
  std::vector<float> c;
  wire::StepRequest request;
  request.add_discrete_actions(1);
  request.add_discrete_actions(0);
  ASSERT_NO_THROW(read_actions(env->spec(), layout, 2, active, request, d, c));
  EXPECT_EQ(d, (std::vector<std::int64_t>{1, 0}));
  request.set_discrete_actions(1, 2);
  EXPECT_EQ(protocol_error_of([&] { read_actions(env->spec(), layout, 2, active, request, d, c); }),
            "the action of copy 1 is 2, outside Discrete(2) (allowed 0..1)");
  request.add_continuous_actions(0.5f);
  EXPECT_EQ(protocol_error_of([&] { read_actions(env->spec(), layout, 2, active, request, d, c); }),
            "the action space Discrete(2) takes discrete_actions (int64); continuous_actions must "
            "be empty, got 1 values");
}

// A real step response of a local env, then one fault at a time: the client names each.
class MultiAgentReadStep : public testing::Test {
 protected:
  MultiAgentReadStep()
      : env_(envs::LocalVectorEnv::make("simple_speaker_listener_v4", {{"max_episode_steps", "2"}},
                                        2, 1)),
        layout_(env_->spec()) {
    env_->reset(1);
    const std::vector<std::int64_t> actions{1, 2, 0, 4};
    env_->step({actions, {}});
    env_->step({actions, {}});  // both copies end at the time limit
    write_step(layout_, env_->buffers(), &good_);
    mirror_.resize(2, 2, layout_.padded_obs, layout_.state_dim);
  }
  std::string read(const wire::StepResponse& r) {
    return protocol_error_of([&] { read_step(layout_, r, mirror_, "simulator at test"); });
  }

  std::unique_ptr<envs::LocalVectorEnv> env_;
  AgentLayout layout_;
  wire::StepResponse good_;
  envs::StepBuffers mirror_;
};

TEST_F(MultiAgentReadStep, ReadsWhatTheServerWrote) {
  ASSERT_EQ(read(good_), "");
  const envs::StepBuffers& b = env_->buffers();
  EXPECT_EQ(mirror_.observations, b.observations);
  EXPECT_EQ(mirror_.final_observations, b.final_observations);
  EXPECT_EQ(mirror_.final_states, b.final_states);
  EXPECT_EQ(mirror_.final_active, b.final_active);
  EXPECT_EQ(mirror_.rewards, b.rewards);
  EXPECT_EQ(mirror_.episode_returns, b.episode_returns);
  EXPECT_EQ(mirror_.episode_lengths, b.episode_lengths);
}

TEST_F(MultiAgentReadStep, NamesEveryFault) {
  auto with = [&](const std::function<void(wire::StepResponse&)>& change) {
    wire::StepResponse r = good_;
    change(r);
    return read(r);
  };
  EXPECT_NE(with([](auto& r) { r.mutable_agent_active()->RemoveLast(); })
                .find("simulator at test sent 3 values in agent_active, expected 4 ([2 copies, 2 "
                      "agents])"),
            std::string::npos);
  EXPECT_NE(with([](auto& r) {
              r.clear_final_agent_active();
            }).find("sent 0 values in final_agent_active, expected 4"),
            std::string::npos);
  EXPECT_NE(with([](auto& r) { r.mutable_states()->RemoveLast(); }).find("in states, expected 28"),
            std::string::npos);
  EXPECT_NE(with([](auto& r) {
              r.set_observations(15, NAN);
            }).find("sent nan in the observation of copy 1 (component 1)"),
            std::string::npos);
  EXPECT_NE(with([](auto& r) {
              r.set_final_states(3, INFINITY);
            }).find("sent inf in the final state of ended copy 0 (component 3)"),
            std::string::npos);
  EXPECT_NE(with([](auto& r) {
              r.set_agent_rewards(3, NAN);
            }).find("sent nan in the agent rewards of copy 1 (component 1)"),
            std::string::npos);
  EXPECT_NE(with([](auto& r) {
              r.set_rewards(0, r.rewards(0) + 1.0);
            }).find("but its agent_rewards sum to"),
            std::string::npos);
  EXPECT_NE(with([](auto& r) {
              r.set_episode_lengths(1, 0);
            }).find("sent an episode length of 0 for ended copy 1"),
            std::string::npos);
}

}  // namespace
}  // namespace trustrl::server
