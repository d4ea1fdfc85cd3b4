#include "agents/fisher_vector_product.h"

#include <gtest/gtest.h>

#include <cmath>
#include <ostream>
#include <string>
#include <vector>

#include "core/error.h"

namespace trustrl::agents {
namespace {

struct Head {
  std::string name;
  envs::Space space;
  bool gsde = false;
  Activation activation = Activation::kTanh;
};

std::vector<Head> heads() {
  return {{"categorical", envs::Space::discrete(3)},
          {"categorical_relu", envs::Space::discrete(3), false, Activation::kRelu},
          {"multi_categorical", envs::Space::multi_discrete({2, 3})},
          {"diag_gaussian", envs::Space::box(-1, 1, {2})},
          {"diag_gaussian_relu", envs::Space::box(-1, 1, {2}), false, Activation::kRelu},
          {"gsde", envs::Space::box(-1, 1, {2}), true}};
}

// Every way a head's products can be taken: double backward always, the closed form where it
// applies (everything but gSDE here).
std::vector<FisherMethod> methods(const Head& head) {
  if (head.gsde) return {FisherMethod::kDoubleBackward};
  return {FisherMethod::kDoubleBackward, FisherMethod::kClosedForm};
}

// A tiny actor (3 inputs, 4 hidden, the head) in double precision, its log std moved off its
// initial value so that the Gaussian Fisher's two blocks differ.
ActorCritic tiny_net(const Head& head) {
  torch::manual_seed(3);
  NetworkConfig config;
  config.actor_hidden = {4};
  config.critic_hidden = {2};
  config.ortho_init = false;  // the default init's 0.01 head gain would make F nearly zero
  config.gsde = head.gsde;
  config.activation = head.activation;
  ActorCritic net(NetworkShape{3, 3, head.space}, config);
  net->to(torch::kFloat64);
  if (net->log_std().defined()) {
    torch::NoGradGuard no_grad;
    net->log_std().copy_(0.3 * torch::randn(net->log_std().sizes(), torch::kFloat64));
  }
  return net;
}

torch::Tensor row_jacobian(const torch::Tensor& outputs, std::int64_t row,
                           const std::vector<torch::Tensor>& parameters) {
  std::vector<torch::Tensor> rows;
  for (std::int64_t j = 0; j < outputs.size(1); ++j)
    rows.push_back(flat_gradient(outputs[row][j], parameters, false, /*retain_graph=*/true));
  return torch::stack(rows);
}

// The Fisher built explicitly, mean over rows of J^T M J, from its definition
// E_a[grad log pi(a) grad log pi(a)^T] rather than from the KL: for (Multi)Categorical heads J is
// the Jacobian of the per-class log-probabilities and M = diag(p) (independent components have
// no cross terms); for Gaussian heads J is that of (mean, log std) and M = diag(1/sigma^2, 2).
torch::Tensor explicit_fisher(ActorCriticImpl& net, const torch::Tensor& obs) {
  const auto parameters = net.policy_parameters();
  const Distribution d = net.distribution(obs);
  const std::int64_t n = flat_policy_parameters(net).numel();
  torch::Tensor fisher = torch::zeros({n, n}, torch::kFloat64);
  for (std::int64_t i = 0; i < obs.size(0); ++i) {
    torch::Tensor jacobian, m;
    if (d.kind() == DistributionKind::kDiagGaussian) {
      jacobian = torch::cat(
          {row_jacobian(d.mean(), i, parameters), row_jacobian(d.log_std(), i, parameters)});
      m = torch::cat({torch::exp(-2 * d.log_std()[i]).detach(),
                      torch::full({d.log_std().size(1)}, 2.0, torch::kFloat64)});
    } else {
      jacobian = row_jacobian(d.log_probs(), i, parameters);
      m = torch::exp(d.log_probs()[i]).detach();
    }
    fisher += jacobian.t().matmul(m.unsqueeze(1) * jacobian);
  }
  return fisher / static_cast<double>(obs.size(0));
}

torch::Tensor fisher_from_products(const FisherVectorProduct& fvp) {
  const torch::Tensor eye = torch::eye(fvp.size(), torch::kFloat64);
  std::vector<torch::Tensor> columns;
  for (std::int64_t j = 0; j < fvp.size(); ++j) columns.push_back(fvp(eye[j]));
  return torch::stack(columns, 1);
}

double relative_error(const torch::Tensor& got, const torch::Tensor& want) {
  return (got - want).norm().item<double>() / want.norm().item<double>();
}

void PrintTo(const Head& h, std::ostream* os) { *os << h.name; }

class FisherVectorProductHeads : public ::testing::TestWithParam<Head> {};

TEST_P(FisherVectorProductHeads, MatchesTheFisherBuiltExplicitly) {
  ActorCritic net = tiny_net(GetParam());
  torch::manual_seed(4);
  const torch::Tensor obs = torch::randn({5, 3}, torch::kFloat64);
  const torch::Tensor want = explicit_fisher(*net, obs);
  ASSERT_GT(want.norm().item<double>(), 1e-3) << "a Fisher near zero tests nothing";

  for (FisherMethod method : methods(GetParam())) {
    const FisherVectorProduct fvp(*net, obs, /*damping=*/0.0, method);
    EXPECT_EQ(fvp.closed_form(), method == FisherMethod::kClosedForm);
    ASSERT_EQ(fvp.size(), want.size(0));
    EXPECT_LT(relative_error(fisher_from_products(fvp), want), 1e-5);
    const torch::Tensor v = torch::randn({fvp.size()}, torch::kFloat64);
    EXPECT_LT(relative_error(fvp(v), want.matmul(v)), 1e-5);
  }
}

TEST_P(FisherVectorProductHeads, AddsDampingTimesTheVector) {
  ActorCritic net = tiny_net(GetParam());
  const torch::Tensor obs = torch::randn({4, 3}, torch::kFloat64);
  for (FisherMethod method : methods(GetParam())) {
    const FisherVectorProduct plain(*net, obs, 0.0, method), damped(*net, obs, 0.1, method);
    const torch::Tensor v = torch::randn({plain.size()}, torch::kFloat64);
    EXPECT_LT(relative_error(damped(v), plain(v) + 0.1 * v), 1e-12);
  }
}

TEST_P(FisherVectorProductHeads, IsSymmetricPositiveSemidefinite) {
  ActorCritic net = tiny_net(GetParam());
  const torch::Tensor obs = torch::randn({6, 3}, torch::kFloat64);
  for (FisherMethod method : methods(GetParam())) {
    const torch::Tensor f = fisher_from_products(FisherVectorProduct(*net, obs, 0.0, method));
    EXPECT_LT(relative_error(f.t(), f), 1e-10);
    EXPECT_GT(torch::linalg_eigvalsh(f).min().item<double>(), -1e-10 * f.norm().item<double>());
  }
}
// backward is J^T u: the gradient of sum(head outputs * u) + log_std . g by autograd, and it reads
// the head's outputs of the same forward pass.
TEST_P(FisherVectorProductHeads, BackwardIsTheGradientOfTheHeadsOutputs) {
  ActorCritic net = tiny_net(GetParam());
  torch::manual_seed(5);
  const torch::Tensor obs = torch::randn({5, 3}, torch::kFloat64);
  if (GetParam().gsde) {  // no closed form: backward is refused by name
    const FisherVectorProduct fvp(*net, obs, 0.0);
    EXPECT_FALSE(fvp.closed_form());
    EXPECT_THROW(fvp.backward(torch::zeros({5, 2}, torch::kFloat64)), Error);
    EXPECT_THROW(net->head_distribution(torch::zeros({5, 2}, torch::kFloat64)), Error);
    return;
  }
  const FisherVectorProduct fvp(*net, obs, /*damping=*/0.0, FisherMethod::kClosedForm);
  const Distribution d = net->distribution(obs);
  const bool gaussian = d.kind() == DistributionKind::kDiagGaussian;
  // The head's raw outputs: the logits (log-probs are them less a per-row constant) or the mean.
  torch::Tensor head = obs;
  std::vector<torch::nn::Linear> layers = net->actor_layers();
  for (std::size_t i = 0; i < layers.size(); ++i) {
    head = layers[i]->forward(head);
    if (i + 1 < layers.size())
      head = GetParam().activation == Activation::kRelu ? torch::relu(head) : torch::tanh(head);
  }
  EXPECT_LT(relative_error(fvp.head_output(), head.detach()), 1e-12);
  // The network's distribution on those outputs is its distribution at the observations.
  const Distribution from_head = net->head_distribution(fvp.head_output());
  EXPECT_TRUE(torch::allclose(from_head.log_prob(d.mode()), d.log_prob(d.mode()).detach()));
  EXPECT_TRUE(torch::allclose(from_head.entropy(), d.entropy().detach()));
  const torch::Tensor u = torch::randn(head.sizes(), torch::kFloat64);
  torch::Tensor loss = (head * u).sum();
  torch::Tensor g;
  if (gaussian) {
    g = torch::randn(net->log_std().sizes(), torch::kFloat64);
    loss = loss + (net->log_std() * g).sum();
  }
  const torch::Tensor want = flat_gradient(loss, net->policy_parameters());
  EXPECT_LT(relative_error(fvp.backward(u, g), want), 1e-12);
  if (gaussian) EXPECT_THROW(fvp.backward(u), Error);
  EXPECT_THROW(fvp.backward(u.narrow(0, 0, 4), g), Error);
  const FisherVectorProduct slow(*net, obs, 0.0, FisherMethod::kDoubleBackward);
  EXPECT_THROW(slow.backward(u, g), Error);
}

// On the networks the configs use (float32, 64x64, a batch of 1,024 rows) the closed form agrees
// with double backward to float rounding; kAuto picks it, and gSDE is refused it by name.
TEST(FisherVectorProduct, ClosedFormMatchesDoubleBackwardInFloat) {
  for (const Head& head : heads()) {
    torch::manual_seed(8);
    NetworkConfig config;
    config.gsde = head.gsde;
    config.activation = head.activation;
    ActorCritic net(NetworkShape{8, 8, head.space}, config);
    const torch::Tensor obs = torch::randn({1024, 8});
    if (head.gsde) {
      EXPECT_FALSE(FisherVectorProduct(*net, obs, 0.0).closed_form());
      EXPECT_THROW(FisherVectorProduct(*net, obs, 0.0, FisherMethod::kClosedForm), Error);
      continue;
    }
    const FisherVectorProduct automatic(*net, obs, 0.01);
    EXPECT_TRUE(automatic.closed_form()) << head.name;
    const FisherVectorProduct slow(*net, obs, 0.01, FisherMethod::kDoubleBackward);
    for (int k = 0; k < 3; ++k) {
      const torch::Tensor v = torch::randn({slow.size()});
      EXPECT_LT(relative_error(automatic(v), slow(v)), 1e-5) << head.name;
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Heads, FisherVectorProductHeads, ::testing::ValuesIn(heads()),
                         [](const ::testing::TestParamInfo<Head>& head) {
                           return head.param.name;
                         });

TEST(FisherVectorProduct, ReadsOnlyThePolicysParameters) {
  ActorCritic net = tiny_net(heads()[2]);
  std::int64_t policy = 0;
  for (const auto& layer : net->actor_layers())
    policy += layer->weight.numel() + layer->bias.numel();
  policy += net->log_std().numel();
  const FisherVectorProduct fvp(*net, torch::randn({3, 3}, torch::kFloat64), 0.0);
  EXPECT_EQ(fvp.size(), policy);
  EXPECT_THROW(fvp(torch::zeros({policy + 1}, torch::kFloat64)), Error);
}

TEST(FisherVectorProduct, SetFlatPolicyParametersLeavesTheCriticAlone) {
  ActorCritic net = tiny_net(heads()[0]);
  const torch::Tensor critic_before = net->critic_layers()[0]->weight.detach().clone();
  const torch::Tensor policy = flat_policy_parameters(*net);
  set_flat_policy_parameters(*net, policy + 1.0);
  EXPECT_TRUE(torch::allclose(flat_policy_parameters(*net), policy + 1.0));
  EXPECT_TRUE(torch::equal(net->critic_layers()[0]->weight.detach(), critic_before));
  EXPECT_THROW(set_flat_policy_parameters(*net, torch::zeros({policy.numel() - 1})), Error);
}

}  // namespace
}  // namespace trustrl::agents
