#pragma once
// The hidden layers' activations over a block of floats, in place, compiled once per kernel path
// (agents/kernel_path.h): the actor's inference and the fused update share them, so both
// compute the same activations.

#include <cstdint>

namespace trustrl::agents {

/// y = tanh(y) (agents/vector_tanh.h) or max(y, 0), elementwise over n floats.
void activate(float* y, std::int64_t n, bool relu);

/// g *= the activation's derivative at the pre-activation, written in terms of the output y:
/// tanh' = 1 - y^2, relu' = [y > 0].
void activation_backward(float* g, const float* y, std::int64_t n, bool relu);

}  // namespace trustrl::agents
