// The rollout's wire form against the one list of its fields (agents/rollout_fields.h): a field
// added to the list but not to to_wire / from_wire fails here.

#include "server/distributed/learner_convert.h"

#include <gtest/gtest.h>

#include <type_traits>

#include "agents/rollout_fields.h"
#include "trustrl/learner/v1/learner.pb.h"

namespace trustrl::server {
namespace {

TEST(LearnerConvert, EveryRolloutFieldCrossesTheWire) {
  // Two agents (one Discrete, one Box), a critic input, both action kinds: every buffer in use.
  agents::Rollout r;
  r.allocate(/*steps=*/3, /*envs=*/4, /*agents=*/2, /*obs=*/5, /*action=*/2, /*discrete=*/true,
             /*critic=*/3, /*continuous_too=*/true);
  r.policy_version = 17;
  agents::for_each_rollout_column([&](const auto& column) {
    auto& buffer = r.*column.member;
    using T = typename std::decay_t<decltype(column)>::value_type;
    for (std::size_t i = 0; i < buffer.size(); ++i)
      buffer[i] =
          std::is_same_v<T, float> ? static_cast<T>(0.25 * static_cast<double>(i) - 3.0) : T{0};
  });
  for (std::size_t row = 0; row < r.discrete_actions.size() / 2; row += 2)
    r.discrete_actions[row * 2] = static_cast<std::int64_t>(row % 3);  // agent 0's Discrete(3)
  r.active[3] = 0;
  r.terminated[1] = 1;
  r.truncated[6] = 1;
  r.episodes = {{1.5, 7, 3.0}, {-2.0, 9, -4.0}};

  RolloutShape shape;
  shape.num_steps = 3;
  shape.num_agents = 2;
  shape.obs_dim = 5;
  shape.action_dim = 2;
  shape.critic_dim = 3;
  shape.multi_agent = true;
  shape.action_spaces = {envs::Space::discrete(3), envs::Space::box(-1, 1, {2})};
  shape.discrete = true;
  shape.continuous = true;

  learner_wire::Rollout message;
  to_wire(r, &message);
  const agents::Rollout back = from_wire(message, shape, 4);
  const auto* descriptor = learner_wire::Rollout::descriptor();
  agents::for_each_rollout_header([&](const char* name, auto member) {
    EXPECT_NE(descriptor->FindFieldByName(name), nullptr) << name << " has no wire field";
    EXPECT_EQ(back.*member, r.*member) << name;
  });
  agents::for_each_rollout_column([&](const auto& column) {
    EXPECT_NE(descriptor->FindFieldByName(column.name), nullptr)
        << column.name << " has no wire field";
    EXPECT_FALSE((r.*column.member).empty()) << column.name;
    EXPECT_EQ(back.*column.member, r.*column.member) << column.name;
  });
  ASSERT_EQ(back.episodes.size(), 2u);
  EXPECT_EQ(back.episodes[1].episode_return, -2.0);
  EXPECT_EQ(back.episodes[1].length, 9);
  EXPECT_EQ(back.episodes[1].team_return, -4.0);
}

}  // namespace
}  // namespace trustrl::server
