// The actor's plain-C++ policy must agree with the learner's libtorch networks.

#include "agents/inference.h"

#include <gtest/gtest.h>

#include <cmath>
#include <iostream>

#include "agents/kernel_path.h"
#include "agents/network.h"

namespace trustrl::agents {
namespace {

void check_agreement(const envs::Space& space, Activation activation, bool gsde = false) {
  torch::manual_seed(3);
  NetworkConfig cfg;
  cfg.gsde = gsde;
  cfg.activation = activation;
  cfg.log_std_init = -0.3;
  ActorCritic net(NetworkShape{5, 5, space}, cfg);
  PolicyInference inf(export_weights(*net));
  const torch::Tensor obs = torch::randn({7, 5});
  std::vector<float> x(obs.data_ptr<float>(), obs.data_ptr<float>() + obs.numel());

  std::vector<float> values(7);
  inf.values(x.data(), 7, values.data());
  const torch::Tensor v = net->value(obs).detach();
  for (int i = 0; i < 7; ++i) EXPECT_NEAR(values[i], v[i].item<float>(), 1e-5);

  Rng rng(9);
  ActResult act;
  inf.act(x.data(), 7, false, rng, act);
  const Distribution d = net->distribution(obs);
  torch::Tensor actions;
  if (space.is_discrete()) {
    actions =
        torch::from_blob(act.discrete_actions.data(), {7, space.flat_dim()}, torch::kInt64).clone();
    if (space.kind == envs::SpaceKind::kDiscrete) actions -= space.start;
  } else {
    actions =
        torch::from_blob(act.continuous_actions.data(), {7, space.flat_dim()}, torch::kFloat32)
            .clone();
  }
  const torch::Tensor lp = d.log_prob(actions).detach();
  for (int i = 0; i < 7; ++i) EXPECT_NEAR(act.log_probs[i], lp[i].item<float>(), 2e-5) << i;

  ActResult mode;
  inf.act(x.data(), 7, true, rng, mode);
  const torch::Tensor m = d.mode().detach();
  if (space.is_discrete()) {
    for (int i = 0; i < 7 * space.flat_dim(); ++i)
      EXPECT_EQ(
          mode.discrete_actions[i] - (space.kind == envs::SpaceKind::kDiscrete ? space.start : 0),
          m.view({-1})[i].item<std::int64_t>());
  } else {
    for (int i = 0; i < 7 * space.flat_dim(); ++i)
      EXPECT_NEAR(mode.continuous_actions[i], m.view({-1})[i].item<float>(), 1e-5);
  }
}

TEST(Inference, MatchesTorchDiscrete) {
  check_agreement(envs::Space::discrete(4, 2), Activation::kTanh);
}
TEST(Inference, MatchesTorchMultiDiscrete) {
  check_agreement(envs::Space::multi_discrete({3, 2, 4}), Activation::kRelu);
}
TEST(Inference, MatchesTorchBox) {
  check_agreement(envs::Space::box(-1, 1, {3}), Activation::kTanh);
}
TEST(Inference, MatchesTorchGsde) {
  check_agreement(envs::Space::box(-1, 1, {3}), Activation::kTanh, true);
}

// gSDE: with one exploration matrix held, the noise is a fixed linear function of the features,
// and its per-state std is what the learner's distribution says.
TEST(Inference, GsdeNoiseIsHeldAndStateDependent) {
  torch::manual_seed(4);
  NetworkConfig cfg;
  cfg.gsde = true;
  cfg.log_std_init = -1.0;
  ActorCritic net(NetworkShape{2, 2, envs::Space::box(-5, 5, {1})}, cfg);
  PolicyInference inf(export_weights(*net));
  Rng rng(2);
  std::vector<float> exploration;
  inf.draw_exploration(1, rng, exploration);
  ASSERT_EQ(exploration.size(), 64u);
  // Same state, same matrix: the same action twice (no fresh noise per step).
  const std::vector<float> obs{0.3f, -0.2f};
  ActResult a, b;
  inf.act(obs.data(), 1, false, rng, a, exploration.data());
  inf.act(obs.data(), 1, false, rng, b, exploration.data());
  EXPECT_EQ(a.continuous_actions, b.continuous_actions);
  // Fresh matrices: the spread of the noise matches the distribution's std at each state, and
  // that std differs from state to state.
  std::vector<double> stds;
  for (const std::vector<float>& state : {obs, std::vector<float>{-1.5f, 2.0f}}) {
    const Distribution d = net->distribution(torch::tensor({{state[0], state[1]}}));
    const double want_std = std::exp(d.log_std()[0][0].item<double>());
    double sum = 0, sum2 = 0;
    const int n = 20000;
    for (int i = 0; i < n; ++i) {
      inf.act(state.data(), 1, false, rng, a);
      const double x = a.continuous_actions[0] - d.mean()[0][0].item<double>();
      sum += x;
      sum2 += x * x;
    }
    EXPECT_NEAR(sum / n, 0.0, 0.03 * want_std);
    EXPECT_NEAR(std::sqrt(sum2 / n), want_std, 0.03 * want_std);
    stds.push_back(want_std);
  }
  EXPECT_GT(std::fabs(stds[0] - stds[1]), 0.1 * stds[0]) << "the same std at both states";
}

TEST(Inference, SamplesFollowTheCategoricalProbabilities) {
  PolicyWeights w;
  w.action_space = envs::Space::discrete(3);
  // One layer mapping a 1-dim input to logits log([0.2, 0.3, 0.5]).
  DenseLayer head{1, 3, {0, 0, 0}, {std::log(0.2f), std::log(0.3f), std::log(0.5f)}};
  w.actor = {head};
  w.critic = {DenseLayer{1, 1, {0}, {0}}};
  PolicyInference inf(w);
  std::vector<float> obs(20000, 0.0f);
  Rng rng(1);
  ActResult act;
  inf.act(obs.data(), 20000, false, rng, act);
  int counts[3] = {0, 0, 0};
  for (auto a : act.discrete_actions) ++counts[a];
  EXPECT_NEAR(counts[0] / 20000.0, 0.2, 0.01);
  EXPECT_NEAR(counts[1] / 20000.0, 0.3, 0.01);
  EXPECT_NEAR(counts[2] / 20000.0, 0.5, 0.01);
}

// Every field save() writes comes back: each layer of both networks and the settings
// (non-default here, so that a loader that dropped one would be seen).
TEST(Inference, WeightsRoundTrip) {
  torch::manual_seed(1);
  NetworkConfig cfg;
  cfg.activation = Activation::kRelu;
  cfg.gsde = true;
  cfg.gsde_sample_freq = 4;
  ActorCritic net(NetworkShape{3, 3, envs::Space::box(-2, 2, {2})}, cfg);
  const PolicyWeights w = export_weights(*net);
  ByteWriter out;
  w.save(out);
  ByteReader in(out.bytes(), "weights");
  const PolicyWeights back = PolicyWeights::load(in);
  for (const auto& [got, want] :
       {std::pair{&back.actor, &w.actor}, std::pair{&back.critic, &w.critic}}) {
    ASSERT_EQ(got->size(), want->size());
    for (std::size_t i = 0; i < want->size(); ++i) {
      EXPECT_EQ((*got)[i].in, (*want)[i].in) << i;
      EXPECT_EQ((*got)[i].out, (*want)[i].out) << i;
      EXPECT_EQ((*got)[i].w, (*want)[i].w) << i;
      EXPECT_EQ((*got)[i].b, (*want)[i].b) << i;
    }
  }
  EXPECT_EQ(back.log_std, w.log_std);
  EXPECT_TRUE(back.relu);
  EXPECT_TRUE(back.gsde);
  EXPECT_EQ(back.gsde_sample_freq, 4);
  EXPECT_TRUE(in.at_end());  // the action space travels beside the weights (PolicySnapshot)
}

// The kernel paths (TRUSTRL_ISA) compute the same policy: every path the CPU has gives the
// baseline path's outputs, values and log-probs to float tolerance (FMA contraction and vector
// width change the rounding, not the math). Wide layers so the vector loops and their tails run.
TEST(Inference, EveryKernelPathAgreesWithBaseline) {
  const KernelPath saved = kernel_path();
  for (auto [space, activation] : {std::pair{envs::Space::discrete(5), Activation::kTanh},
                                   std::pair{envs::Space::box(-1, 1, {3}), Activation::kRelu}}) {
    torch::manual_seed(5);
    NetworkConfig cfg;
    cfg.activation = activation;
    cfg.actor_hidden = {67, 64};
    cfg.critic_hidden = {64, 33};
    cfg.log_std_init = -0.4;
    ActorCritic net(NetworkShape{11, 11, space}, cfg);
    PolicyInference inf(export_weights(*net));
    const int rows = 37;
    const torch::Tensor obs = 2 * torch::randn({rows, 11});
    const std::vector<float> x(obs.data_ptr<float>(), obs.data_ptr<float>() + obs.numel());
    struct Result {
      std::vector<float> outputs, values, log_probs;
    };
    auto run = [&](KernelPath path) {
      set_kernel_path(path);
      Result r;
      inf.actor_outputs(x.data(), rows, r.outputs);
      r.values.resize(rows);
      inf.values(x.data(), rows, r.values.data());
      Rng rng(17);
      ActResult act;
      inf.act(x.data(), rows, false, rng, act);
      r.log_probs = act.log_probs;
      return r;
    };
    const Result base = run(KernelPath::kBaseline);
    int compared = 0;
    for (KernelPath path : {KernelPath::kAvx2, KernelPath::kAvx512}) {
      if (!cpu_has(path)) continue;
      ++compared;
      const Result got = run(path);
      const std::string name(kernel_path_name(path));
      ASSERT_EQ(got.outputs.size(), base.outputs.size());
      for (std::size_t i = 0; i < base.outputs.size(); ++i)
        EXPECT_NEAR(got.outputs[i], base.outputs[i], 1e-5) << name << " output " << i;
      for (int i = 0; i < rows; ++i) {
        EXPECT_NEAR(got.values[i], base.values[i], 1e-5) << name << " value " << i;
        EXPECT_NEAR(got.log_probs[i], base.log_probs[i], 1e-5) << name << " log-prob " << i;
      }
    }
    if (compared == 0) std::cout << "[ note ] this CPU has only the baseline path\n";
  }
  set_kernel_path(saved);
}

}  // namespace
}  // namespace trustrl::agents
