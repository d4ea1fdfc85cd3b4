#include "envs/vector_env.h"

#include <gtest/gtest.h>

#include <cmath>

#include "core/error.h"
#include "envs/registry.h"

namespace trustrl::envs {
namespace {

// Steps with a fixed action pattern and records every buffer.
std::vector<float> run(const std::string& id, int num_envs, int threads, int steps) {
  auto env = LocalVectorEnv::make(id, {}, num_envs, threads);
  env->reset(99);
  std::vector<float> trace = env->buffers().observations;
  const auto& space = env->spec().action_space;
  std::vector<std::int64_t> discrete;
  std::vector<float> continuous;
  for (int t = 0; t < steps; ++t) {
    discrete.assign(static_cast<std::size_t>(num_envs), 0);
    continuous.assign(static_cast<std::size_t>(num_envs * space.flat_dim()), 0.0f);
    for (int i = 0; i < num_envs; ++i) {
      if (space.is_discrete())
        discrete[static_cast<std::size_t>(i)] = (t * 7 + i * 3) % space.n;
      else
        continuous[static_cast<std::size_t>(i)] =
            static_cast<float>(((t * 7 + i * 3) % 5) - 2) * 0.4f;
    }
    env->step(
        {space.is_discrete() ? std::span<const std::int64_t>(discrete)
                             : std::span<const std::int64_t>(),
         space.is_discrete() ? std::span<const float>() : std::span<const float>(continuous)});
    const auto& b = env->buffers();
    trace.insert(trace.end(), b.observations.begin(), b.observations.end());
    for (int i = 0; i < num_envs; ++i) {
      trace.push_back(static_cast<float>(b.rewards[static_cast<std::size_t>(i)]));
      trace.push_back(b.terminated[static_cast<std::size_t>(i)]);
      trace.push_back(b.truncated[static_cast<std::size_t>(i)]);
    }
  }
  return trace;
}

TEST(VectorEnv, SameSeedSameBatchesWhateverTheThreadCount) {
  for (const char* id : {"CartPole-v1", "Pendulum-v1"}) {
    const auto serial = run(id, 8, 1, 300);
    EXPECT_EQ(serial, run(id, 8, 2, 300)) << id;
    EXPECT_EQ(serial, run(id, 8, 4, 300)) << id;
    EXPECT_EQ(serial, run(id, 8, 8, 300)) << id;
  }
}

TEST(VectorEnv, CopyISeededWithSeedPlusI) {
  auto vec = LocalVectorEnv::make("CartPole-v1", {}, 3, 1);
  vec->reset(10);
  for (int i = 0; i < 3; ++i) {
    auto env = make("CartPole-v1");
    std::vector<float> obs(4);
    env->reset(10 + i, obs);
    for (int k = 0; k < 4; ++k)
      EXPECT_EQ(vec->buffers().observations[static_cast<std::size_t>(i * 4 + k)],
                obs[static_cast<std::size_t>(k)]);
  }
}

TEST(VectorEnv, AutoResetKeepsFinalObservationApart) {
  auto vec = LocalVectorEnv::make("CartPole-v1", {}, 1, 1);
  auto ref = make("CartPole-v1");
  std::vector<float> ref_obs(4);
  vec->reset(5);
  ref->reset(5, ref_obs);
  std::vector<std::int64_t> push_right{1};
  for (int t = 0; t < 100; ++t) {
    vec->step({push_right, {}});
    const StepResult r = ref->step({push_right, {}}, ref_obs);
    const auto& b = vec->buffers();
    if (r.terminated) {
      EXPECT_TRUE(b.terminated[0]);
      EXPECT_EQ(std::vector<float>(b.final_observations.begin(), b.final_observations.end()),
                ref_obs);
      EXPECT_NE(std::vector<float>(b.observations.begin(), b.observations.end()), ref_obs);
      EXPECT_EQ(b.episode_lengths[0], t + 1);
      EXPECT_DOUBLE_EQ(b.episode_returns[0], t + 1.0);
      // The new episode's first observation lies in the reset range.
      for (float x : b.observations) EXPECT_LE(std::fabs(x), 0.05f);
      return;
    }
    EXPECT_EQ(std::vector<float>(b.observations.begin(), b.observations.end()), ref_obs);
  }
  FAIL() << "pushing right never ended the episode";
}

TEST(VectorEnv, WrongActionCountIsAnError) {
  auto vec = LocalVectorEnv::make("CartPole-v1", {}, 4, 1);
  vec->reset(0);
  std::vector<std::int64_t> three{0, 1, 0};
  try {
    vec->step({three, {}});
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("expected 4 discrete action values for 4 copies, got 3"),
              std::string::npos)
        << e.what();
  }
}

TEST(VectorEnv, SnapshotContinuesExactly) {
  auto a = LocalVectorEnv::make("Acrobot-v1", {}, 3, 1);
  a->reset(1);
  std::vector<std::int64_t> act{0, 1, 2};
  for (int t = 0; t < 37; ++t) a->step({act, {}});
  ByteWriter w;
  a->save(w);
  auto b = LocalVectorEnv::make("Acrobot-v1", {}, 3, 1);
  ByteReader r(w.bytes(), "snapshot");
  b->load(r);
  EXPECT_EQ(a->buffers().observations, b->buffers().observations);
  for (int t = 0; t < 600; ++t) {
    a->step({act, {}});
    b->step({act, {}});
    ASSERT_EQ(a->buffers().observations, b->buffers().observations) << t;
    ASSERT_EQ(a->buffers().rewards, b->buffers().rewards) << t;
    ASSERT_EQ(a->buffers().episode_returns, b->buffers().episode_returns) << t;
  }
}

}  // namespace
}  // namespace trustrl::envs
