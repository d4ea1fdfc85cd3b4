#pragma once
// The actor-critic MLPs (PPO details 2, 10, 11 in docs/DESIGN.md): separate actor and critic
// networks, orthogonal init (hidden gain sqrt 2, policy head 0.01, value head 1, zero biases), and
// a state-independent log std for Box actions.

#include <torch/torch.h>

#include <cstdint>
#include <string>
#include <vector>

#include "agents/distribution.h"
#include "core/config.h"
#include "envs/space.h"

namespace trustrl::agents {

enum class Activation { kTanh, kRelu };

/// Added to gSDE's variance, as SB3 does.
inline constexpr double kGsdeEpsilon = 1e-6;

/// Limits on network sizes, checked before anything is allocated (a typo such as
/// `actor_hidden: [100000, 100000]` would otherwise ask libtorch for tens of gigabytes).
inline constexpr std::int64_t kMaxLayerWidth = 65536;
inline constexpr std::size_t kMaxHiddenLayers = 16;
/// Weights and biases of actor and critic together: 100M floats, 400 MB (1.2 GB with Adam's
/// moments).
inline constexpr std::int64_t kMaxNetworkParameters = 100'000'000;

/// Weights and biases of an MLP `in` -> hidden... -> `out` (widths within kMaxLayerWidth).
std::int64_t mlp_parameters(std::int64_t in, const std::vector<std::int64_t>& hidden,
                            std::int64_t out);

struct NetworkConfig {
  std::vector<std::int64_t> actor_hidden = {64, 64};
  std::vector<std::int64_t> critic_hidden = {64, 64};
  Activation activation = Activation::kTanh;
  bool ortho_init = true;
  /// Initial log std of the Gaussian policy (Box actions).
  double log_std_init = 0.0;
  /// Generalized state-dependent exploration (Raffin et al. 2022, "Smooth Exploration for Robotic
  /// Reinforcement Learning"; SB3's use_sde): the action noise is latent(s) . E with E ~ N(0,
  /// sigma^2) held for several steps, so the policy's std depends on the state. Box actions only.
  bool gsde = false;
  /// Steps between redraws of gSDE's exploration matrix per env copy; -1: once per rollout.
  std::int64_t gsde_sample_freq = -1;

  void visit(ConfigVisitor& v);
  /// Throws ConfigError if a list is longer than kMaxHiddenLayers or the hidden layers alone
  /// pass kMaxNetworkParameters.
  void validate() const;
};

/// What the networks are built for: input sizes and the action space.
struct NetworkShape {
  std::int64_t obs_dim = 0;
  /// Input of the critic: obs_dim for PPO, the global state (plus extras) for a central critic.
  std::int64_t critic_input_dim = 0;
  envs::Space action_space;
};

class ActorCriticImpl : public torch::nn::Module {
 public:
  ActorCriticImpl(const NetworkShape& shape, const NetworkConfig& config);

  /// The policy at observations [B, obs_dim].
  Distribution distribution(const torch::Tensor& obs);
  /// The policy given the actor MLP's output rows (logits, or the Gaussian's mean) from a forward
  /// pass computed elsewhere (the fused kernels), with the state-independent log std. Throws Error
  /// under gSDE, whose std is not the MLP's output.
  Distribution head_distribution(const torch::Tensor& out) const;
  /// V at critic inputs [B, critic_input_dim], shape [B].
  torch::Tensor value(const torch::Tensor& critic_input);

  const NetworkShape& shape() const { return shape_; }
  const NetworkConfig& config() const { return config_; }
  /// Actor layers (Linear modules in order), for the inference path.
  const std::vector<torch::nn::Linear>& actor_layers() const { return actor_layers_; }
  const std::vector<torch::nn::Linear>& critic_layers() const { return critic_layers_; }
  /// [action_dim] for Box actions ([last hidden width, action_dim] with gSDE), undefined otherwise.
  const torch::Tensor& log_std() const { return log_std_; }
  /// 1 for each scalar of parameters() that shapes the policy, 0 for the critic's: the KL bound
  /// backtracks only the policy's step (the critic does not move the KL).
  torch::Tensor policy_parameter_mask();
  /// The parameters that shape the policy (actor layers and log std), in parameters() order:
  /// the entries of policy_parameter_mask() that are 1.
  std::vector<torch::Tensor> policy_parameters();

 private:
  torch::Tensor run(std::vector<torch::nn::Linear>& layers, torch::Tensor x) const;
  bool is_critic_parameter(const torch::Tensor& p) const;

  NetworkShape shape_;
  NetworkConfig config_;
  std::vector<torch::nn::Linear> actor_layers_, critic_layers_;
  torch::Tensor log_std_;
};
TORCH_MODULE(ActorCritic);

/// Copies every parameter and buffer of `from` into `to` (same architecture).
void copy_parameters(torch::nn::Module& from, torch::nn::Module& to);
/// All parameters concatenated into one flat vector (a copy).
torch::Tensor flat_parameters(torch::nn::Module& module);
/// Writes a flat vector back into the parameters.
void set_flat_parameters(torch::nn::Module& module, const torch::Tensor& flat);

}  // namespace trustrl::agents

namespace trustrl::agents {
struct PolicyWeights;
/// The weights in plain arrays, for the actor's inference path (inference.h).
PolicyWeights export_weights(const ActorCriticImpl& net);
}  // namespace trustrl::agents
