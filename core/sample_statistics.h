#pragma once
// Summary statistics of a sample (evaluation returns): mean, spread, extremes and a 95%
// confidence interval of the mean, for reports that scripts read.

#include <optional>
#include <vector>

namespace trustrl {

struct ConfidenceInterval {
  double low = 0;
  double high = 0;
};

struct SampleSummary {
  int count = 0;
  double mean = 0;
  /// Population standard deviation (divides by n), as eval's text line prints it.
  double std = 0;
  double min = 0;
  double max = 0;
  /// 95% interval of the mean: mean +- t(0.975, n - 1) * s / sqrt(n), s the sample standard
  /// deviation (divides by n - 1). Student's t at every n, so small samples get the wider interval
  /// they need; none for a single value, where the spread is unknown.
  std::optional<ConfidenceInterval> mean_ci95;
};

/// Throws Error for an empty sample or a non-finite value.
SampleSummary summarize(const std::vector<double>& values);

/// The 0.975 quantile of Student's t distribution with `dof` >= 1 degrees of freedom.
double student_t_975(int dof);

}  // namespace trustrl
