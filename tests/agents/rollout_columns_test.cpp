// Rollouts cut and joined along the copy axis, and as bytes.

#include "agents/rollout_columns.h"

#include <gtest/gtest.h>

#include <string>
#include <type_traits>

#include "agents/env_actor.h"
#include "agents/ppo.h"
#include "agents/rollout_fields.h"
#include "agents/trainer.h"
#include "core/error.h"

namespace trustrl::agents {
namespace {

Rollout collect(int copies, int steps, std::uint64_t seed) {
  TrainConfig config =
      parse_train_config("env: {id: CartPole-v1, num_envs: " + std::to_string(copies) + "}");
  const RunEnv env = probe_env(config, local_env_factory());
  auto learner = make_learner(config, env);
  EnvActor actor(envs::LocalVectorEnv::make("CartPole-v1", {}, copies, 1), seed);
  actor.set_policy(learner->snapshot());
  Rollout r;
  actor.collect(steps, r);
  return r;
}

void expect_same(const Rollout& a, const Rollout& b) {
  EXPECT_EQ(a.num_envs, b.num_envs);
  EXPECT_EQ(a.observations, b.observations);
  EXPECT_EQ(a.discrete_actions, b.discrete_actions);
  EXPECT_EQ(a.log_probs, b.log_probs);
  EXPECT_EQ(a.values, b.values);
  EXPECT_EQ(a.rewards, b.rewards);
  EXPECT_EQ(a.terminated, b.terminated);
  EXPECT_EQ(a.truncated, b.truncated);
  EXPECT_EQ(a.final_values, b.final_values);
  EXPECT_EQ(a.bootstrap_values, b.bootstrap_values);
  ASSERT_EQ(a.episodes.size(), b.episodes.size());
  for (std::size_t i = 0; i < a.episodes.size(); ++i) {
    EXPECT_EQ(a.episodes[i].episode_return, b.episodes[i].episode_return) << i;
    EXPECT_EQ(a.episodes[i].length, b.episodes[i].length) << i;
  }
}

TEST(RolloutColumns, SlicesJoinBackToTheWhole) {
  const Rollout whole =
      collect(5, 60, 3);  // CartPole episodes end within 60 steps: episodes to track
  ASSERT_GT(whole.episodes.size(), 5u);
  ASSERT_TRUE(episodes_match_flags(whole));
  const Rollout a = slice_columns(whole, 0, 2), b = slice_columns(whole, 2, 1),
                c = slice_columns(whole, 3, 2);
  EXPECT_EQ(a.num_envs, 2);
  EXPECT_TRUE(episodes_match_flags(a));
  EXPECT_TRUE(episodes_match_flags(c));
  EXPECT_EQ(a.episodes.size() + b.episodes.size() + c.episodes.size(), whole.episodes.size());
  const Rollout joined = merge_columns({&a, &b, &c});
  joined.validate();
  expect_same(joined, whole);
  // Copy 3 of the whole is copy 0 of the last part.
  EXPECT_EQ(c.observations[0], whole.observations[3 * 4]);
}

TEST(RolloutColumns, JoinTakesTheOldestVersionAndRefusesMismatches) {
  Rollout a = collect(2, 8, 1), b = collect(3, 8, 2);
  a.policy_version = 7;
  b.policy_version = 5;
  EXPECT_EQ(merge_columns({&a, &b}).policy_version, 5);
  const Rollout shorter = collect(2, 9, 1);
  EXPECT_THROW(merge_columns({&a, &shorter}), Error);
  EXPECT_THROW(slice_columns(a, 1, 2), Error);
}

TEST(RolloutColumns, BytesRoundTrip) {
  const Rollout r = collect(3, 40, 9);
  ByteWriter w;
  save_rollout(r, w);
  const auto bytes = w.take();
  ByteReader in(bytes, "rollout");
  expect_same(load_rollout(in), r);
  ByteReader cut(std::span<const std::uint8_t>(bytes.data(), bytes.size() / 2), "cut rollout");
  EXPECT_THROW(load_rollout(cut), Error);
}

// A rollout with every buffer in use (two agents, a critic input, both action kinds), values varied
// within and between buffers: allocate sizes every listed buffer as the header says, and cutting,
// joining and the byte form keep every one of them.
TEST(RolloutColumns, EveryBufferSurvivesSliceJoinAndBytes) {
  Rollout r;
  r.allocate(/*steps=*/3, /*envs=*/4, /*agents=*/2, /*obs=*/5, /*action=*/2, /*discrete=*/true,
             /*critic=*/3, /*continuous_too=*/true);
  r.policy_version = 17;
  int buffers = 0;
  for_each_rollout_column([&](const auto& column) {
    auto& buffer = r.*column.member;
    ASSERT_EQ(buffer.size(), column.size(r)) << column.name;
    ASSERT_FALSE(buffer.empty()) << column.name;
    using T = typename std::decay_t<decltype(column)>::value_type;
    for (std::size_t i = 0; i < buffer.size(); ++i)
      buffer[i] = static_cast<T>((i * 7 + static_cast<std::size_t>(buffers)) % 251);
    ++buffers;
  });
  EXPECT_EQ(buffers, 12);
  r.validate();

  auto expect_every_buffer = [&](const Rollout& got, const std::string& what) {
    EXPECT_EQ(got.num_envs, r.num_envs) << what;
    EXPECT_EQ(got.num_agents, r.num_agents) << what;
    EXPECT_EQ(got.critic_dim, r.critic_dim) << what;
    EXPECT_EQ(got.policy_version, r.policy_version) << what;
    for_each_rollout_column([&](const auto& column) {
      EXPECT_EQ(got.*column.member, r.*column.member) << what << ": " << column.name;
    });
  };
  const Rollout left = slice_columns(r, 0, 1), right = slice_columns(r, 1, 3);
  EXPECT_EQ(left.bootstrap_values.size(), 2u);
  expect_every_buffer(merge_columns({&left, &right}), "joined");
  ByteWriter w;
  save_rollout(r, w);
  const auto bytes = w.take();
  ByteReader in(bytes, "rollout");
  expect_every_buffer(load_rollout(in), "bytes");
}

}  // namespace
}  // namespace trustrl::agents
