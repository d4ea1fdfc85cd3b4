#include "agents/flat_adam.h"

#include <gtest/gtest.h>

namespace trustrl::agents {
namespace {

// Same updates as torch.optim.Adam on an identical copy of the module.
TEST(FlatAdam, MatchesTorchAdam) {
  torch::manual_seed(0);
  torch::nn::Sequential a(torch::nn::Linear(4, 8), torch::nn::Tanh(), torch::nn::Linear(8, 2));
  torch::nn::Sequential b(torch::nn::Linear(4, 8), torch::nn::Tanh(), torch::nn::Linear(8, 2));
  {
    torch::NoGradGuard g;
    for (std::size_t i = 0; i < a->parameters().size(); ++i)
      b->parameters()[i].copy_(a->parameters()[i]);
  }
  FlatAdam flat(*a, 0.01, 0.9, 0.999, 1e-5);
  torch::optim::Adam ref(b->parameters(), torch::optim::AdamOptions(0.01).eps(1e-5));
  for (int step = 0; step < 20; ++step) {
    const auto x = torch::randn({16, 4});
    flat.zero_grad();
    a->forward(x).pow(2).sum().backward();
    flat.step();
    ref.zero_grad();
    b->forward(x).pow(2).sum().backward();
    ref.step();
  }
  for (std::size_t i = 0; i < a->parameters().size(); ++i)
    EXPECT_TRUE(torch::allclose(a->parameters()[i], b->parameters()[i], 1e-5, 1e-6)) << i;
}

TEST(FlatAdam, ClipsTheGlobalNorm) {
  torch::nn::Linear l(3, 3);
  FlatAdam flat(*l, 0.1);
  flat.zero_grad();
  (l->forward(torch::ones({1, 3})) * 100).sum().backward();
  const double before = flat.clip_grad_norm(0.5);
  EXPECT_GT(before, 0.5);
  double sq = 0;
  for (const auto& p : l->parameters()) sq += p.grad().pow(2).sum().item<double>();
  EXPECT_NEAR(std::sqrt(sq), 0.5, 1e-4);
}

TEST(FlatAdam, SaveLoadRestoresParametersAndMoments) {
  torch::manual_seed(1);
  torch::nn::Linear a(2, 2), b(2, 2);
  FlatAdam fa(*a, 0.1), fb(*b, 0.1);
  fa.zero_grad();
  a->forward(torch::ones({1, 2})).sum().backward();
  fa.step();
  ByteWriter w;
  fa.save(w);
  ByteReader r(w.bytes(), "adam");
  fb.load(r);
  EXPECT_TRUE(torch::equal(a->weight, b->weight));
  // One more identical step stays identical: the moments came along.
  for (auto* f : {&fa, &fb}) f->zero_grad();
  a->forward(torch::ones({1, 2})).sum().backward();
  b->forward(torch::ones({1, 2})).sum().backward();
  fa.step();
  fb.step();
  EXPECT_TRUE(torch::equal(a->weight, b->weight));
}

}  // namespace
}  // namespace trustrl::agents
