#include "agents/normalizer.h"

#include <algorithm>
#include <cmath>

#include "core/error.h"

namespace trustrl::agents {

void NormalizeConfig::visit(ConfigVisitor& v) {
  v.field("observations", observations,
          "normalize observations (and critic inputs) by running mean/std");
  v.field("rewards", rewards, "scale rewards by the running std of the discounted return");
  v.field("clip_obs", clip_obs, "clip normalized observations to +-clip_obs", Bounds::positive());
  v.field("clip_reward", clip_reward, "clip scaled rewards to +-clip_reward", Bounds::positive());
  v.field("epsilon", epsilon, "added to variances before the square root", Bounds::positive());
}

RunningMeanStd::RunningMeanStd(int dim, double epsilon)
    : mean_(static_cast<std::size_t>(dim), 0.0),
      var_(static_cast<std::size_t>(dim), 1.0),
      count_(epsilon) {}

void RunningMeanStd::merge(const std::vector<double>& batch_mean,
                           const std::vector<double>& batch_var, double n) {
  const double total = count_ + n;
  for (std::size_t k = 0; k < mean_.size(); ++k) {
    const double delta = batch_mean[k] - mean_[k];
    const double m2 = var_[k] * count_ + batch_var[k] * n + delta * delta * count_ * n / total;
    mean_[k] += delta * n / total;
    var_[k] = m2 / total;
  }
  count_ = total;
}

template <class T>
static void batch_moments(const T* x, std::int64_t rows, std::size_t dim, std::vector<double>& mean,
                          std::vector<double>& var) {
  mean.assign(dim, 0.0);
  var.assign(dim, 0.0);
  for (std::int64_t r = 0; r < rows; ++r)
    for (std::size_t k = 0; k < dim; ++k)
      mean[k] += static_cast<double>(x[static_cast<std::size_t>(r) * dim + k]);
  for (auto& m : mean) m /= static_cast<double>(rows);
  for (std::int64_t r = 0; r < rows; ++r)
    for (std::size_t k = 0; k < dim; ++k) {
      const double d = static_cast<double>(x[static_cast<std::size_t>(r) * dim + k]) - mean[k];
      var[k] += d * d;
    }
  for (auto& v : var) v /= static_cast<double>(rows);
}

void RunningMeanStd::update(const float* x, std::int64_t rows) {
  if (rows <= 0) return;
  std::vector<double> m, v;
  batch_moments(x, rows, mean_.size(), m, v);
  merge(m, v, static_cast<double>(rows));
}

void RunningMeanStd::update(const double* x, std::int64_t rows) {
  if (rows <= 0) return;
  std::vector<double> m, v;
  batch_moments(x, rows, mean_.size(), m, v);
  merge(m, v, static_cast<double>(rows));
}

void RunningMeanStd::save(ByteWriter& out) const {
  out.put_vector(mean_);
  out.put_vector(var_);
  out.put(count_);
}

void RunningMeanStd::load(ByteReader& in) {
  auto mean = in.get_vector<double>();
  auto var = in.get_vector<double>();
  if (mean.size() != mean_.size() || var.size() != var_.size())
    throw Error("saved normalizer statistics have " + std::to_string(mean.size()) +
                " dimensions, expected " + std::to_string(mean_.size()));
  const double count = in.get<double>();
  for (std::size_t i = 0; i < mean.size(); ++i)
    if (!std::isfinite(mean[i]) || !std::isfinite(var[i]) || var[i] < 0)
      throw Error("saved normalizer statistics are corrupt (component " + std::to_string(i) + ")");
  if (!std::isfinite(count) || count < 0)
    throw Error("saved normalizer statistics are corrupt (count)");
  mean_ = std::move(mean);
  var_ = std::move(var);
  count_ = count;
}

ObsNormalizer::ObsNormalizer(int dim, bool enabled, double clip, double epsilon)
    : rms_(dim), enabled_(enabled), clip_(clip), epsilon_(epsilon) {
  refresh();
}

void ObsNormalizer::refresh() {
  scale_.resize(rms_.mean().size());
  shift_.resize(rms_.mean().size());
  for (std::size_t k = 0; k < scale_.size(); ++k) {
    scale_[k] = static_cast<float>(1.0 / std::sqrt(rms_.var()[k] + epsilon_));
    shift_[k] = static_cast<float>(rms_.mean()[k]);
  }
}

void ObsNormalizer::normalize(const float* x, std::int64_t rows, float* out) const {
  const std::size_t dim = scale_.size();
  const std::size_t n = static_cast<std::size_t>(rows) * dim;
  if (!enabled_) {
    if (out != x) std::copy(x, x + n, out);
    return;
  }
  const auto c = static_cast<float>(clip_);
  for (std::size_t i = 0; i < n; ++i) {
    const std::size_t k = i % dim;
    out[i] = std::clamp((x[i] - shift_[k]) * scale_[k], -c, c);
  }
}

void ObsNormalizer::update(const float* x, std::int64_t rows) {
  if (!enabled_) return;
  rms_.update(x, rows);
  refresh();
}

void ObsNormalizer::save(ByteWriter& out) const {
  out.put<std::int32_t>(rms_.dim());
  out.put<std::uint8_t>(enabled_);
  out.put(clip_);
  out.put(epsilon_);
  rms_.save(out);
}

void ObsNormalizer::load(ByteReader& in) {
  const auto dim = in.get<std::int32_t>();
  // Each dimension takes 16 bytes (mean, variance) further on: a dim the file cannot hold is a
  // lie, refused before allocating for it.
  if (dim < 0 || static_cast<std::size_t>(dim) * 16 > in.remaining())
    throw Error("saved observation statistics are corrupt");
  enabled_ = in.get<std::uint8_t>() != 0;
  clip_ = in.get<double>();
  epsilon_ = in.get<double>();
  if (!(clip_ > 0) || !(epsilon_ >= 0) || std::isnan(clip_) || !std::isfinite(epsilon_))
    throw Error("saved observation statistics are corrupt (clip or epsilon)");
  rms_ = RunningMeanStd(dim);
  rms_.load(in);
  refresh();
}

ValueNormalizer::ValueNormalizer(bool enabled, double beta, double epsilon)
    : enabled_(enabled), beta_(beta), epsilon_(epsilon) {}

void ValueNormalizer::update(const float* returns, std::int64_t n) {
  if (!enabled_ || n <= 0) return;
  double mean = 0, mean_sq = 0;
  for (std::int64_t i = 0; i < n; ++i) {
    mean += returns[i];
    mean_sq += static_cast<double>(returns[i]) * returns[i];
  }
  mean /= static_cast<double>(n);
  mean_sq /= static_cast<double>(n);
  running_mean_ = beta_ * running_mean_ + (1 - beta_) * mean;
  running_mean_sq_ = beta_ * running_mean_sq_ + (1 - beta_) * mean_sq;
  debiasing_ = beta_ * debiasing_ + (1 - beta_);
  refresh();
}

void ValueNormalizer::refresh() {
  if (debiasing_ == 0) {  // no data yet: the identity, as a new normalizer starts
    mean_ = 0;
    std_ = 1;
    return;
  }
  const double d = std::max(debiasing_, epsilon_);
  mean_ = running_mean_ / d;
  const double mean_sq = running_mean_sq_ / d;
  std_ = std::sqrt(std::max(mean_sq - mean_ * mean_, 1e-2));  // the reference clamps var at 1e-2
}

void ValueNormalizer::save(ByteWriter& out) const {
  out.put<std::uint8_t>(enabled_);
  out.put(beta_);
  out.put(epsilon_);
  out.put(running_mean_);
  out.put(running_mean_sq_);
  out.put(debiasing_);
}

void ValueNormalizer::load(ByteReader& in) {
  enabled_ = in.get<std::uint8_t>() != 0;
  beta_ = in.get<double>();
  epsilon_ = in.get<double>();
  running_mean_ = in.get<double>();
  running_mean_sq_ = in.get<double>();
  debiasing_ = in.get<double>();
  if (!std::isfinite(beta_) || !std::isfinite(epsilon_) || !std::isfinite(running_mean_) ||
      !std::isfinite(running_mean_sq_) || !std::isfinite(debiasing_) || debiasing_ < 0)
    throw Error("saved value statistics are corrupt");
  refresh();
}

RewardScaler::RewardScaler(bool enabled, double gamma, double clip, double epsilon)
    : enabled_(enabled), gamma_(gamma), clip_(clip), epsilon_(epsilon) {}

double RewardScaler::std() const { return std::sqrt(rms_.var()[0] + epsilon_); }

void RewardScaler::scale(std::int64_t source, std::int64_t steps, std::int64_t copies,
                         float* rewards, const std::uint8_t* dones) {
  if (!enabled_) return;
  auto& ret = returns_[source];
  ret.resize(static_cast<std::size_t>(copies), 0.0);
  for (std::int64_t t = 0; t < steps; ++t) {
    float* r = rewards + t * copies;
    for (std::int64_t i = 0; i < copies; ++i)
      ret[static_cast<std::size_t>(i)] = ret[static_cast<std::size_t>(i)] * gamma_ + r[i];
    rms_.update(ret.data(), copies);
    const double s = std();
    const auto c = static_cast<float>(clip_);
    for (std::int64_t i = 0; i < copies; ++i) {
      r[i] = std::clamp(static_cast<float>(r[i] / s), -c, c);
      if (dones[t * copies + i]) ret[static_cast<std::size_t>(i)] = 0.0;
    }
  }
}

void RewardScaler::save(ByteWriter& out) const {
  rms_.save(out);
  out.put<std::uint64_t>(returns_.size());
  for (const auto& [source, ret] : returns_) {
    out.put(source);
    out.put_vector(ret);
  }
}

void RewardScaler::load(ByteReader& in) {
  rms_.load(in);
  returns_.clear();
  const auto n = in.get<std::uint64_t>();
  for (std::uint64_t i = 0; i < n; ++i) {
    const auto source = in.get<std::int64_t>();
    returns_[source] = in.get_vector<double>();
  }
}

}  // namespace trustrl::agents
