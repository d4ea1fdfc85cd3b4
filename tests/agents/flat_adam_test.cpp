#include "agents/flat_adam.h"

#include <gtest/gtest.h>

#include <vector>

#include "core/error.h"

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

// A step over a range reads and writes that range alone; where the rest has zero gradients and
// moments it lands where the whole step does.
TEST(FlatAdam, StepsAndClipsARangeAlone) {
  torch::manual_seed(2);
  torch::nn::Sequential a(torch::nn::Linear(4, 8), torch::nn::Tanh(), torch::nn::Linear(8, 2));
  torch::nn::Sequential b(torch::nn::Linear(4, 8), torch::nn::Tanh(), torch::nn::Linear(8, 2));
  FlatAdam fa(*a, 0.01), fb(*b, 0.01);
  fb.set_parameters(fa.parameters().clone());
  const std::vector<torch::Tensor> pa = a->parameters(), pb = b->parameters();
  const FlatAdam::Range second = fa.range_of({pa[2], pa[3]});  // the second layer
  EXPECT_EQ(second.offset, pa[0].numel() + pa[1].numel());
  EXPECT_EQ(second.count, pa[2].numel() + pa[3].numel());
  const torch::Tensor first_before = pa[0].detach().clone();
  for (int step = 0; step < 5; ++step) {
    const auto x = torch::randn({16, 4});
    for (auto* f : {&fa, &fb}) f->zero_grad();
    // Only the second layer's gradients: the first layer's input cut from the graph.
    a[2]->as<torch::nn::Linear>()
        ->forward(torch::tanh(a[0]->as<torch::nn::Linear>()->forward(x)).detach())
        .pow(2)
        .sum()
        .backward();
    b[2]->as<torch::nn::Linear>()
        ->forward(torch::tanh(b[0]->as<torch::nn::Linear>()->forward(x)).detach())
        .pow(2)
        .sum()
        .backward();
    // Makes the first layer's gradient nonzero in `fa` only: the range's step must not read it.
    pa[0].mutable_grad().fill_(1e3);
    EXPECT_DOUBLE_EQ(fa.clip_grad_norm(1e9, second), fb.clip_grad_norm(1e9));
    fa.step(second);
    pa[0].mutable_grad().zero_();
    fb.step();
  }
  EXPECT_TRUE(torch::equal(pa[0], first_before));
  EXPECT_TRUE(torch::equal(fa.parameters(), fb.parameters()));
  EXPECT_EQ(fa.steps(), fb.steps());
  // Parameters that leave a gap (the first layer's weight and the second's bias) are no range.
  EXPECT_THROW(fa.range_of({pa[0], pa[3]}), Error);
  EXPECT_THROW(fa.step({pa[0].numel(), fa.parameters().numel()}), Error);
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
