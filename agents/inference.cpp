#include "agents/inference.h"

#include <algorithm>
#include <cmath>

#include "agents/activation_kernels.h"
#include "agents/small_gemm.h"
#include "core/error.h"

namespace trustrl::agents {

namespace {

constexpr float kHalfLog2Pi = 0.91893853320467274178f;
constexpr double kGsdeVarianceEpsilon = 1e-6;  // network.h's kGsdeEpsilon, as SB3 adds it

// One dense layer, y = act(x W + b), with W stored [in, out]: the products and activations of
// agents/small_gemm.h and agents/activation_kernels.h, on the kernel path in use.
void dense(const DenseLayer& layer, const float* x, int rows, float* y, bool activate_output,
           bool relu) {
  small_gemm({.m = rows,
              .n = layer.out,
              .k = layer.in,
              .a = x,
              .a_row = layer.in,
              .a_col = 1,
              .b = layer.w.data(),
              .ldb = layer.out,
              .c = y,
              .ldc = layer.out,
              .bias = layer.b.data()});
  if (activate_output)
    activate(y, static_cast<std::int64_t>(rows) * static_cast<std::int64_t>(layer.out), relu);
}

void save_layers(ByteWriter& out, const std::vector<DenseLayer>& layers) {
  out.put<std::uint32_t>(static_cast<std::uint32_t>(layers.size()));
  for (const auto& l : layers) {
    out.put<std::int32_t>(l.in);
    out.put<std::int32_t>(l.out);
    out.put_vector(l.w);
    out.put_vector(l.b);
  }
}

std::vector<DenseLayer> load_layers(ByteReader& in) {
  const auto count = in.get<std::uint32_t>();
  if (count < 1 || count > kMaxPolicyLayers)
    throw Error("policy weights are corrupt (" + std::to_string(count) + " layers)");
  std::vector<DenseLayer> layers(count);
  for (auto& l : layers) {
    l.in = in.get<std::int32_t>();
    l.out = in.get<std::int32_t>();
    l.w = in.get_vector<float>();
    l.b = in.get_vector<float>();
    if (l.in < 1 || l.out < 1 ||
        l.w.size() != static_cast<std::size_t>(l.in) * static_cast<std::size_t>(l.out) ||
        l.b.size() != static_cast<std::size_t>(l.out))
      throw Error("policy weights are corrupt (layer sizes disagree)");
    for (const float x : l.w)
      if (!std::isfinite(x)) throw Error("policy weights hold a non-finite value");
    for (const float x : l.b)
      if (!std::isfinite(x)) throw Error("policy weights hold a non-finite value");
  }
  for (std::size_t i = 1; i < layers.size(); ++i)
    if (layers[i].in != layers[i - 1].out)
      throw Error("policy weights are corrupt (layer " + std::to_string(i) + " takes " +
                  std::to_string(layers[i].in) + " inputs, layer " + std::to_string(i - 1) +
                  " gives " + std::to_string(layers[i - 1].out) + ")");
  return layers;
}

}  // namespace

void PolicyWeights::save(ByteWriter& out) const {
  save_layers(out, actor);
  save_layers(out, critic);
  out.put_vector(log_std);
  out.put<std::uint8_t>(relu);
  out.put<std::uint8_t>(gsde);
  out.put(gsde_sample_freq);
}

PolicyWeights PolicyWeights::load(ByteReader& in) {
  PolicyWeights w;
  w.actor = load_layers(in);
  w.critic = load_layers(in);
  w.log_std = in.get_vector<float>();
  w.relu = in.get<std::uint8_t>() != 0;
  w.gsde = in.get<std::uint8_t>() != 0;
  w.gsde_sample_freq = in.get<std::int64_t>();
  for (const float x : w.log_std)
    if (!std::isfinite(x)) throw Error("policy weights hold a non-finite log std");
  if (w.gsde_sample_freq == 0 || w.gsde_sample_freq < -1)
    throw Error("policy weights have a bad gSDE sample frequency");
  if (w.critic.back().out != 1)
    throw Error("policy weights are corrupt (the critic gives " +
                std::to_string(w.critic.back().out) + " values, not 1)");
  return w;
}

PolicyInference::PolicyInference(PolicyWeights weights) : weights_(std::move(weights)) {
  if (weights_.actor.empty() || weights_.critic.empty()) throw Error("policy weights are empty");
}

void PolicyInference::run(const std::vector<DenseLayer>& layers, const float* x, int rows,
                          std::vector<float>& out) {
  const float* input = x;
  for (std::size_t i = 0; i < layers.size(); ++i) {
    const bool last = i + 1 == layers.size();
    std::vector<float>& target = last ? out : (i % 2 == 0 ? scratch_a_ : scratch_b_);
    target.resize(static_cast<std::size_t>(rows) * static_cast<std::size_t>(layers[i].out));
    latent_ = input;
    dense(layers[i], input, rows, target.data(), !last, weights_.relu);
    input = target.data();
  }
}

void PolicyInference::actor_outputs(const float* obs, int rows, std::vector<float>& out) {
  run(weights_.actor, obs, rows, out);
}

void PolicyInference::values(const float* critic_input, int rows, float* out) {
  run(weights_.critic, critic_input, rows, head_);
  std::copy(head_.begin(), head_.begin() + rows, out);
}

void PolicyInference::draw_exploration(int rows, Rng& rng, std::vector<float>& out) const {
  const std::size_t per_row = weights_.log_std.size();
  out.resize(static_cast<std::size_t>(rows) * per_row);
  for (std::size_t i = 0; i < out.size(); ++i)
    out[i] = static_cast<float>(rng.normal()) * std::exp(weights_.log_std[i % per_row]);
}

void PolicyInference::act(const float* obs, int rows, bool deterministic, Rng& rng, ActResult& out,
                          const float* exploration) {
  run(weights_.actor, obs, rows, head_);
  const envs::Space& space = weights_.action_space;
  const auto n_rows = static_cast<std::size_t>(rows);
  out.log_probs.assign(n_rows, 0.0f);
  if (space.kind == envs::SpaceKind::kBox && weights_.gsde) {
    // gSDE: the noise is latent . E (E held per row), its per-component std is
    // sqrt(latent^2 . sigma^2 + eps), and the log-prob is the Gaussian's at that std.
    const auto dim = static_cast<std::size_t>(space.flat_dim());
    const auto latent_dim = static_cast<std::size_t>(this->latent_dim());
    if (!deterministic && exploration == nullptr) {
      draw_exploration(rows, rng, fresh_exploration_);
      exploration = fresh_exploration_.data();
    }
    out.continuous_actions.resize(n_rows * dim);
    out.discrete_actions.clear();
    for (std::size_t r = 0; r < n_rows; ++r) {
      const float* latent = latent_ + r * latent_dim;
      float logp = 0.0f;
      for (std::size_t k = 0; k < dim; ++k) {
        double variance = kGsdeVarianceEpsilon, noise = 0.0;
        for (std::size_t j = 0; j < latent_dim; ++j) {
          const double l = latent[j];
          variance += l * l * std::exp(2.0 * weights_.log_std[j * dim + k]);
          if (!deterministic) noise += l * exploration[(r * latent_dim + j) * dim + k];
        }
        const double stddev = std::sqrt(variance);
        const float mean = head_[r * dim + k];
        out.continuous_actions[r * dim + k] = mean + static_cast<float>(noise);
        const double z = noise / stddev;
        logp += static_cast<float>(-0.5 * z * z - std::log(stddev)) - kHalfLog2Pi;
      }
      out.log_probs[r] = logp;
    }
    return;
  }
  if (space.kind == envs::SpaceKind::kBox) {
    const auto dim = static_cast<std::size_t>(space.flat_dim());
    out.continuous_actions.resize(n_rows * dim);
    out.discrete_actions.clear();
    for (std::size_t r = 0; r < n_rows; ++r) {
      float logp = 0.0f;
      for (std::size_t k = 0; k < dim; ++k) {
        const float z = deterministic ? 0.0f : static_cast<float>(rng.normal());
        out.continuous_actions[r * dim + k] =
            head_[r * dim + k] + std::exp(weights_.log_std[k]) * z;
        logp += -0.5f * z * z - weights_.log_std[k] - kHalfLog2Pi;
      }
      out.log_probs[r] = logp;
    }
    return;
  }
  // Categorical components: one block of logits each (a Discrete space is one block).
  const std::vector<std::int64_t> blocks =
      space.kind == envs::SpaceKind::kDiscrete ? std::vector<std::int64_t>{space.n} : space.nvec;
  const std::int64_t start = space.kind == envs::SpaceKind::kDiscrete ? space.start : 0;
  const auto width = static_cast<std::size_t>(space.num_logits());
  out.discrete_actions.resize(n_rows * blocks.size());
  out.continuous_actions.clear();
  for (std::size_t r = 0; r < n_rows; ++r) {
    std::size_t offset = 0;
    float logp = 0.0f;
    for (std::size_t c = 0; c < blocks.size(); ++c) {
      const float* logits = head_.data() + r * width + offset;
      const auto n = static_cast<std::size_t>(blocks[c]);
      const float max = *std::max_element(logits, logits + n);
      double total = 0.0;
      for (std::size_t k = 0; k < n; ++k) total += std::exp(static_cast<double>(logits[k] - max));
      const float log_total = static_cast<float>(std::log(total));
      std::size_t choice = 0;
      if (deterministic) {
        choice = static_cast<std::size_t>(std::max_element(logits, logits + n) - logits);
      } else {
        // Inverse CDF; the last class takes any rounding remainder.
        double u = rng.uniform() * total, cum = 0.0;
        choice = n - 1;
        for (std::size_t k = 0; k < n; ++k) {
          cum += std::exp(static_cast<double>(logits[k] - max));
          if (u < cum) {
            choice = k;
            break;
          }
        }
      }
      logp += logits[choice] - max - log_total;
      out.discrete_actions[r * blocks.size() + c] = static_cast<std::int64_t>(choice) + start;
      offset += n;
    }
    out.log_probs[r] = logp;
  }
}

}  // namespace trustrl::agents
