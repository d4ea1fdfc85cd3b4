// Data-parallel learners over c10d/Gloo (two threads here, one process group each): two
// learners given half a batch each reach the parameters one learner reaches on the whole batch.

#include <gtest/gtest.h>
#include <unistd.h>

#include <thread>

#include "agents/env_actor.h"
#include "agents/mappo.h"
#include "agents/ppo.h"
#include "agents/rollout_channel.h"
#include "agents/rollout_columns.h"
#include "agents/trainer.h"
#include "core/error.h"
#include "server/distributed/c10d_collective.h"
#include "tests/support/child_process.h"

namespace trustrl::server {
namespace {

torch::Tensor parameters_of(agents::Learner& learner) {
  ByteWriter w;
  learner.snapshot().save(w);
  // The flat parameters, normalizers included, as the actors would receive them.
  return torch::from_blob(const_cast<std::uint8_t*>(w.bytes().data()),
                          {static_cast<std::int64_t>(w.bytes().size())}, torch::kUInt8)
      .clone();
}

std::vector<float> weights_of(agents::Learner& learner) {
  std::vector<float> out;
  for (const auto& g : learner.snapshot().groups)
    for (const auto* layers : {&g.weights.actor, &g.weights.critic})
      for (const auto& layer : *layers) {
        out.insert(out.end(), layer.w.begin(), layer.w.end());
        out.insert(out.end(), layer.b.begin(), layer.b.end());
      }
  return out;
}

// Runs `updates` updates of one learner on whole batches and of two data-parallel learners on
// their halves (joined by all_gather_batch, as the trainer does), and compares the weights.
void compare(const agents::TrainConfig& config, int updates) {
  const agents::RunEnv env = agents::probe_env(config, agents::local_env_factory());
  const int n = static_cast<int>(config.env.num_envs),
            steps = static_cast<int>(config.ppo.num_steps);
  // The batches: one actor on all copies, acting with the single learner's policy.
  auto single = agents::make_learner(config, env);
  std::unique_ptr<agents::Actor> actor = agents::make_actor(
      envs::LocalVectorEnv::make(config.env.id, {}, n, 1), 11, single->snapshot());
  std::vector<agents::Rollout> batches(static_cast<std::size_t>(updates));
  for (int u = 0; u < updates; ++u) {
    actor->collect(steps, batches[static_cast<std::size_t>(u)]);
    single->update(batches[static_cast<std::size_t>(u)], 1.0 - 0.1 * u);
    actor->set_policy(single->snapshot());
  }

  const int port = testing::free_port();
  std::vector<std::vector<float>> weights(2);
  std::vector<torch::Tensor> bytes(2);
  std::vector<std::string> errors(2);
  // Built here, one after the other: initial weights come from libtorch's global generator.
  std::vector<std::unique_ptr<agents::Learner>> learners;
  for (int rank = 0; rank < 2; ++rank) learners.push_back(agents::make_learner(config, env));
  auto learner_thread = [&](int rank) {
    try {
      DataParallelOptions options;
      options.rank = rank;
      options.world_size = 2;
      options.master_port = port;
      options.timeout_s = 60;
      C10dCollective collective(options);
      agents::Learner* learner = learners[static_cast<std::size_t>(rank)].get();
      learner->set_collective(&collective);
      for (int u = 0; u < updates; ++u) {
        const agents::Rollout& whole = batches[static_cast<std::size_t>(u)];
        agents::Batch batch;
        batch.rollout =
            agents::slice_columns(whole, rank == 0 ? 0 : n / 2, rank == 0 ? n / 2 : n - n / 2);
        ASSERT_TRUE(agents::all_gather_batch(collective, batch, true));
        ASSERT_EQ(batch.rollout.observations, whole.observations)
            << "the halves join into the whole batch";
        learner->update(batch.rollout, 1.0 - 0.1 * u);
      }
      weights[static_cast<std::size_t>(rank)] = weights_of(*learner);
      bytes[static_cast<std::size_t>(rank)] = parameters_of(*learner);
    } catch (const std::exception& e) {
      errors[static_cast<std::size_t>(rank)] = e.what();
    }
  };
  std::thread a(learner_thread, 0), b(learner_thread, 1);
  a.join();
  b.join();
  ASSERT_EQ(errors[0], "");
  ASSERT_EQ(errors[1], "");
  EXPECT_TRUE(torch::equal(bytes[0], bytes[1])) << "the two learners hold bit-identical policies";
  const std::vector<float> expected = weights_of(*single);
  ASSERT_EQ(weights[0].size(), expected.size());
  double worst = 0;
  for (std::size_t i = 0; i < expected.size(); ++i)
    worst = std::max(worst, std::abs(static_cast<double>(weights[0][i]) - expected[i]));
  EXPECT_LT(worst, 2e-5) << "largest difference from the single learner's weights";
  // And the update did move them: the comparison is not between two untouched networks.
  auto untouched = agents::make_learner(config, env);
  const std::vector<float> initial = weights_of(*untouched);
  double moved = 0;
  for (std::size_t i = 0; i < expected.size(); ++i)
    moved = std::max(moved, std::abs(static_cast<double>(initial[i]) - expected[i]));
  EXPECT_GT(moved, 1e-3);
}

TEST(DataParallel, TwoLearnersOnHalfBatchesMatchOneOnTheWholePpo) {
  compare(agents::parse_train_config(R"(
seed: 5
env: {id: CartPole-v1, num_envs: 8}
ppo: {num_steps: 32, num_minibatches: 4, update_epochs: 3, learning_rate: 0.003}
trust_region: {clip: 0.2, kl_penalty: {enabled: true, beta: 0.5, target: 0.01}, kl_bound: {delta: 0.05}}
normalize: {observations: true, rewards: true}
)"),
          3);
}

TEST(DataParallel, TwoLearnersOnHalfBatchesMatchOneOnTheWholeMappo) {
  compare(agents::parse_train_config(R"(
algo: mappo
seed: 5
env: {id: simple_spread_v3, num_envs: 4}
ppo: {num_steps: 25, num_minibatches: 2, update_epochs: 2, value_norm: true, learning_rate: 0.001}
normalize: {observations: true}
)"),
          2);
}

TEST(DataParallel, BadRankIsRefused) {
  DataParallelOptions options;
  options.rank = 2;
  options.world_size = 2;
  EXPECT_THROW(C10dCollective collective(options), Error);
}

}  // namespace
}  // namespace trustrl::server
