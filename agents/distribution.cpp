#include "agents/distribution.h"

#include <cmath>

#include "core/error.h"

namespace trustrl::agents {

namespace {
constexpr double kHalfLog2Pi = 0.91893853320467274178;  // 0.5 * log(2 pi)
}

Distribution Distribution::categorical(const torch::Tensor& logits) {
  Distribution d;
  d.kind_ = DistributionKind::kCategorical;
  d.log_probs_ = torch::log_softmax(logits, -1);
  d.nvec_ = {logits.size(-1)};
  return d;
}

Distribution Distribution::multi_categorical(const torch::Tensor& logits,
                                             std::vector<std::int64_t> nvec) {
  Distribution d;
  d.kind_ = DistributionKind::kMultiCategorical;
  std::vector<torch::Tensor> parts;
  std::int64_t offset = 0;
  for (auto n : nvec) {
    parts.push_back(torch::log_softmax(logits.narrow(-1, offset, n), -1));
    offset += n;
  }
  if (offset != logits.size(-1))
    throw Error("multi_categorical: logits width does not match sum(nvec)");
  d.log_probs_ = torch::cat(parts, -1);
  d.nvec_ = std::move(nvec);
  return d;
}

Distribution Distribution::diag_gaussian(const torch::Tensor& mean, const torch::Tensor& log_std) {
  Distribution d;
  d.kind_ = DistributionKind::kDiagGaussian;
  d.mean_ = mean;
  d.log_std_ = log_std.dim() == 1 ? log_std.expand_as(mean) : log_std;
  return d;
}

std::int64_t Distribution::batch_size() const {
  return kind_ == DistributionKind::kDiagGaussian ? mean_.size(0) : log_probs_.size(0);
}

torch::Tensor Distribution::log_prob(const torch::Tensor& actions) const {
  switch (kind_) {
    case DistributionKind::kCategorical:
      return log_probs_.gather(1, actions.view({-1, 1})).squeeze(1);
    case DistributionKind::kMultiCategorical: {
      torch::Tensor total;
      std::int64_t offset = 0;
      for (std::size_t k = 0; k < nvec_.size(); ++k) {
        const auto n = nvec_[k];
        auto lp = log_probs_.narrow(1, offset, n)
                      .gather(1, actions.narrow(1, static_cast<std::int64_t>(k), 1))
                      .squeeze(1);
        total = total.defined() ? total + lp : lp;
        offset += n;
      }
      return total;
    }
    case DistributionKind::kDiagGaussian: {
      const auto z = (actions - mean_) * torch::exp(-log_std_);
      return (-0.5 * z * z - log_std_ - kHalfLog2Pi).sum(-1);
    }
  }
  return {};
}

torch::Tensor Distribution::entropy() const {
  switch (kind_) {
    case DistributionKind::kCategorical:
    case DistributionKind::kMultiCategorical:
      // Sum over every component's classes: -sum p log p adds up across independent components.
      return -(torch::exp(log_probs_) * log_probs_).sum(-1);
    case DistributionKind::kDiagGaussian:
      return (log_std_ + (0.5 + kHalfLog2Pi)).sum(-1);
  }
  return {};
}

torch::Tensor Distribution::mode() const {
  switch (kind_) {
    case DistributionKind::kCategorical:
      return log_probs_.argmax(-1, /*keepdim=*/true);
    case DistributionKind::kMultiCategorical: {
      std::vector<torch::Tensor> parts;
      std::int64_t offset = 0;
      for (auto n : nvec_) {
        parts.push_back(log_probs_.narrow(1, offset, n).argmax(-1, true));
        offset += n;
      }
      return torch::cat(parts, 1);
    }
    case DistributionKind::kDiagGaussian:
      return mean_;
  }
  return {};
}

Distribution Distribution::rows(const torch::Tensor& index) const {
  Distribution d = *this;
  if (kind_ == DistributionKind::kDiagGaussian) {
    d.mean_ = mean_.index_select(0, index);
    d.log_std_ = log_std_.index_select(0, index);
  } else {
    d.log_probs_ = log_probs_.index_select(0, index);
  }
  return d;
}

Distribution Distribution::slice(std::int64_t start, std::int64_t length) const {
  Distribution d = *this;
  if (kind_ == DistributionKind::kDiagGaussian) {
    d.mean_ = mean_.narrow(0, start, length);
    d.log_std_ = log_std_.narrow(0, start, length);
  } else {
    d.log_probs_ = log_probs_.narrow(0, start, length);
  }
  return d;
}

Distribution Distribution::detach() const {
  Distribution d = *this;
  if (kind_ == DistributionKind::kDiagGaussian) {
    d.mean_ = mean_.detach();
    // A state-independent log std is a view of the parameter: copy it, or the snapshot would
    // follow every later step (KL(old || new) would miss the change of std).
    d.log_std_ = log_std_.detach().clone();
  } else {
    d.log_probs_ = log_probs_.detach();
  }
  return d;
}

}  // namespace trustrl::agents
