#pragma once
// Running statistics for observation normalization and reward scaling (PPO details 13 in
// docs/DESIGN.md).
//
// The learner owns them and they travel with the policy: an actor normalizes with the snapshot
// that came with its policy version, so the log-probs it records are exactly what the learner
// recomputes. Statistics are updated by the learner from each rollout's raw data after the
// update, i.e. they lag one rollout behind SB3's per-step VecNormalize (docs/DESIGN.md).

#include <cstdint>
#include <map>
#include <vector>

#include "core/bytes.h"
#include "core/config.h"

namespace trustrl::agents {

struct NormalizeConfig {
  bool observations = false;
  bool rewards = false;
  double clip_obs = 10.0;
  double clip_reward = 10.0;
  double epsilon = 1e-8;

  void visit(ConfigVisitor& v);
};

/// Mean and variance over a stream of vectors, merged batch by batch (Chan et al. 1979), in
/// double precision, starting from a pseudo-count as SB3's RunningMeanStd does.
class RunningMeanStd {
 public:
  explicit RunningMeanStd(int dim = 0, double epsilon = 1e-4);
  /// Folds in `rows` vectors of dim() values each.
  void update(const float* x, std::int64_t rows);
  void update(const double* x, std::int64_t rows);

  int dim() const { return static_cast<int>(mean_.size()); }
  const std::vector<double>& mean() const { return mean_; }
  const std::vector<double>& var() const { return var_; }
  double count() const { return count_; }

  void save(ByteWriter& out) const;
  void load(ByteReader& in);

 private:
  void merge(const std::vector<double>& batch_mean, const std::vector<double>& batch_var, double n);
  std::vector<double> mean_, var_;
  double count_;
};

/// (x - mean) / sqrt(var + eps), clipped to +-clip. Off: the identity.
class ObsNormalizer {
 public:
  ObsNormalizer() = default;
  ObsNormalizer(int dim, bool enabled, double clip, double epsilon = 1e-8);

  bool enabled() const { return enabled_; }
  int dim() const { return rms_.dim(); }
  double clip() const { return clip_; }
  double epsilon() const { return epsilon_; }
  /// The float mean and 1 / sqrt(var + eps) that normalize() applies, per component.
  const std::vector<float>& shift() const { return shift_; }
  const std::vector<float>& scale() const { return scale_; }
  /// Writes normalized rows of `x` into `out` (which may alias `x`).
  void normalize(const float* x, std::int64_t rows, float* out) const;
  void update(const float* x, std::int64_t rows);
  const RunningMeanStd& stats() const { return rms_; }

  /// Settings and statistics; load() restores both, whatever this object held.
  void save(ByteWriter& out) const;
  void load(ByteReader& in);

 private:
  RunningMeanStd rms_;
  bool enabled_ = false;
  double clip_ = 10.0, epsilon_ = 1e-8;
  std::vector<float> scale_, shift_;  // cached 1/sqrt(var + eps) and mean, as floats
  void refresh();
};

/// Value normalization (Yu et al. 2021, MAPPO's ValueNorm): the critic predicts returns in
/// normalized units; GAE works on denormalized values. Statistics are debiased exponential
/// moving averages of the returns' mean and mean square, with the reference code's beta
/// (0.99999) and epsilon (1e-5). Off: the identity.
class ValueNormalizer {
 public:
  ValueNormalizer() = default;
  ValueNormalizer(bool enabled, double beta = 0.99999, double epsilon = 1e-5);

  bool enabled() const { return enabled_; }
  void update(const float* returns, std::int64_t n);
  float normalize(float x) const { return enabled_ ? static_cast<float>((x - mean_) / std_) : x; }
  float denormalize(float x) const { return enabled_ ? static_cast<float>(x * std_ + mean_) : x; }
  double mean() const { return mean_; }
  double stddev() const { return std_; }

  void save(ByteWriter& out) const;
  void load(ByteReader& in);

 private:
  void refresh();
  bool enabled_ = false;
  double beta_ = 0.99999, epsilon_ = 1e-5;
  double running_mean_ = 0, running_mean_sq_ = 0, debiasing_ = 0;
  double mean_ = 0, std_ = 1;
};

/// Divides rewards by the running std of the discounted return (SB3 VecNormalize's reward
/// scaling), clipped to +-clip. One return accumulator per env stream, keyed by the stream's
/// source (an actor) and copy index, so several actors can feed one learner.
class RewardScaler {
 public:
  RewardScaler() = default;
  RewardScaler(bool enabled, double gamma, double clip, double epsilon = 1e-8);

  bool enabled() const { return enabled_; }
  /// Scales rewards [T, N] in place, step by step, resetting a copy's return where dones[t, i].
  /// Statistics are updated at each step before that step's rewards are scaled, as SB3 does.
  void scale(std::int64_t source, std::int64_t steps, std::int64_t copies, float* rewards,
             const std::uint8_t* dones);
  /// Drops the return accumulators of a source (its episodes were cut).
  void forget(std::int64_t source) { returns_.erase(source); }
  double std() const;

  void save(ByteWriter& out) const;
  void load(ByteReader& in);

 private:
  bool enabled_ = false;
  double gamma_ = 0.99, clip_ = 10.0, epsilon_ = 1e-8;
  RunningMeanStd rms_{1};
  std::map<std::int64_t, std::vector<double>> returns_;
};

}  // namespace trustrl::agents
