#include "agents/flat_adam.h"

#include <algorithm>
#include <cmath>
#include <cstdint>

#include "agents/kernel_path.h"
#include "agents/kernel_targets.h"
#include "core/error.h"

namespace trustrl::agents {

namespace {

struct AdamCoefficients {
  float b1, one_minus_b1, b2, one_minus_b2, sqrt_bias2, eps, step_size;
};

// torch.optim.Adam's rule: m and v the running moments, p -= lr / bias1 * m / (sqrt(v) /
// sqrt(bias2) + eps), each in float as torch computes a float tensor's. Compiled per kernel path
// (sqrt and division dominate; flat_adam.cpp builds with -fno-math-errno so they vectorize).
[[gnu::always_inline]] inline void adam_body(float* __restrict p, float* __restrict m,
                                             float* __restrict v, const float* __restrict g,
                                             std::int64_t n, const AdamCoefficients& c) {
  for (std::int64_t k = 0; k < n; ++k) {
    m[k] = m[k] * c.b1 + g[k] * c.one_minus_b1;
    v[k] = v[k] * c.b2 + g[k] * g[k] * c.one_minus_b2;
    p[k] -= c.step_size * (m[k] / (std::sqrt(v[k]) / c.sqrt_bias2 + c.eps));
  }
}

[[gnu::target(TRUSTRL_TARGET_AVX512)]] void adam_avx512(float* p, float* m, float* v,
                                                        const float* g, std::int64_t n,
                                                        const AdamCoefficients& c) {
  adam_body(p, m, v, g, n, c);
}
[[gnu::target(TRUSTRL_TARGET_AVX2)]] void adam_avx2(float* p, float* m, float* v, const float* g,
                                                    std::int64_t n, const AdamCoefficients& c) {
  adam_body(p, m, v, g, n, c);
}
void adam_baseline(float* p, float* m, float* v, const float* g, std::int64_t n,
                   const AdamCoefficients& c) {
  adam_body(p, m, v, g, n, c);
}

void adam_update(float* p, float* m, float* v, const float* g, std::int64_t n,
                 const AdamCoefficients& c) {
  for_kernel_path(adam_avx512, adam_avx2, adam_baseline)(p, m, v, g, n, c);
}

}  // namespace

FlatAdam::FlatAdam(torch::nn::Module& module, double lr, double beta1, double beta2, double eps)
    : lr_(lr), beta1_(beta1), beta2_(beta2), eps_(eps) {
  auto params = module.parameters();
  std::int64_t total = 0;
  for (const auto& p : params) total += p.numel();
  params_ = torch::zeros({total});
  grads_ = torch::zeros({total});
  m_ = torch::zeros({total});
  v_ = torch::zeros({total});
  torch::NoGradGuard no_grad;
  std::int64_t offset = 0;
  for (auto& p : params) {
    const auto n = p.numel();
    torch::Tensor slot = params_.narrow(0, offset, n).view(p.sizes());
    slot.copy_(p);
    p.set_data(slot);
    p.mutable_grad() = grads_.narrow(0, offset, n).view(p.sizes());
    offset += n;
  }
}

// Both are one pass of plain loops over the flat buffers: as ATen ops (a norm, then seven
// in-place ops and a temporary for Adam) each minibatch step paid ~18 us of dispatch and passes
// for ~9k parameters, more than the fused gradient's forward and backward of its small layers.
FlatAdam::Range FlatAdam::range_of(const std::vector<torch::Tensor>& parameters) const {
  if (parameters.empty()) return {0, 0};
  const auto base = reinterpret_cast<std::uintptr_t>(params_.data_ptr<float>());
  const std::int64_t total = params_.numel();
  std::int64_t lo = total, hi = 0, count = 0;
  for (const auto& p : parameters) {
    const auto at = reinterpret_cast<std::uintptr_t>(p.data_ptr());
    const auto offset = static_cast<std::int64_t>((at - base) / sizeof(float));
    if (at < base || p.scalar_type() != torch::kFloat32 || !p.is_contiguous() ||
        offset + p.numel() > total)
      throw Error("FlatAdam: a parameter outside the optimizer's flat buffer");
    lo = std::min(lo, offset);
    hi = std::max(hi, offset + p.numel());
    count += p.numel();
  }
  if (hi - lo != count)
    throw Error("FlatAdam: the parameters do not fill one contiguous run of the flat buffer");
  return {lo, count};
}

double FlatAdam::clip_grad_norm(double max_norm, Range range) {
  if (range.offset < 0 || range.count < 0 || range.offset + range.count > grads_.numel())
    throw Error("FlatAdam: a range outside the flat buffer");
  float* __restrict g = grads_.data_ptr<float>() + range.offset;
  const std::int64_t n = range.count;
  // Eight running sums in double: independent chains the loop can overlap, and no rounding
  // worth the name for any buffer size.
  double sums[8] = {};
  std::int64_t i = 0;
  for (; i + 8 <= n; i += 8)
    for (int l = 0; l < 8; ++l) sums[l] += static_cast<double>(g[i + l]) * g[i + l];
  for (; i < n; ++i) sums[0] += static_cast<double>(g[i]) * g[i];
  double sum = 0;
  for (const double s : sums) sum += s;
  const double norm = std::sqrt(sum);
  const double coef = max_norm / (norm + 1e-6);
  if (coef < 1.0) {
    const auto c = static_cast<float>(coef);
    for (std::int64_t k = 0; k < n; ++k) g[k] *= c;
  }
  return norm;
}

void FlatAdam::step(Range range) {
  if (range.offset < 0 || range.count < 0 || range.offset + range.count > params_.numel())
    throw Error("FlatAdam: a range outside the flat buffer");
  ++steps_;
  const double bias1 = 1.0 - std::pow(beta1_, static_cast<double>(steps_));
  const double bias2 = 1.0 - std::pow(beta2_, static_cast<double>(steps_));
  const std::int64_t at = range.offset;
  adam_update(params_.data_ptr<float>() + at, m_.data_ptr<float>() + at, v_.data_ptr<float>() + at,
              grads_.data_ptr<float>() + at, range.count,
              {.b1 = static_cast<float>(beta1_),
               .one_minus_b1 = static_cast<float>(1.0 - beta1_),
               .b2 = static_cast<float>(beta2_),
               .one_minus_b2 = static_cast<float>(1.0 - beta2_),
               .sqrt_bias2 = static_cast<float>(std::sqrt(bias2)),
               .eps = static_cast<float>(eps_),
               .step_size = static_cast<float>(lr_ / bias1)});
}

void FlatAdam::set_parameters(const torch::Tensor& flat) {
  torch::NoGradGuard no_grad;
  params_.copy_(flat);
}

namespace {
void put_tensor(ByteWriter& out, const torch::Tensor& t) {
  const torch::Tensor c = t.contiguous();
  out.put_vector(std::span<const float>(c.data_ptr<float>(), static_cast<std::size_t>(c.numel())));
}
void get_tensor(ByteReader& in, torch::Tensor& t, const char* what) {
  const std::vector<float> v = in.get_vector<float>();
  if (static_cast<std::int64_t>(v.size()) != t.numel())
    throw Error(std::string("saved ") + what + " has " + std::to_string(v.size()) +
                " values, the network has " + std::to_string(t.numel()) +
                "; the checkpoint is from another network shape");
  torch::NoGradGuard no_grad;
  t.copy_(torch::from_blob(const_cast<float*>(v.data()), {t.numel()}, torch::kFloat32));
}
}  // namespace

void FlatAdam::save(ByteWriter& out) const {
  put_tensor(out, params_);
  put_tensor(out, m_);
  put_tensor(out, v_);
  out.put(steps_);
}

void FlatAdam::load(ByteReader& in) {
  get_tensor(in, params_, "parameters");
  get_tensor(in, m_, "optimizer moments");
  get_tensor(in, v_, "optimizer moments");
  steps_ = in.get<std::int64_t>();
}

}  // namespace trustrl::agents
