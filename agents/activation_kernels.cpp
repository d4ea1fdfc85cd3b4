#include "agents/activation_kernels.h"

#include <algorithm>

#include "agents/kernel_path.h"
#include "agents/kernel_targets.h"
#include "agents/vector_tanh.h"

namespace trustrl::agents {

namespace {

[[gnu::always_inline]] inline void activate_body(float* y, std::int64_t n, bool relu) {
  if (relu) {
    for (std::int64_t k = 0; k < n; ++k) y[k] = std::max(y[k], 0.0F);
  } else {
    for (std::int64_t k = 0; k < n; ++k) y[k] = vector_tanh(y[k]);
  }
}

[[gnu::always_inline]] inline void activation_backward_body(float* g, const float* y,
                                                            std::int64_t n, bool relu) {
  if (relu) {
    for (std::int64_t k = 0; k < n; ++k) g[k] = y[k] > 0.0F ? g[k] : 0.0F;
  } else {
    for (std::int64_t k = 0; k < n; ++k) g[k] *= 1.0F - y[k] * y[k];
  }
}

[[gnu::target(TRUSTRL_TARGET_AVX512)]] void activate_avx512(float* y, std::int64_t n, bool relu) {
  activate_body(y, n, relu);
}
[[gnu::target(TRUSTRL_TARGET_AVX2)]] void activate_avx2(float* y, std::int64_t n, bool relu) {
  activate_body(y, n, relu);
}
void activate_baseline(float* y, std::int64_t n, bool relu) { activate_body(y, n, relu); }

[[gnu::target(TRUSTRL_TARGET_AVX512)]] void activation_backward_avx512(float* g, const float* y,
                                                                       std::int64_t n, bool relu) {
  activation_backward_body(g, y, n, relu);
}
[[gnu::target(TRUSTRL_TARGET_AVX2)]] void activation_backward_avx2(float* g, const float* y,
                                                                   std::int64_t n, bool relu) {
  activation_backward_body(g, y, n, relu);
}
void activation_backward_baseline(float* g, const float* y, std::int64_t n, bool relu) {
  activation_backward_body(g, y, n, relu);
}

}  // namespace

void activate(float* y, std::int64_t n, bool relu) {
  for_kernel_path(activate_avx512, activate_avx2, activate_baseline)(y, n, relu);
}

void activation_backward(float* g, const float* y, std::int64_t n, bool relu) {
  for_kernel_path(activation_backward_avx512, activation_backward_avx2,
                  activation_backward_baseline)(g, y, n, relu);
}

}  // namespace trustrl::agents
