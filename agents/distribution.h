#pragma once
// Batches of action distributions: Categorical, MultiCategorical, DiagGaussian.
//
// One value type rather than a class hierarchy: the learner and the KL code switch on kind(),
// and a batch can be sliced by rows for minibatches.

#include <torch/torch.h>

#include <cstdint>
#include <vector>

namespace trustrl::agents {

enum class DistributionKind { kCategorical, kMultiCategorical, kDiagGaussian };

class Distribution {
 public:
  /// `logits` [B, n], unnormalized.
  static Distribution categorical(const torch::Tensor& logits);
  /// `logits` [B, sum(nvec)], one block of logits per component.
  static Distribution multi_categorical(const torch::Tensor& logits,
                                        std::vector<std::int64_t> nvec);
  /// `mean` [B, d]; `log_std` [d] (state-independent) or [B, d].
  static Distribution diag_gaussian(const torch::Tensor& mean, const torch::Tensor& log_std);

  DistributionKind kind() const { return kind_; }
  std::int64_t batch_size() const;

  /// Log-density of `actions` per row, [B]. Discrete actions are int64 [B, k] (k = 1 for
  /// Categorical, len(nvec) for MultiCategorical), continuous ones float [B, d]. Components are
  /// independent, so log-probs add up.
  torch::Tensor log_prob(const torch::Tensor& actions) const;
  /// Entropy per row, [B].
  torch::Tensor entropy() const;
  /// The most likely action per row ([B, k] int64 or [B, d] float).
  torch::Tensor mode() const;

  /// Rows `index` (int64 [M]) of the batch.
  Distribution rows(const torch::Tensor& index) const;
  /// Rows [start, start + length) of the batch (views, no copy).
  Distribution slice(std::int64_t start, std::int64_t length) const;
  /// The same distribution cut from the autograd graph, as a snapshot: later in-place steps on
  /// the parameters (a state-independent log std is one) do not move it.
  Distribution detach() const;

  /// Log-probabilities per class, [B, n] (Categorical) or [B, sum(nvec)] (MultiCategorical).
  const torch::Tensor& log_probs() const { return log_probs_; }
  const torch::Tensor& mean() const { return mean_; }
  /// [B, d] (broadcast from a state-independent [d]).
  const torch::Tensor& log_std() const { return log_std_; }
  const std::vector<std::int64_t>& nvec() const { return nvec_; }

 private:
  DistributionKind kind_ = DistributionKind::kCategorical;
  torch::Tensor log_probs_;  // normalized, per class
  torch::Tensor mean_, log_std_;
  std::vector<std::int64_t> nvec_;
};

}  // namespace trustrl::agents
