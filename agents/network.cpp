#include "agents/network.h"

#include <cmath>

#include "core/error.h"

namespace trustrl::agents {

void NetworkConfig::visit(ConfigVisitor& v) {
  v.field("actor_hidden", actor_hidden, "hidden layer sizes of the actor MLP",
          Bounds::closed(1, static_cast<double>(kMaxLayerWidth)));
  v.field("critic_hidden", critic_hidden, "hidden layer sizes of the critic MLP",
          Bounds::closed(1, static_cast<double>(kMaxLayerWidth)));
  v.choice("activation", activation, {{"tanh", Activation::kTanh}, {"relu", Activation::kRelu}},
           "hidden activation");
  v.field("ortho_init", ortho_init,
          "orthogonal init (gains sqrt 2, 0.01 policy head, 1 value head)");
  v.field("log_std_init", log_std_init, "initial log std of the Gaussian policy (Box actions)",
          Bounds::closed(-20, 5));
  v.field("gsde", gsde,
          "generalized state-dependent exploration (SB3's use_sde), Box actions only");
  v.field("gsde_sample_freq", gsde_sample_freq,
          "steps between redraws of the gSDE noise; -1: once per rollout", Bounds::at_least(-1));
}

std::int64_t mlp_parameters(std::int64_t in, const std::vector<std::int64_t>& hidden,
                            std::int64_t out) {
  std::int64_t total = 0, width = in;
  for (const std::int64_t h : hidden) {
    total += (width + 1) * h;
    width = h;
  }
  return total + (width + 1) * out;
}

namespace {

std::string describe_sizes(const std::vector<std::int64_t>& sizes) {
  std::string t = "[";
  for (std::size_t i = 0; i < sizes.size(); ++i) t += (i ? ", " : "") + std::to_string(sizes[i]);
  return t + "]";
}

}  // namespace

void NetworkConfig::validate() const {
  for (const auto* key : {"actor_hidden", "critic_hidden"}) {
    const auto& sizes = std::string(key) == "actor_hidden" ? actor_hidden : critic_hidden;
    if (sizes.size() > kMaxHiddenLayers)
      throw ConfigError(std::string("network.") + key + ": " + std::to_string(sizes.size()) +
                        " hidden layers; at most " + std::to_string(kMaxHiddenLayers));
  }
  // Input and output widths come from the env; the hidden layers alone already tell a typo.
  const std::int64_t hidden =
      mlp_parameters(1, actor_hidden, 1) + mlp_parameters(1, critic_hidden, 1);
  if (hidden > kMaxNetworkParameters)
    throw ConfigError("network: actor_hidden " + describe_sizes(actor_hidden) +
                      " and critic_hidden " + describe_sizes(critic_hidden) + " make " +
                      std::to_string(hidden) + " parameters; at most " +
                      std::to_string(kMaxNetworkParameters) + " are allowed");
}

namespace {

std::vector<torch::nn::Linear> make_mlp(torch::nn::Module& owner, const std::string& name,
                                        std::int64_t in, const std::vector<std::int64_t>& hidden,
                                        std::int64_t out, double head_gain, bool ortho) {
  std::vector<torch::nn::Linear> layers;
  std::int64_t width = in;
  std::vector<std::int64_t> sizes = hidden;
  sizes.push_back(out);
  for (std::size_t i = 0; i < sizes.size(); ++i) {
    auto layer =
        owner.register_module(name + std::to_string(i), torch::nn::Linear(width, sizes[i]));
    if (ortho) {
      torch::NoGradGuard no_grad;
      const double gain = i + 1 == sizes.size() ? head_gain : std::sqrt(2.0);
      torch::nn::init::orthogonal_(layer->weight, gain);
      torch::nn::init::zeros_(layer->bias);
    }
    layers.push_back(layer);
    width = sizes[i];
  }
  return layers;
}

}  // namespace

ActorCriticImpl::ActorCriticImpl(const NetworkShape& shape, const NetworkConfig& config)
    : shape_(shape), config_(config) {
  const envs::Space& a = shape.action_space;
  const std::int64_t outputs = a.is_discrete() ? a.num_logits() : a.flat_dim();
  if (shape.obs_dim < 1 || shape.critic_input_dim < 1 || outputs < 1)
    throw Error("actor-critic: empty observation or action");
  // Checked before libtorch allocates: inputs and outputs come from the env (a wide observation
  // or a Discrete(10^7) action space can pass the limit where the hidden sizes alone do not).
  config.validate();
  const std::int64_t parameters = mlp_parameters(shape.obs_dim, config.actor_hidden, outputs) +
                                  mlp_parameters(shape.critic_input_dim, config.critic_hidden, 1);
  if (parameters > kMaxNetworkParameters)
    throw Error("the networks for " + std::to_string(shape.obs_dim) + " inputs and " +
                std::to_string(outputs) + " actor outputs would have " +
                std::to_string(parameters) + " parameters; at most " +
                std::to_string(kMaxNetworkParameters) +
                " are allowed (network.actor_hidden, network.critic_hidden)");
  actor_layers_ = make_mlp(*this, "actor", shape.obs_dim, config.actor_hidden, outputs, 0.01,
                           config.ortho_init);
  critic_layers_ = make_mlp(*this, "critic", shape.critic_input_dim, config.critic_hidden, 1, 1.0,
                            config.ortho_init);
  if (config.gsde && a.is_discrete()) throw Error("network.gsde needs a Box action space");
  if (config.gsde && config.actor_hidden.empty())
    throw Error("network.gsde needs at least one hidden actor layer");
  if (config.gsde)
    log_std_ = register_parameter(
        "log_std", torch::full({config.actor_hidden.back(), outputs}, config.log_std_init));
  else if (!a.is_discrete())
    log_std_ = register_parameter("log_std", torch::full({outputs}, config.log_std_init));
}

torch::Tensor ActorCriticImpl::run(std::vector<torch::nn::Linear>& layers, torch::Tensor x) const {
  for (std::size_t i = 0; i < layers.size(); ++i) {
    x = layers[i]->forward(x);
    if (i + 1 < layers.size())
      x = config_.activation == Activation::kTanh ? torch::tanh(x) : torch::relu(x);
  }
  return x;
}

Distribution ActorCriticImpl::distribution(const torch::Tensor& obs) {
  if (config_.gsde) {
    // The last hidden layer's activations are gSDE's features, cut from the graph as SB3 does
    // (learn_features=False): the std is sqrt(latent^2 . sigma^2), sigma = exp(log_std).
    torch::Tensor latent = obs;
    for (std::size_t i = 0; i + 1 < actor_layers_.size(); ++i) {
      latent = actor_layers_[i]->forward(latent);
      latent = config_.activation == Activation::kTanh ? torch::tanh(latent) : torch::relu(latent);
    }
    const torch::Tensor mean = actor_layers_.back()->forward(latent);
    const torch::Tensor variance =
        latent.detach().pow(2).matmul(torch::exp(2.0 * log_std_)) + kGsdeEpsilon;
    return Distribution::diag_gaussian(mean, 0.5 * torch::log(variance));
  }
  return head_distribution(run(actor_layers_, obs));
}

Distribution ActorCriticImpl::head_distribution(const torch::Tensor& out) const {
  if (config_.gsde) throw Error("actor-critic: gSDE's distribution needs the observations");
  const envs::Space& a = shape_.action_space;
  switch (a.kind) {
    case envs::SpaceKind::kDiscrete:
      return Distribution::categorical(out);
    case envs::SpaceKind::kMultiDiscrete:
      return Distribution::multi_categorical(out, a.nvec);
    case envs::SpaceKind::kBox:
      return Distribution::diag_gaussian(out, log_std_);
  }
  throw Error("actor-critic: unknown action space");
}

torch::Tensor ActorCriticImpl::value(const torch::Tensor& critic_input) {
  return run(critic_layers_, critic_input).squeeze(-1);
}

bool ActorCriticImpl::is_critic_parameter(const torch::Tensor& p) const {
  for (const auto& layer : critic_layers_)
    if (p.is_same(layer->weight) || p.is_same(layer->bias)) return true;
  return false;
}

torch::Tensor ActorCriticImpl::policy_parameter_mask() {
  std::vector<torch::Tensor> parts;
  for (const auto& p : parameters())
    parts.push_back(torch::full({p.numel()}, is_critic_parameter(p) ? 0.0F : 1.0F));
  return torch::cat(parts);
}

std::vector<torch::Tensor> ActorCriticImpl::policy_parameters() {
  std::vector<torch::Tensor> policy;
  for (const auto& p : parameters())
    if (!is_critic_parameter(p)) policy.push_back(p);
  return policy;
}

void copy_parameters(torch::nn::Module& from, torch::nn::Module& to) {
  torch::NoGradGuard no_grad;
  auto src = from.parameters();
  auto dst = to.parameters();
  if (src.size() != dst.size()) throw Error("copy_parameters: architectures differ");
  for (std::size_t i = 0; i < src.size(); ++i) dst[i].copy_(src[i]);
  auto src_b = from.buffers();
  auto dst_b = to.buffers();
  for (std::size_t i = 0; i < src_b.size() && i < dst_b.size(); ++i) dst_b[i].copy_(src_b[i]);
}

torch::Tensor flat_parameters(torch::nn::Module& module) {
  torch::NoGradGuard no_grad;
  std::vector<torch::Tensor> parts;
  for (const auto& p : module.parameters()) parts.push_back(p.reshape({-1}));
  return torch::cat(parts);
}

void set_flat_parameters(torch::nn::Module& module, const torch::Tensor& flat) {
  torch::NoGradGuard no_grad;
  std::int64_t offset = 0;
  for (auto& p : module.parameters()) {
    const auto n = p.numel();
    p.copy_(flat.narrow(0, offset, n).view_as(p));
    offset += n;
  }
}

}  // namespace trustrl::agents

