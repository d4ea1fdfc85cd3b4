#include "agents/critic_rows.h"

#include <gtest/gtest.h>

#include <string>

#include "core/error.h"

namespace trustrl::agents {
namespace {

torch::Tensor ids(std::vector<std::int64_t> v) { return torch::tensor(v, torch::kInt64); }

TEST(CriticRows, AMinibatchHoldsEachStateItReadsOnceInOrderOfFirstUse) {
  const torch::Tensor table = torch::arange(12, torch::kFloat32).reshape({6, 2});
  // Samples 2..7 of the epoch read states 4, 1, 4, 0, 1, 4.
  const torch::Tensor index = ids({5, 5, 4, 1, 4, 0, 1, 4, 3});
  CriticRowGather gather;
  const CriticRows rows = gather.gather(table, index, 2, 6);
  ASSERT_EQ(rows.inputs.sizes(), (std::vector<std::int64_t>{3, 2}));
  EXPECT_TRUE(torch::equal(rows.inputs, table.index_select(0, ids({4, 1, 0}))));
  EXPECT_TRUE(torch::equal(rows.index, ids({0, 1, 0, 2, 1, 0})));
  // Every sample reads its own state.
  EXPECT_TRUE(
      torch::equal(rows.per_sample(rows.inputs), table.index_select(0, index.narrow(0, 2, 6))));

  // The scratch is clean for the next minibatch: states seen before are new again.
  const CriticRows next = gather.gather(table, index, 0, 3);
  EXPECT_TRUE(torch::equal(next.inputs, table.index_select(0, ids({5, 4}))));
  EXPECT_TRUE(torch::equal(next.index, ids({0, 0, 1})));
}

TEST(CriticRows, WithoutAnIndexEverySampleHasItsOwnRow) {
  const torch::Tensor table = torch::randn({5, 3});
  CriticRowGather gather;
  const CriticRows rows = gather.gather(table, torch::Tensor(), 1, 3);
  EXPECT_TRUE(torch::equal(rows.inputs, table.narrow(0, 1, 3)));
  EXPECT_FALSE(rows.index.defined());
  const torch::Tensor v = torch::randn({3});
  EXPECT_TRUE(torch::equal(rows.per_sample(v), v));
}

TEST(CriticRows, AnIndexOutsideTheTableIsRefusedNamingIt) {
  const torch::Tensor table = torch::randn({3, 2});
  CriticRowGather gather;
  try {
    gather.gather(table, ids({0, 2, 7, 1}), 0, 4);
    FAIL() << "an index past the table was taken";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("index 7 of sample 2"), std::string::npos) << e.what();
  }
  // Refusing left the scratch clean.
  const CriticRows rows = gather.gather(table, ids({2, 0, 2}), 0, 3);
  EXPECT_TRUE(torch::equal(rows.index, ids({0, 1, 0})));
}

// The values of the distinct rows gathered back, and their gradient, are the per-sample ones.
TEST(CriticRows, GatheredValuesAndGradientsAreThePerSampleOnes) {
  torch::manual_seed(3);
  const torch::Tensor table = torch::randn({10, 4});
  const torch::Tensor index = torch::randint(0, 10, {32}, torch::kInt64);
  const torch::Tensor w = torch::randn({4}).requires_grad_(true);
  const torch::Tensor target = torch::randn({32});
  auto loss_of = [&](const torch::Tensor& values) { return (values - target).pow(2).mean(); };

  CriticRowGather gather;
  const CriticRows rows = gather.gather(table, index, 0, 32);
  EXPECT_LT(rows.inputs.size(0), 32);  // some states are shared
  const torch::Tensor shared = rows.per_sample(torch::tanh(rows.inputs.matmul(w)));
  const torch::Tensor shared_grad = torch::autograd::grad({loss_of(shared)}, {w})[0];
  const torch::Tensor own = torch::tanh(table.index_select(0, index).matmul(w));
  const torch::Tensor own_grad = torch::autograd::grad({loss_of(own)}, {w})[0];
  EXPECT_TRUE(torch::allclose(shared, own, 1e-6, 1e-7));
  EXPECT_LT(((shared_grad - own_grad).norm() / own_grad.norm()).item<double>(), 1e-5);
}

}  // namespace
}  // namespace trustrl::agents
