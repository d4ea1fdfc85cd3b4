#include "agents/distill_loss.h"

#include <cmath>
#include <string>

#include "agents/kl.h"
#include "core/error.h"

namespace trustrl::agents {

namespace {
void check_temperature(double temperature) {
  if (!(temperature > 0) || !std::isfinite(temperature))
    throw Error("distillation temperature must be a finite number > 0, got " +
                std::to_string(temperature));
}
}  // namespace

Distribution tempered(const Distribution& d, double temperature) {
  check_temperature(temperature);
  if (temperature == 1.0) return d;
  switch (d.kind()) {
    case DistributionKind::kCategorical:
      // log_softmax(z) differs from z by a constant per row, so softmax(log_softmax(z) / T) is
      // softmax(z / T).
      return Distribution::categorical(d.log_probs() / temperature);
    case DistributionKind::kMultiCategorical:
      return Distribution::multi_categorical(d.log_probs() / temperature, d.nvec());
    case DistributionKind::kDiagGaussian:
      return Distribution::diag_gaussian(d.mean(), d.log_std() + 0.5 * std::log(temperature));
  }
  throw Error("tempered: unknown distribution kind");
}

double temperature_scale(const Distribution& d, double temperature) {
  check_temperature(temperature);
  return d.kind() == DistributionKind::kDiagGaussian ? temperature : temperature * temperature;
}

torch::Tensor distillation_loss(const Distribution& teacher, const Distribution& student,
                                double temperature, KlDirection direction) {
  check_temperature(temperature);
  if (teacher.kind() != student.kind())
    throw Error("distillation: the teacher's and the student's action distributions differ");
  if (teacher.nvec() != student.nvec() || (teacher.kind() == DistributionKind::kDiagGaussian &&
                                           teacher.mean().size(-1) != student.mean().size(-1)))
    throw Error("distillation: the teacher's and the student's action spaces differ in width");
  const Distribution t = tempered(teacher, temperature), s = tempered(student, temperature);
  const torch::Tensor kl =
      direction == KlDirection::kForward ? kl_divergence(t, s) : kl_divergence(s, t);
  return temperature_scale(teacher, temperature) * kl;
}

}  // namespace trustrl::agents
