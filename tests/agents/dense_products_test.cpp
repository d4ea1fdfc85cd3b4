#include "agents/dense_products.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <vector>

#include "agents/kernel_path.h"
#include "core/rng.h"

namespace trustrl::agents {
namespace {

// A layer's products in float on every kernel path the CPU runs, and the double overloads, against
// sums written out here in double. Widths cover the narrow-head dot form (n_out < 8), whole and
// partial vector columns, and both orientations of the weight gradient (an input width that is
// not a multiple of 4, e.g. 18 or 31, takes the transposed one).
struct Layer {
  DenseShape s;
  std::vector<double> x, w, bias, delta, y0;
};

Layer random_layer(DenseShape s, Rng& rng) {
  auto draw = [&](std::int64_t n) {
    std::vector<double> v(static_cast<std::size_t>(n));
    for (double& e : v) e = static_cast<float>(rng.normal());  // values exact in float
    return v;
  };
  return {s,
          draw(s.rows * s.n_in),
          draw(s.n_out * s.n_in),
          draw(s.n_out),
          draw(s.rows * s.n_out),
          draw(s.rows * s.n_out)};
}

// The expected values and, per entry, the sum of the terms' magnitudes (the tolerance's scale).
struct Expected {
  std::vector<double> value, scale;
};

Expected forward_reference(const Layer& l, bool accumulate) {
  const DenseShape& s = l.s;
  Expected e{std::vector<double>(static_cast<std::size_t>(s.rows * s.n_out)), {}};
  e.scale = e.value;
  for (std::int64_t r = 0; r < s.rows; ++r)
    for (std::int64_t o = 0; o < s.n_out; ++o) {
      double v = accumulate ? l.y0[r * s.n_out + o] : l.bias[o], a = std::abs(v);
      for (std::int64_t k = 0; k < s.n_in; ++k) {
        v += l.x[r * s.n_in + k] * l.w[o * s.n_in + k];
        a += std::abs(l.x[r * s.n_in + k] * l.w[o * s.n_in + k]);
      }
      e.value[r * s.n_out + o] = v;
      e.scale[r * s.n_out + o] = a;
    }
  return e;
}

Expected weight_gradient_reference(const Layer& l) {
  const DenseShape& s = l.s;
  Expected e{std::vector<double>(static_cast<std::size_t>(s.n_out * s.n_in)), {}};
  e.scale = e.value;
  for (std::int64_t o = 0; o < s.n_out; ++o)
    for (std::int64_t k = 0; k < s.n_in; ++k)
      for (std::int64_t r = 0; r < s.rows; ++r) {
        const double t = l.delta[r * s.n_out + o] * l.x[r * s.n_in + k];
        e.value[o * s.n_in + k] += t;
        e.scale[o * s.n_in + k] += std::abs(t);
      }
  return e;
}

Expected bias_gradient_reference(const Layer& l) {
  const DenseShape& s = l.s;
  Expected e{std::vector<double>(static_cast<std::size_t>(s.n_out)), {}};
  e.scale = e.value;
  for (std::int64_t r = 0; r < s.rows; ++r)
    for (std::int64_t o = 0; o < s.n_out; ++o) {
      e.value[o] += l.delta[r * s.n_out + o];
      e.scale[o] += std::abs(l.delta[r * s.n_out + o]);
    }
  return e;
}

Expected input_gradient_reference(const Layer& l) {
  const DenseShape& s = l.s;
  Expected e{std::vector<double>(static_cast<std::size_t>(s.rows * s.n_in)), {}};
  e.scale = e.value;
  for (std::int64_t r = 0; r < s.rows; ++r)
    for (std::int64_t k = 0; k < s.n_in; ++k)
      for (std::int64_t o = 0; o < s.n_out; ++o) {
        const double t = l.delta[r * s.n_out + o] * l.w[o * s.n_in + k];
        e.value[r * s.n_in + k] += t;
        e.scale[r * s.n_in + k] += std::abs(t);
      }
  return e;
}

template <class T>
void expect_near(const std::vector<T>& got, const Expected& want, double relative,
                 const std::string& what) {
  ASSERT_EQ(got.size(), want.value.size()) << what;
  for (std::size_t i = 0; i < got.size(); ++i)
    ASSERT_NEAR(static_cast<double>(got[i]), want.value[i], relative * want.scale[i] + 1e-12)
        << what << " at " << i;
}

// Runs every product of `l` with element type T and checks it against the references.
template <class T>
void check_layer(const Layer& l, double relative, const std::string& what) {
  const DenseShape& s = l.s;
  auto as = [](const std::vector<double>& v) { return std::vector<T>(v.begin(), v.end()); };
  const std::vector<T> x = as(l.x), w = as(l.w), bias = as(l.bias), delta = as(l.delta);
  std::vector<T> scratch(static_cast<std::size_t>(s.n_in * s.n_out));
  for (bool accumulate : {false, true}) {
    std::vector<T> y = as(l.y0);
    dense_forward(s, x.data(), w.data(), bias.data(), y.data(), scratch.data(), accumulate);
    expect_near(y, forward_reference(l, accumulate), relative,
                what + (accumulate ? " forward, accumulated" : " forward"));
  }
  std::vector<T> w_grad(static_cast<std::size_t>(s.n_out * s.n_in));
  dense_weight_gradient(s, x.data(), delta.data(), w_grad.data(), scratch.data());
  expect_near(w_grad, weight_gradient_reference(l), relative, what + " weight gradient");
  std::vector<T> b_grad(static_cast<std::size_t>(s.n_out), T(7));
  dense_bias_gradient(s, delta.data(), b_grad.data());
  expect_near(b_grad, bias_gradient_reference(l), relative, what + " bias gradient");
  std::vector<T> dx(static_cast<std::size_t>(s.rows * s.n_in));
  dense_input_gradient(s, delta.data(), w.data(), dx.data());
  expect_near(dx, input_gradient_reference(l), relative, what + " input gradient");
}

TEST(DenseProducts, MatchADoubleReferenceOnEveryPathInFloatAndDouble) {
  const KernelPath saved = kernel_path();
  Rng rng(5);
  int layers = 0;
  for (std::int64_t rows : {1, 7, 130})
    for (std::int64_t n_in : {4, 8, 18, 31, 64})
      for (std::int64_t n_out : {1, 2, 5, 16, 33, 64}) {
        const Layer l = random_layer({rows, n_in, n_out}, rng);
        const std::string shape =
            std::to_string(rows) + "x" + std::to_string(n_in) + "->" + std::to_string(n_out);
        for (KernelPath path : {KernelPath::kBaseline, KernelPath::kAvx2, KernelPath::kAvx512}) {
          if (!cpu_has(path)) continue;
          set_kernel_path(path);
          check_layer<float>(l, 1e-5, std::string(kernel_path_name(path)) + " " + shape);
        }
        check_layer<double>(l, 1e-12, "double " + shape);
        ++layers;
      }
  set_kernel_path(saved);
  EXPECT_EQ(layers, 3 * 5 * 6);
}

TEST(DenseProducts, TransposeSwapsRowsAndColumns) {
  const std::vector<float> in = {1, 2, 3, 4, 5, 6};  // 2 x 3
  std::vector<float> out(6);
  transpose(in.data(), 2, 3, out.data());
  EXPECT_EQ(out, (std::vector<float>{1, 4, 2, 5, 3, 6}));
  const std::vector<double> in_d = {1, 2, 3, 4, 5, 6};
  std::vector<double> out_d(6);
  transpose(in_d.data(), 3, 2, out_d.data());  // 3 x 2
  EXPECT_EQ(out_d, (std::vector<double>{1, 3, 5, 2, 4, 6}));
}

}  // namespace
}  // namespace trustrl::agents
