#include "agents/flat_adam.h"

#include <cmath>

#include "core/error.h"

namespace trustrl::agents {

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

double FlatAdam::clip_grad_norm(double max_norm) {
  const double norm = grads_.norm().item<double>();
  const double coef = max_norm / (norm + 1e-6);
  if (coef < 1.0) grads_.mul_(coef);
  return norm;
}

void FlatAdam::step() {
  torch::NoGradGuard no_grad;
  ++steps_;
  m_.mul_(beta1_).add_(grads_, 1.0 - beta1_);
  v_.mul_(beta2_).addcmul_(grads_, grads_, 1.0 - beta2_);
  const double bias1 = 1.0 - std::pow(beta1_, static_cast<double>(steps_));
  const double bias2 = 1.0 - std::pow(beta2_, static_cast<double>(steps_));
  const torch::Tensor denom = (v_.sqrt() / std::sqrt(bias2)).add_(eps_);
  params_.addcdiv_(m_, denom, -lr_ / bias1);
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
