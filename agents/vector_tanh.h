#pragma once
// tanh as a rational function that the compiler can vectorize, shared by the actor's inference
// path and the fused update so both compute the same activations.

namespace trustrl::agents {

// tanh as a rational function that the compiler can vectorize (libm's tanhf cannot be): the
// minimax approximation Eigen uses for float tanh (Eigen's generic_fast_tanh_float, coefficients
// from its source), accurate to a few float ulps on [-7.9, 7.9] and saturated beyond.
[[gnu::always_inline]] inline float vector_tanh(float x) {
  constexpr float kClamp = 7.90531110763549805f;
  constexpr float a1 = 4.89352455891786e-03f, a3 = 6.37261928875436e-04f,
                  a5 = 1.48572235717979e-05f, a7 = 5.12229709037114e-08f,
                  a9 = -8.60467152213735e-11f, a11 = 2.00018790482477e-13f,
                  a13 = -2.76076847742355e-16f;
  constexpr float b0 = 4.89352518554385e-03f, b2 = 2.26843463243900e-03f,
                  b4 = 1.18534705686654e-04f, b6 = 1.19825839466702e-06f;
  const float c = x < -kClamp ? -kClamp : (x > kClamp ? kClamp : x);
  const float c2 = c * c;
  float p = c2 * a13 + a11;
  p = p * c2 + a9;
  p = p * c2 + a7;
  p = p * c2 + a5;
  p = p * c2 + a3;
  p = p * c2 + a1;
  p = p * c;
  float q = c2 * b6 + b4;
  q = q * c2 + b2;
  q = q * c2 + b0;
  const float t = p / q;
  return (x < 0.0004f && x > -0.0004f) ? x : t;
}

}  // namespace trustrl::agents
