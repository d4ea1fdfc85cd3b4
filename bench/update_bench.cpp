// Microbenchmarks of the learner and actor hot paths (Google Benchmark): one PPO minibatch step
// (forward, backward, Adam on the flat buffer), the natural-gradient step and its Fisher-vector
// product, a dense layer's products, and the actor's plain-C++ inference, for the network sizes
// of the built-in configs.
// docs/BENCHMARKS.md quotes them.

#include <benchmark/benchmark.h>

#include "agents/dense_products.h"
#include "agents/fisher_vector_product.h"
#include "agents/inference.h"
#include "agents/natural_gradient_step.h"
#include "agents/network.h"
#include "agents/policy_update.h"
#include "agents/threads.h"

namespace trustrl::agents {
namespace {

// One update of `epochs` x (batch / minibatch) steps on random data, reported per minibatch step;
// the last argument picks the fused update (1) or libtorch autograd (0).
void BM_PpoMinibatchStep(benchmark::State& state) {
  set_compute_threads(1);
  const int obs = static_cast<int>(state.range(0));
  const int actions = static_cast<int>(state.range(1));
  const int minibatch = static_cast<int>(state.range(2));
  torch::manual_seed(0);
  ActorCritic net(NetworkShape{obs, obs, envs::Space::discrete(actions)}, NetworkConfig{});
  FlatAdam adam(*net, 3e-4, 0.9, 0.999, 1e-5);
  TrustRegionConfig trc;
  TrustRegion tr(trc);
  PpoConfig ppo;
  ppo.minibatch_size = minibatch;
  ppo.update_epochs = 4;
  ppo.fused_update = state.range(3) != 0;
  Rng rng(1);
  const int batch = minibatch * 16;
  UpdateBatch b;
  b.obs = torch::randn({batch, obs});
  b.critic_inputs = b.obs;
  b.actions = torch::randint(actions, {batch, 1}, torch::kInt64);
  b.old_log_probs = torch::full({batch}, -std::log(static_cast<float>(actions)));
  b.old_values = torch::zeros({batch});
  b.advantages = torch::randn({batch});
  b.returns = torch::randn({batch});
  std::int64_t steps = 0;
  for (auto _ : state) {
    const UpdateStats s = run_policy_update(*net, adam, tr, ppo, rng, b, 1.0);
    steps += s.minibatches;
  }
  state.SetItemsProcessed(steps);  // items: minibatch steps
}
BENCHMARK(BM_PpoMinibatchStep)
    ->ArgsProduct({{4}, {2}, {128}, {1, 0}})
    ->ArgsProduct({{8, 24}, {4}, {64}, {1, 0}})
    ->Unit(benchmark::kMillisecond);

// trust_region.mode natural_gradient: one Fisher-vector product, and one whole policy step (the
// surrogate's gradient, 15 CG iterations, the line search) on a batch of `rows`, Discrete
// actions, the default 64x64 tanh actor.
struct NaturalGradientProblem {
  ActorCritic net;
  NaturalGradientBatch batch;
  Distribution old_dist;
  NaturalGradientProblem(int obs, int actions, int rows)
      : net((
            torch::manual_seed(0),
            ActorCritic(NetworkShape{obs, obs, envs::Space::discrete(actions)}, NetworkConfig{}))) {
    batch.obs = torch::randn({rows, obs});
    batch.actions = torch::randint(actions, {rows, 1}, torch::kInt64);
    batch.advantages = torch::randn({rows});
    torch::NoGradGuard no_grad;
    old_dist = net->distribution(batch.obs).detach();
    batch.old_log_probs = old_dist.log_prob(batch.actions);
  }
};

void BM_FisherVectorProduct(benchmark::State& state) {
  set_compute_threads(1);
  NaturalGradientProblem p(static_cast<int>(state.range(0)), static_cast<int>(state.range(1)),
                           static_cast<int>(state.range(2)));
  // The fourth argument: 0 the closed form, 1 double backward (agents/fisher_vector_product.h).
  const FisherMethod method =
      state.range(3) == 0 ? FisherMethod::kClosedForm : FisherMethod::kDoubleBackward;
  const FisherVectorProduct fvp(*p.net, p.batch.obs, 0.1, method);
  const torch::Tensor v = torch::randn({fvp.size()});
  for (auto _ : state) benchmark::DoNotOptimize(fvp(v).data_ptr<float>());
  state.SetItemsProcessed(state.iterations());  // items: products
}
BENCHMARK(BM_FisherVectorProduct)
    ->ArgsProduct({{8}, {4}, {1024, 4096}, {0, 1}})
    ->Unit(benchmark::kMillisecond);

void BM_NaturalGradientStep(benchmark::State& state) {
  set_compute_threads(1);
  NaturalGradientProblem p(static_cast<int>(state.range(0)), static_cast<int>(state.range(1)),
                           static_cast<int>(state.range(2)));
  NaturalGradientConfig config;
  config.cg_iters = 15;
  config.fisher_method =
      state.range(3) == 0 ? FisherMethod::kClosedForm : FisherMethod::kDoubleBackward;
  config.fused_forward = state.range(3) == 0;  // as run_policy_update pairs them
  const torch::Tensor start = flat_policy_parameters(*p.net);
  NaturalGradientStats stats;
  for (auto _ : state) {
    set_flat_policy_parameters(*p.net, start);  // every iteration steps from the same policy
    stats = natural_gradient_step(*p.net, p.batch, p.old_dist, config);
    benchmark::DoNotOptimize(stats.kl);
  }
  state.SetItemsProcessed(state.iterations());  // items: whole policy steps
  state.counters["cg_iterations"] = stats.cg_iterations;
  state.counters["backtracks"] = stats.backtracks;
}
BENCHMARK(BM_NaturalGradientStep)
    ->ArgsProduct({{8}, {4}, {1024, 4096}, {0, 1}})
    ->Unit(benchmark::kMillisecond);

// One whole update of trust_region.mode natural_gradient as configs/trpo_lunarlander.yaml runs
// it: the policy step on `rows` rows (15 CG iterations), then the critic's 15 epochs of 128-row
// minibatches; the fourth argument picks the fused paths (1) or libtorch autograd (0).
void BM_NaturalGradientUpdate(benchmark::State& state) {
  set_compute_threads(1);
  const int obs = static_cast<int>(state.range(0));
  const int actions = static_cast<int>(state.range(1));
  const int batch = static_cast<int>(state.range(2));
  torch::manual_seed(0);
  ActorCritic net(NetworkShape{obs, obs, envs::Space::discrete(actions)}, NetworkConfig{});
  FlatAdam adam(*net, 1e-3, 0.9, 0.999, 1e-5);
  TrustRegionConfig trc;
  trc.mode = TrustRegionMode::kNaturalGradient;
  trc.clip = std::nullopt;
  trc.kl_bound.delta = 0.01;
  trc.kl_bound.backtrack_coef = 0.8;
  trc.natural_gradient.cg_iters = 15;
  trc.natural_gradient.cg_damping = 0.01;
  TrustRegion tr(trc);
  PpoConfig ppo;
  ppo.minibatch_size = 128;
  ppo.update_epochs = 15;
  ppo.vf_coef = 1.0;
  ppo.value_clip = std::nullopt;
  ppo.max_grad_norm = 1e6;
  ppo.fused_update = state.range(3) != 0;
  Rng rng(1);
  UpdateBatch b;
  b.obs = torch::randn({batch, obs});
  b.critic_inputs = b.obs;
  b.actions = torch::randint(actions, {batch, 1}, torch::kInt64);
  b.old_values = torch::zeros({batch});
  b.advantages = torch::randn({batch});
  b.returns = torch::randn({batch});
  {
    torch::NoGradGuard no_grad;
    b.old_log_probs = net->distribution(b.obs).log_prob(b.actions);
  }
  const torch::Tensor start = adam.parameters().clone();
  for (auto _ : state) {
    adam.set_parameters(start);  // every iteration updates the same policy
    benchmark::DoNotOptimize(run_policy_update(*net, adam, tr, ppo, rng, b, 1.0).samples);
  }
  state.SetItemsProcessed(state.iterations());  // items: whole updates
}
BENCHMARK(BM_NaturalGradientUpdate)
    ->ArgsProduct({{8}, {4}, {1024}, {1, 0}})
    ->Unit(benchmark::kMillisecond);

void BM_ActorInference(benchmark::State& state) {
  const int obs = static_cast<int>(state.range(0));
  const int rows = static_cast<int>(state.range(1));
  torch::manual_seed(0);
  ActorCritic net(NetworkShape{obs, obs, envs::Space::discrete(4)}, NetworkConfig{});
  PolicyInference inf(export_weights(*net));
  std::vector<float> x(static_cast<std::size_t>(rows * obs), 0.3f),
      v(static_cast<std::size_t>(rows));
  Rng rng(1);
  ActResult act;
  for (auto _ : state) {
    inf.act(x.data(), rows, false, rng, act);
    inf.values(x.data(), rows, v.data());
    benchmark::DoNotOptimize(act.log_probs.data());
  }
  state.SetItemsProcessed(state.iterations() * rows);
}
BENCHMARK(BM_ActorInference)->Args({4, 4})->Args({8, 16})->Args({24, 32})->Args({8, 64});

// A dense layer's products (agents/dense_products.h) on `rows` x `width` x `width`, for the layer
// sizes of the configs: 64 (PPO's), 128 (HARL's); rows 1,024 (a TRPO batch) to 4,000 (HARL's MPE
// batch). The first argument picks the product: 0 forward x Wᵀ, 1 weight gradient deltaᵀ x (a sum
// over the rows, the one blocking matters for), 2 input gradient delta W. Reports FLOP/s.
void BM_DenseProduct(benchmark::State& state) {
  const int product = static_cast<int>(state.range(0));
  const std::int64_t width = state.range(1), rows = state.range(2);
  const DenseShape s{rows, width, width};
  Rng rng(1);
  auto random = [&](std::int64_t n) {
    std::vector<float> v(static_cast<std::size_t>(n));
    for (float& x : v) x = static_cast<float>(rng.normal());
    return v;
  };
  const std::vector<float> x = random(rows * width), w = random(width * width),
                           delta = random(rows * width), bias = random(width);
  std::vector<float> out(static_cast<std::size_t>(rows * width)), scratch(w.size());
  for (auto _ : state) {
    if (product == 0)
      dense_forward(s, x.data(), w.data(), bias.data(), out.data(), scratch.data());
    else if (product == 1)
      dense_weight_gradient(s, x.data(), delta.data(), out.data(), scratch.data());
    else
      dense_input_gradient(s, delta.data(), w.data(), out.data());
    benchmark::DoNotOptimize(out.data());
  }
  state.counters["FLOP/s"] = benchmark::Counter(
      2.0 * static_cast<double>(rows * width * width) * static_cast<double>(state.iterations()),
      benchmark::Counter::kIsRate);
}
BENCHMARK(BM_DenseProduct)
    ->ArgsProduct({{0, 1, 2}, {64, 128}, {1024, 4000}})
    ->Unit(benchmark::kMicrosecond);

}  // namespace
}  // namespace trustrl::agents

BENCHMARK_MAIN();
