#pragma once
// The distillation loss between a teacher's and a student's action distributions, per row.
//
// Categorical and MultiCategorical (per component): Hinton et al. 2015, "Distilling the Knowledge
// in a Neural Network": T^2 * KL(softmax(z_t / T) || softmax(z_s / T)). The gradient of the
// tempered KL with respect to the student's logits shrinks like 1/T^2 as T grows; the T^2 keeps
// its scale, so one learning rate serves every temperature.
//
// Diagonal Gaussian: softening by T multiplies both variances by T (each std by sqrt(T)). Of the
// closed-form KL only the mean term (mu_p - mu_q)^2 / (2 T sigma_q^2) changes (by 1/T; the std
// terms depend on the ratio sigma_p / sigma_q alone), so the loss is scaled by T: the means'
// gradient is then the same at every T and higher T weighs matching the stds more. At T = 1 both
// cases are the plain KL; whatever T, the minimum is the student equal to the teacher.

#include <torch/torch.h>

#include "agents/distribution.h"

namespace trustrl::agents {

/// forward: KL(teacher || student), the mean of the student's log-likelihood of the teacher's
/// actions (mode covering); reverse: KL(student || teacher) (mode seeking).
enum class KlDirection { kForward, kReverse };

/// `d` softened by `temperature` > 0: logits / T per component, or variances * T.
Distribution tempered(const Distribution& d, double temperature);

/// The scale that keeps the loss's gradient at every temperature: T^2 (categorical) or T
/// (Gaussian).
double temperature_scale(const Distribution& d, double temperature);

/// temperature_scale * KL between the tempered distributions, per row [B], in `direction`.
/// Gradients flow into both; detach the teacher to train the student alone. Throws Error for a
/// temperature <= 0 or distributions of different kinds or widths.
torch::Tensor distillation_loss(const Distribution& teacher, const Distribution& student,
                                double temperature, KlDirection direction);

}  // namespace trustrl::agents
