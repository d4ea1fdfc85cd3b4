// Multi-agent specs and batches on the wire: round trips, packing, and the checks on every answer
// a client reads (sizes, finite values, the team reward).

#include "server/multi_agent_convert.h"

#include <gtest/gtest.h>

#include <cmath>

#include "core/error.h"
#include "envs/registry.h"
#include "envs/vector_env.h"

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
  ASSERT_EQ(unpack_actions(layout, 2, request, d, c), "");
  EXPECT_EQ(d, discrete);
  EXPECT_EQ(joint_action_error(spec, 2, std::vector<std::uint8_t>(6, 1), {d, c}), "");
  // Agent c of copy 1 inactive: its MultiDiscrete slot must hold -1, -1.
  std::vector<std::uint8_t> active(6, 1);
  active[5] = 0;
  EXPECT_EQ(joint_action_error(spec, 2, active, {d, c}),
            "copy 1, agent 2 (c) is inactive; its action must be -1 (no action), got 0 at "
            "component 0");
  EXPECT_EQ(
      joint_action_error(spec, 2, std::vector<std::uint8_t>(6, 1),
                         {std::vector<std::int64_t>(discrete.begin(), discrete.end() - 1), c}),
      "expected 12 discrete action values ([2 copies, 3 agents, 2 per agent]), got 11");
  d[11] = 4;
  EXPECT_EQ(
      joint_action_error(spec, 2, std::vector<std::uint8_t>(6, 1), {d, c}),
      "copy 1, agent 2 (c): discrete action 4 at component 1 is outside MultiDiscrete([2, 4]) "
      "(allowed 0..3)");
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
    return error_of([&] { read_step(layout_, r, mirror_, "simulator at test"); });
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
