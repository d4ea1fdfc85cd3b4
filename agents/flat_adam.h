#pragma once
// Adam over one flat parameter buffer.
//
// The module's parameters are re-seated as views into one contiguous tensor, and their
// gradients as views into another, so the optimizer step, the global gradient-norm clip and the
// zeroing of gradients are each a handful of ops on one buffer instead of a loop over every
// parameter tensor (the per-op dispatch cost dominates for small MLPs). The update rule is
// torch.optim.Adam's (Kingma & Ba 2015, with bias correction).

#include <torch/torch.h>

#include <cstdint>
#include <vector>

#include "core/bytes.h"

namespace trustrl::agents {

class FlatAdam {
 public:
  /// Re-seats every parameter of `module` onto one flat buffer (values kept) and gives each a
  /// gradient that is a view into one flat gradient buffer.
  FlatAdam(torch::nn::Module& module, double lr, double beta1 = 0.9, double beta2 = 0.999,
           double eps = 1e-8);

  /// The slots [offset, offset + count) of the flat buffers.
  struct Range {
    std::int64_t offset = 0, count = 0;
  };
  /// Every slot.
  Range all() const { return {0, params_.numel()}; }
  /// The slots that `parameters` (parameters of the module, in any order) occupy together;
  /// throws Error unless they fill one contiguous run.
  Range range_of(const std::vector<torch::Tensor>& parameters) const;

  void set_learning_rate(double lr) { lr_ = lr; }
  /// Zeroes every gradient (in place, keeping the views).
  void zero_grad() { grads_.zero_(); }
  /// Scales the gradients so their global L2 norm is at most `max_norm` (torch's
  /// clip_grad_norm_ rule); returns the norm before clipping.
  double clip_grad_norm(double max_norm) { return clip_grad_norm(max_norm, all()); }
  /// The same over `range` alone: the rest of the buffers are neither read nor written.
  double clip_grad_norm(double max_norm, Range range);
  void step() { step(all()); }
  /// One Adam step (the step count advances) of the slots in `range` alone, the rest neither
  /// read nor written: for a part of the network whose other slots another thread may be
  /// changing meanwhile. Where the other slots have zero gradients and moments (a part that
  /// Adam never moved) this takes the same values as step().
  void step(Range range);

  /// The gradients as one flat tensor (the live buffer the parameters' .grad() views point into),
  /// e.g. for summing over data-parallel learners in place.
  torch::Tensor& gradients() { return grads_; }
  /// The parameters as one flat tensor (the live buffer; clone it to keep a copy).
  const torch::Tensor& parameters() const { return params_; }
  void set_parameters(const torch::Tensor& flat);

  const torch::Tensor& first_moment() const { return m_; }
  const torch::Tensor& second_moment() const { return v_; }
  std::int64_t steps() const { return steps_; }

  /// Parameters and optimizer state.
  void save(ByteWriter& out) const;
  void load(ByteReader& in);

 private:
  torch::Tensor params_, grads_, m_, v_;
  std::int64_t steps_ = 0;
  double lr_, beta1_, beta2_, eps_;
};

}  // namespace trustrl::agents
