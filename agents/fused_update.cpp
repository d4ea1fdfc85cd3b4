#include "agents/fused_update.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <string>

#include "agents/activation_kernels.h"
#include "agents/dense_products.h"
#include "core/error.h"

namespace trustrl::agents {

namespace {

constexpr float kHalfLog2Pi = 0.91893853320467274178F;  // 0.5 * log(2 pi), as distribution.cpp

// Where `p` lives in the optimizer's flat buffer, or -1 if it does not (another optimizer, or
// a parameter re-seated since).
std::int64_t flat_offset(const FlatAdam& optimizer, const torch::Tensor& p) {
  const torch::Tensor& flat = optimizer.parameters();
  if (!p.defined() || !p.is_contiguous() || p.scalar_type() != torch::kFloat32) return -1;
  const auto base = reinterpret_cast<std::uintptr_t>(flat.data_ptr<float>());
  const auto at = reinterpret_cast<std::uintptr_t>(p.data_ptr<float>());
  if (at < base || (at - base) % sizeof(float) != 0) return -1;
  const auto offset = static_cast<std::int64_t>((at - base) / sizeof(float));
  return offset + p.numel() <= flat.numel() ? offset : -1;
}

bool box_with_shared_log_std(const ActorCriticImpl& net) {
  return net.shape().action_space.kind == envs::SpaceKind::kBox && !net.config().gsde &&
         net.log_std().defined() && net.log_std().dim() == 1;
}

// The network half of eligibility: MLPs with a Categorical or shared-log-std Gaussian head, every
// parameter a slot of the flat buffer, together filling it (so that writing each slot's gradient
// writes the whole gradient).
bool network_supported(const ActorCriticImpl& net, const FlatAdam& optimizer) {
  if (!fused_forward_supported(net)) return false;
  const bool discrete = net.shape().action_space.kind == envs::SpaceKind::kDiscrete;
  std::int64_t covered = 0;
  auto in_buffer = [&](const torch::Tensor& p) {
    if (flat_offset(optimizer, p) < 0) return false;
    covered += p.numel();
    return true;
  };
  for (const auto* layers : {&net.actor_layers(), &net.critic_layers()})
    for (const auto& l : *layers)
      if (!in_buffer(l->weight) || !in_buffer(l->bias)) return false;
  if (!discrete && !in_buffer(net.log_std())) return false;
  return covered == optimizer.parameters().numel();
}

}  // namespace

bool fused_forward_supported(const ActorCriticImpl& net) {
  const bool discrete = net.shape().action_space.kind == envs::SpaceKind::kDiscrete;
  return !net.config().gsde && (discrete || box_with_shared_log_std(net));
}

Distribution fused_distribution(const ActorCriticImpl& net, const torch::Tensor& obs) {
  if (!fused_forward_supported(net))
    throw Error("fused forward: this network is not supported; use net.distribution");
  torch::NoGradGuard no_grad;
  const bool relu = net.config().activation == Activation::kRelu;
  torch::Tensor x = obs.to(torch::kFloat32).contiguous();
  const std::int64_t rows = x.size(0);
  std::vector<float> wt;
  const auto& layers = net.actor_layers();
  for (std::size_t i = 0; i < layers.size(); ++i) {
    const torch::Tensor w = layers[i]->weight.contiguous(), b = layers[i]->bias.contiguous();
    const std::int64_t n_out = w.size(0), n_in = w.size(1);
    if (x.size(1) != n_in)
      throw Error("fused forward: observations have " + std::to_string(x.size(1)) +
                  " features, the policy takes " + std::to_string(n_in));
    torch::Tensor y = torch::empty({rows, n_out});
    wt.resize(static_cast<std::size_t>(n_out * n_in));
    dense_forward({rows, n_in, n_out}, x.data_ptr<float>(), w.data_ptr<float>(),
                  b.data_ptr<float>(), y.data_ptr<float>(), wt.data());
    if (i + 1 < layers.size()) activate(y.data_ptr<float>(), y.numel(), relu);
    x = std::move(y);
  }
  return net.head_distribution(x);
}

bool fused_update_eligible(const ActorCriticImpl& net, const FlatAdam& optimizer,
                           const TrustRegion& trust_region, const PpoConfig& ppo,
                           std::int64_t world) {
  const TrustRegionConfig& tr = trust_region.config();
  if (!ppo.fused_update || world != 1) return false;
  // A KL term in the loss, or a KL read before each step, needs the old distribution per row.
  if (!tr.clip || tr.kl_penalty.enabled || tr.target_kl) return false;
  // Nor has it the reference term's gradient.
  if (tr.reference.enabled()) return false;
  // The natural-gradient mode's policy step is not a minibatch step at all.
  if (tr.mode != TrustRegionMode::kMinibatch) return false;
  return network_supported(net, optimizer);
}

bool fused_value_eligible(const ActorCriticImpl& net, const FlatAdam& optimizer,
                          const PpoConfig& ppo, std::int64_t world) {
  return ppo.fused_update && world == 1 && network_supported(net, optimizer);
}

FusedPpoGradient::FusedPpoGradient(ActorCriticImpl& net, FlatAdam& optimizer, const PpoConfig& ppo)
    : ppo_(ppo),
      gradients_(optimizer.gradients()),
      relu_(net.config().activation == Activation::kRelu),
      discrete_(net.shape().action_space.kind == envs::SpaceKind::kDiscrete) {
  if (!network_supported(net, optimizer))
    throw Error(
        "fused PPO update: this network or optimizer is not supported; use the autograd path");
  // Views of the flat buffers that do not require grad: the products below write into them
  // under NoGradGuard without touching autograd.
  const torch::Tensor& params = optimizer.parameters();
  torch::Tensor& grads = optimizer.gradients();
  auto slot = [&](const torch::Tensor& flat, const torch::Tensor& p) {
    return flat.narrow(0, flat_offset(optimizer, p), p.numel()).view(p.sizes());
  };
  for (auto [layers, mlp] :
       {std::pair{&net.actor_layers(), &actor_}, std::pair{&net.critic_layers(), &critic_}})
    for (const auto& l : *layers)
      mlp->layers.push_back({slot(params, l->weight), slot(params, l->bias), slot(grads, l->weight),
                             slot(grads, l->bias),
                             torch::empty({l->weight.size(1), l->weight.size(0)})});
  if (!discrete_) {
    log_std_ = slot(params, net.log_std());
    log_std_grad_ = slot(grads, net.log_std());
  }
}

void FusedPpoGradient::resize(std::int64_t actor_rows, std::int64_t critic_rows) {
  auto size = [](Mlp& mlp, std::int64_t rows) {
    mlp.outputs.clear();
    mlp.deltas.clear();
    for (const Layer& l : mlp.layers) {
      mlp.outputs.push_back(torch::empty({rows, l.weight.size(0)}));
      mlp.deltas.push_back(torch::empty({rows, l.weight.size(0)}));
    }
  };
  if (actor_rows != actor_rows_) {
    actor_rows_ = actor_rows;
    size(actor_, actor_rows);
    adv_ = torch::empty({actor_rows});
  }
  if (critic_rows != critic_rows_) {
    critic_rows_ = critic_rows;
    size(critic_, critic_rows);
  }
}

void FusedPpoGradient::forward(Mlp& mlp, const torch::Tensor& input) {
  for (std::size_t i = 0; i < mlp.layers.size(); ++i) {
    Layer& l = mlp.layers[i];
    torch::Tensor& out = mlp.outputs[i];
    const torch::Tensor& x = i == 0 ? input : mlp.outputs[i - 1];
    const std::int64_t rows = x.size(0), n_out = l.weight.size(0), n_in = l.weight.size(1);
    float* y = out.data_ptr<float>();
    dense_forward({rows, n_in, n_out}, x.data_ptr<float>(), l.weight.data_ptr<float>(),
                  l.bias.data_ptr<float>(), y, l.weight_t.data_ptr<float>());
    if (i + 1 < mlp.layers.size()) activate(y, out.numel(), relu_);
  }
}

// deltas.back() holds d loss / d output on entry; fills every layer's weight and bias gradient.
void FusedPpoGradient::backward(Mlp& mlp, const torch::Tensor& input) {
  for (std::size_t i = mlp.layers.size(); i-- > 0;) {
    Layer& l = mlp.layers[i];
    const torch::Tensor& delta_t = mlp.deltas[i];
    const torch::Tensor& x_t = i == 0 ? input : mlp.outputs[i - 1];
    const std::int64_t rows = delta_t.size(0), n_out = l.weight.size(0), n_in = l.weight.size(1);
    const DenseShape shape{rows, n_in, n_out};
    const float* delta = delta_t.data_ptr<float>();
    // The scratch w^T is free: forward's use of it is over.
    dense_weight_gradient(shape, x_t.data_ptr<float>(), delta, l.weight_grad.data_ptr<float>(),
                          l.weight_t.data_ptr<float>());
    dense_bias_gradient(shape, delta, l.bias_grad.data_ptr<float>());
    if (i == 0) break;
    torch::Tensor& prev = mlp.deltas[i - 1];
    dense_input_gradient(shape, delta, l.weight.data_ptr<float>(), prev.data_ptr<float>());
    activation_backward(prev.data_ptr<float>(), mlp.outputs[i - 1].data_ptr<float>(), prev.numel(),
                        relu_);
  }
}

const std::int64_t* FusedPpoGradient::critic_index(const torch::Tensor& index_t, std::int64_t m,
                                                   std::int64_t u) {
  // Sample i's value is row index[i] of the critic's output (row i without an index).
  const std::int64_t* index = index_t.defined() ? index_t.data_ptr<std::int64_t>() : nullptr;
  if (index ? index_t.numel() != m : u != m)
    throw Error("fused PPO update: the minibatch has " + std::to_string(m) + " samples but " +
                std::to_string(index ? index_t.numel() : u) +
                (index ? " critic input indices" : " critic input rows"));
  for (std::int64_t i = 0; index && i < m; ++i)
    if (index[i] < 0 || index[i] >= u)
      throw Error("fused PPO update: critic input index " + std::to_string(index[i]) +
                  " is outside the minibatch's " + std::to_string(u) + " critic input rows");
  return index;
}

double FusedPpoGradient::value_backward(const FusedMinibatch& mb, const torch::Tensor& critic_in,
                                        const std::int64_t* index, std::int64_t m) {
  auto critic_row = [index](std::int64_t i) { return index ? index[i] : i; };
  const std::int64_t u = critic_in.size(0);
  // Value: vf_coef * mean(L(err)) with L(e) = e^2 / 2, or Huber's (e^2 / 2 within delta, linear
  // beyond, as policy_update.cpp writes it), or of the larger of the unclipped and clipped
  // errors' losses. torch.max's gradient goes to the larger, half to each on ties; the clamp
  // passes it on the closed interval. L'(e) is e, or clamp(e, -delta, delta) for Huber.
  const torch::Tensor old_v_t = mb.old_values.contiguous(), returns_t = mb.returns.contiguous();
  const float* old_v = old_v_t.data_ptr<float>();
  const float* returns = returns_t.data_ptr<float>();
  const float* v = critic_.outputs.back().data_ptr<float>();
  float* d_v = critic_.deltas.back().data_ptr<float>();
  // A row read by several samples gets the sum of their gradients (the chain rule through the
  // gather); a row read by one gets its own, 0 + g exactly.
  std::fill(d_v, d_v + u, 0.0F);
  const float v_scale = static_cast<float>(ppo_.vf_coef) * (1.0F / static_cast<float>(m));
  const bool huber = ppo_.value_huber_delta.has_value();
  const float delta = huber ? static_cast<float>(*ppo_.value_huber_delta) : 0.0F;
  auto error_loss = [&](float e) {
    const float a = std::abs(e);
    return !huber || a <= delta ? 0.5F * e * e : delta * (a - 0.5F * delta);
  };
  auto error_grad = [&](float e) { return huber ? std::clamp(e, -delta, delta) : e; };
  double sum_value = 0;
  for (std::int64_t i = 0; i < m; ++i) {
    const std::int64_t row = critic_row(i);
    const float err = v[row] - returns[i];
    const float loss = error_loss(err);
    if (!ppo_.value_clip) {
      sum_value += loss;
      d_v[row] += v_scale * error_grad(err);
      continue;
    }
    const auto c = static_cast<float>(*ppo_.value_clip);
    const float step = v[row] - old_v[i];
    const float clipped_err = old_v[i] + std::clamp(step, -c, c) - returns[i];
    const float clipped_loss = error_loss(clipped_err);
    const float clipped_grad = (step >= -c && step <= c) ? error_grad(clipped_err) : 0.0F;
    sum_value += std::max(loss, clipped_loss);
    const float g = loss > clipped_loss   ? error_grad(err)
                    : loss < clipped_loss ? clipped_grad
                                          : 0.5F * (error_grad(err) + clipped_grad);
    d_v[row] += v_scale * g;
  }
  backward(critic_, critic_in);
  return sum_value;
}

FusedLosses FusedPpoGradient::compute_value(const FusedMinibatch& mb) {
  torch::NoGradGuard no_grad;
  const torch::Tensor critic_in = mb.critic_inputs.contiguous();
  const std::int64_t m = mb.returns.size(0), u = critic_in.size(0);
  if (m < 1) throw Error("fused PPO update: empty minibatch");
  const torch::Tensor index_t =
      mb.critic_index.defined() ? mb.critic_index.contiguous() : torch::Tensor();
  const std::int64_t* index = critic_index(index_t, m, u);
  resize(actor_rows_, u);
  // The policy's slots stay zero; the critic's are written below.
  std::fill_n(gradients_.data_ptr<float>(), gradients_.numel(), 0.0F);
  forward(critic_, critic_in);
  FusedLosses losses;
  losses.value_loss = value_backward(mb, critic_in, index, m) / static_cast<double>(m);
  return losses;
}

FusedLosses FusedPpoGradient::compute(const FusedMinibatch& mb, double clip_epsilon) {
  torch::NoGradGuard no_grad;
  const torch::Tensor obs = mb.obs.contiguous(), critic_in = mb.critic_inputs.contiguous();
  const std::int64_t m = obs.size(0), u = critic_in.size(0);
  if (m < 1) throw Error("fused PPO update: empty minibatch");
  const torch::Tensor index_t =
      mb.critic_index.defined() ? mb.critic_index.contiguous() : torch::Tensor();
  const std::int64_t* index = critic_index(index_t, m, u);
  resize(m, u);
  forward(actor_, obs);
  forward(critic_, critic_in);

  // Advantages normalized over the minibatch as the autograd path does: unbiased std, 1e-8.
  const torch::Tensor raw_adv = mb.advantages.contiguous();
  const float* raw = raw_adv.data_ptr<float>();
  float* adv = adv_.data_ptr<float>();
  if (ppo_.norm_adv && m > 1) {
    double mean = 0, var = 0;
    for (std::int64_t i = 0; i < m; ++i) mean += raw[i];
    mean /= static_cast<double>(m);
    for (std::int64_t i = 0; i < m; ++i) var += (raw[i] - mean) * (raw[i] - mean);
    const auto mean_f = static_cast<float>(mean);
    const float denom = static_cast<float>(std::sqrt(var / static_cast<double>(m - 1))) + 1e-8F;
    for (std::int64_t i = 0; i < m; ++i) adv[i] = (raw[i] - mean_f) / denom;
  } else {
    std::copy(raw, raw + m, adv);
  }

  // Policy: loss = -mean(min(r A, clip(r) A)) - ent_coef * mean(H). torch.min sends the gradient
  // to the unclipped term where it is the smaller one, and half to each on ties, where both
  // terms' gradients are equal (the clamp passes its gradient on the closed interval); so the
  // per-row d loss / d log pi(a) is -r A / m when r A <= clip(r) A and 0 otherwise.
  const float lo = static_cast<float>(1.0 - clip_epsilon),
              hi = static_cast<float>(1.0 + clip_epsilon);
  const auto eps_f = static_cast<float>(clip_epsilon);
  const float inv_m = 1.0F / static_cast<float>(m);
  const auto ent_coef = static_cast<float>(ppo_.ent_coef);
  const torch::Tensor old_lp_t = mb.old_log_probs.contiguous();
  const float* old_lp = old_lp_t.data_ptr<float>();
  const torch::Tensor& out_t = actor_.outputs.back();
  const float* out = out_t.data_ptr<float>();
  float* d_out = actor_.deltas.back().data_ptr<float>();
  const std::int64_t width = out_t.size(1);
  double sum_surrogate = 0, sum_entropy = 0, sum_ratio = 0;
  std::int64_t clipped = 0;
  auto surrogate = [&](std::int64_t i, float log_prob) {
    const float r = std::exp(log_prob - old_lp[i]);
    const float a = adv[i];
    const float unclipped = r * a, bounded = std::clamp(r, lo, hi) * a;
    sum_surrogate += std::min(unclipped, bounded);
    sum_ratio += r;
    clipped += std::abs(r - 1.0F) > eps_f ? 1 : 0;
    return unclipped <= bounded ? -inv_m * a * r : 0.0F;  // d loss / d log pi(a)
  };
  if (discrete_) {
    const torch::Tensor actions_t = mb.actions.contiguous();
    const std::int64_t* actions = actions_t.data_ptr<std::int64_t>();
    std::vector<float> log_p(static_cast<std::size_t>(width));
    for (std::int64_t i = 0; i < m; ++i) {
      const float* z = out + i * width;
      float* g = d_out + i * width;
      const float z_max = *std::max_element(z, z + width);
      float sum = 0;
      for (std::int64_t j = 0; j < width; ++j) sum += std::exp(z[j] - z_max);
      const float log_sum = std::log(sum);
      float entropy = 0;
      for (std::int64_t j = 0; j < width; ++j) {
        log_p[j] = z[j] - z_max - log_sum;
        entropy -= std::exp(log_p[j]) * log_p[j];
      }
      sum_entropy += entropy;
      const std::int64_t action = actions[i];
      const float c = surrogate(i, log_p[static_cast<std::size_t>(action)]);
      // d log pi(a) / dz = onehot(a) - p; dH / dz_j = -p_j (log p_j + H).
      for (std::int64_t j = 0; j < width; ++j) {
        const float p = std::exp(log_p[j]);
        g[j] = c * ((j == action ? 1.0F : 0.0F) - p) + ent_coef * inv_m * p * (log_p[j] + entropy);
      }
    }
  } else {
    const torch::Tensor actions_t = mb.actions.contiguous();
    const float* actions = actions_t.data_ptr<float>();
    const float* log_std = log_std_.data_ptr<float>();
    float* log_std_grad = log_std_grad_.data_ptr<float>();
    std::vector<float> inv_std(static_cast<std::size_t>(width)), z(static_cast<std::size_t>(width));
    float entropy = 0;
    for (std::int64_t j = 0; j < width; ++j) {
      inv_std[j] = std::exp(-log_std[j]);
      entropy += log_std[j] + (0.5F + kHalfLog2Pi);
      log_std_grad[j] = -ent_coef;  // d(-ent_coef * mean H) / d log_std_j
    }
    for (std::int64_t i = 0; i < m; ++i) {
      float log_prob = 0;
      for (std::int64_t j = 0; j < width; ++j) {
        z[j] = (actions[i * width + j] - out[i * width + j]) * inv_std[j];
        log_prob += -0.5F * z[j] * z[j] - log_std[j] - kHalfLog2Pi;
      }
      const float c = surrogate(i, log_prob);
      // d log pi / d mu = z / sigma; d log pi / d log_std = z^2 - 1.
      for (std::int64_t j = 0; j < width; ++j) {
        d_out[i * width + j] = c * z[j] * inv_std[j];
        log_std_grad[j] += c * (z[j] * z[j] - 1.0F);
      }
    }
    sum_entropy = static_cast<double>(entropy) * static_cast<double>(m);
  }
  backward(actor_, obs);
  const double sum_value = value_backward(mb, critic_in, index, m);

  const double n = static_cast<double>(m);
  FusedLosses losses;
  losses.policy_loss = -sum_surrogate / n;
  losses.value_loss = sum_value / n;
  losses.entropy = sum_entropy / n;
  losses.clip_fraction = static_cast<double>(clipped) / n;
  losses.mean_ratio = sum_ratio / n;
  return losses;
}

}  // namespace trustrl::agents
