#include "core/sample_statistics.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <string>

#include "core/error.h"

namespace trustrl {

double student_t_975(int dof) {
  if (dof < 1)
    throw Error("Student's t needs at least 1 degree of freedom, got " + std::to_string(dof));
  // t(0.975, dof) for dof 1..30, from the standard tables (e.g. NIST/SEMATECH
  // e-Handbook 1.3.6.7.2).
  static constexpr std::array<double, 30> kTable = {
      12.706205, 4.302653, 3.182446, 2.776445, 2.570582, 2.446912, 2.364624, 2.306004,
      2.262157,  2.228139, 2.200985, 2.178813, 2.160369, 2.144787, 2.131450, 2.119905,
      2.109816,  2.100922, 2.093024, 2.085963, 2.079614, 2.073873, 2.068658, 2.063899,
      2.059539,  2.055529, 2.051831, 2.048407, 2.045230, 2.042272};
  if (dof <= 30) return kTable[static_cast<std::size_t>(dof - 1)];
  // Above 30: the Cornish-Fisher expansion around the normal quantile (Abramowitz & Stegun
  // 26.7.5), within 1e-5 of the exact value from dof 30 on.
  const double z = 1.959963984540054, n = dof;
  const double z3 = z * z * z, z5 = z3 * z * z, z7 = z5 * z * z;
  return z + (z3 + z) / (4 * n) + (5 * z5 + 16 * z3 + 3 * z) / (96 * n * n) +
         (3 * z7 + 19 * z5 + 17 * z3 - 15 * z) / (384 * n * n * n);
}

SampleSummary summarize(const std::vector<double>& values) {
  if (values.empty()) throw Error("cannot summarize an empty sample");
  for (const double v : values)
    if (!std::isfinite(v)) throw Error("cannot summarize a sample holding a non-finite value");
  SampleSummary s;
  s.count = static_cast<int>(values.size());
  const double n = s.count;
  for (const double v : values) s.mean += v;
  s.mean /= n;
  double squares = 0;
  for (const double v : values) squares += (v - s.mean) * (v - s.mean);
  s.std = std::sqrt(squares / n);
  const auto [lo, hi] = std::minmax_element(values.begin(), values.end());
  s.min = *lo;
  s.max = *hi;
  if (s.count > 1) {
    const double half = student_t_975(s.count - 1) * std::sqrt(squares / (n - 1)) / std::sqrt(n);
    s.mean_ci95 = ConfidenceInterval{s.mean - half, s.mean + half};
  }
  return s;
}

}  // namespace trustrl
