#include "agents/conjugate_gradient.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "agents/fisher_vector_product.h"

namespace trustrl::agents {
namespace {

// A random symmetric positive definite matrix with eigenvalues in [0.5, 10].
torch::Tensor spd_matrix(std::int64_t n) {
  const torch::Tensor q = std::get<0>(torch::linalg_qr(torch::randn({n, n}, torch::kFloat64)));
  const torch::Tensor eigenvalues = torch::linspace(0.5, 10.0, n, torch::kFloat64);
  return q.matmul(torch::diag(eigenvalues)).matmul(q.t());
}

auto times(const torch::Tensor& a) {
  return [a](const torch::Tensor& v) { return a.matmul(v); };
}

TEST(ConjugateGradient, SolvesAKnownSpdSystem) {
  torch::manual_seed(1);
  const torch::Tensor a = spd_matrix(8), b = torch::randn({8}, torch::kFloat64);
  const torch::Tensor want = torch::linalg_solve(a, b);
  // In exact arithmetic CG ends in n steps; a few more allow for rounding.
  const ConjugateGradientResult r = conjugate_gradient(times(a), b, 20, 1e-12);
  EXPECT_TRUE(r.converged);
  EXPECT_TRUE(r.positive_curvature);
  EXPECT_LE(r.iterations, 12);
  EXPECT_LE(r.relative_residual, 1e-12);
  EXPECT_LT((r.x - want).norm().item<double>() / want.norm().item<double>(), 1e-9);
  // The recurrence's residual is the true one.
  EXPECT_LT((b - a.matmul(r.x)).norm().item<double>() / b.norm().item<double>(), 1e-10);
}

TEST(ConjugateGradient, ResidualFallsWithIterationsAndStopsAtTheCap) {
  torch::manual_seed(2);
  const torch::Tensor a = spd_matrix(30), b = torch::randn({30}, torch::kFloat64);
  const ConjugateGradientResult two = conjugate_gradient(times(a), b, 2);
  const ConjugateGradientResult ten = conjugate_gradient(times(a), b, 10);
  EXPECT_EQ(two.iterations, 2);
  EXPECT_EQ(ten.iterations, 10);
  EXPECT_FALSE(ten.converged);
  EXPECT_LT(two.relative_residual, 1.0);
  EXPECT_LT(ten.relative_residual, two.relative_residual);
  // The A-norm of the error falls at every step (Nocedal & Wright, theorem 5.2).
  const torch::Tensor x_star = torch::linalg_solve(a, b);
  auto energy = [&](const torch::Tensor& x) {
    const torch::Tensor e = x - x_star;
    return e.dot(a.matmul(e)).item<double>();
  };
  EXPECT_LT(energy(ten.x), energy(two.x));
}

// Why a natural-gradient step asks CG for progress (b . x > 0) and not for a residual below ||b||:
// on an ill-conditioned system the residual can grow (here about 5x after one iteration) while the
// iterate is still the minimizer of the quadratic model on its Krylov space.
TEST(ConjugateGradient, ResidualCanGrowWhileTheIterateAscends) {
  const torch::Tensor a = torch::diag(torch::tensor({1.0, 100.0}, torch::kFloat64));
  const torch::Tensor b = torch::tensor({1.0, 0.1}, torch::kFloat64);
  const ConjugateGradientResult r = conjugate_gradient(times(a), b, 1, 1e-12);
  EXPECT_GT(r.relative_residual, 4.0);
  EXPECT_NEAR(r.relative_residual,
              (b - a.matmul(r.x)).norm().item<double>() / b.norm().item<double>(), 1e-12);
  EXPECT_TRUE(made_progress(b, r));
  // The quadratic model 1/2 x^T A x - b^T x fell below its value at 0.
  EXPECT_LT(0.5 * r.x.dot(a.matmul(r.x)).item<double>() - b.dot(r.x).item<double>(), 0.0);
  // A direction that does not ascend (as rounding could leave) is no progress.
  ConjugateGradientResult backwards = r;
  backwards.x = -r.x;
  EXPECT_FALSE(made_progress(b, backwards));
  backwards.x = torch::zeros_like(r.x);
  EXPECT_FALSE(made_progress(b, backwards));
}

TEST(ConjugateGradient, ZeroRightHandSideIsSolvedByZero) {
  const ConjugateGradientResult r =
      conjugate_gradient(times(spd_matrix(4)), torch::zeros({4}, torch::kFloat64), 10);
  EXPECT_TRUE(r.converged);
  EXPECT_EQ(r.iterations, 0);
  EXPECT_EQ(r.x.abs().sum().item<double>(), 0.0);
}

TEST(ConjugateGradient, ReportsADirectionWithoutPositiveCurvature) {
  const torch::Tensor a = torch::diag(torch::tensor({1.0, -2.0}, torch::kFloat64));
  const ConjugateGradientResult r =
      conjugate_gradient(times(a), torch::tensor({1.0, 1.0}, torch::kFloat64), 10);
  EXPECT_FALSE(r.positive_curvature);
  EXPECT_FALSE(r.converged);
  EXPECT_EQ(r.iterations, 0);
  EXPECT_EQ(r.x.abs().sum().item<double>(), 0.0);
}

TEST(ConjugateGradient, ReportsANanProductAsNoPositiveCurvature) {
  const double nan = std::numeric_limits<double>::quiet_NaN();
  const ConjugateGradientResult r = conjugate_gradient(
      [&](const torch::Tensor& v) { return v * nan; }, torch::ones({3}, torch::kFloat64), 10);
  EXPECT_FALSE(r.positive_curvature);
  EXPECT_TRUE(torch::isfinite(r.x).all().item<bool>());
}

TEST(ConjugateGradient, SolvesTheFisherSystemOfATinyNet) {
  torch::manual_seed(5);
  NetworkConfig config;
  config.actor_hidden = {4};
  config.ortho_init = false;
  ActorCritic net(NetworkShape{3, 3, envs::Space::discrete(3)}, config);
  net->to(torch::kFloat64);
  const FisherVectorProduct fvp(*net, torch::randn({8, 3}, torch::kFloat64), /*damping=*/0.1);
  const torch::Tensor eye = torch::eye(fvp.size(), torch::kFloat64);
  std::vector<torch::Tensor> columns;
  for (std::int64_t j = 0; j < fvp.size(); ++j) columns.push_back(fvp(eye[j]));
  const torch::Tensor f = torch::stack(columns, 1);
  const torch::Tensor g = torch::randn({fvp.size()}, torch::kFloat64);
  const torch::Tensor want = torch::linalg_solve(f, g);

  const ConjugateGradientResult r =
      conjugate_gradient([&](const torch::Tensor& v) { return fvp(v); }, g, 200, 1e-10);
  EXPECT_TRUE(r.converged);
  EXPECT_TRUE(r.positive_curvature);
  EXPECT_LT((r.x - want).norm().item<double>() / want.norm().item<double>(), 1e-6);
  // TRPO's 10 iterations already cut the residual.
  EXPECT_LT(
      conjugate_gradient([&](const torch::Tensor& v) { return fvp(v); }, g, 10).relative_residual,
      0.5);
}

}  // namespace
}  // namespace trustrl::agents