#include "agents/inference.h"

namespace trustrl::agents {

namespace {
std::vector<DenseLayer> export_layers(const std::vector<torch::nn::Linear>& layers) {
  std::vector<DenseLayer> out;
  for (const auto& l : layers) {
    DenseLayer d;
    d.in = static_cast<int>(l->weight.size(1));
    d.out = static_cast<int>(l->weight.size(0));
    const torch::Tensor w = l->weight.detach().t().contiguous();  // [in, out]
    d.w.assign(w.data_ptr<float>(), w.data_ptr<float>() + w.numel());
    const torch::Tensor b = l->bias.detach().contiguous();
    d.b.assign(b.data_ptr<float>(), b.data_ptr<float>() + b.numel());
    out.push_back(std::move(d));
  }
  return out;
}
}  // namespace

PolicyWeights export_weights(const ActorCriticImpl& net) {
  PolicyWeights w;
  w.actor = export_layers(net.actor_layers());
  w.critic = export_layers(net.critic_layers());
  if (net.log_std().defined()) {
    const torch::Tensor s = net.log_std().detach().contiguous();
    w.log_std.assign(s.data_ptr<float>(), s.data_ptr<float>() + s.numel());
  }
  w.relu = net.config().activation == Activation::kRelu;
  w.gsde = net.config().gsde;
  w.gsde_sample_freq = net.config().gsde_sample_freq;
  w.action_space = net.shape().action_space;
  return w;
}

}  // namespace trustrl::agents
