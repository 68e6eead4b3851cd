// static_cast<float>(std::exp(x)) without a libm call in all but a few cases in 2^14: the gate
// weights of the synthetic generator are floats of exp() (pinned values), and libm's exp was
// ~10% of the draw.
//
// exp_approx(x) is within 2^-44 (relative) of e^x for x in [kMinX, 0] (Cody-Waite reduction
// x = k ln2 + r, |r| <= ln2 / 2, then Taylor to degree 11: r^12 / 12! < 2^-47). The float that a
// double rounds to changes only at the midpoints between adjacent floats; when the approximation
// lies more than 2^13 units of its own last place (>= 2^-40 relative) from every midpoint, the
// exact e^x and std::exp(x) (within 1 ulp of it) round to the same float, so that float is
// returned; otherwise, and outside [kMinX, 0], std::exp decides.
#pragma once

#include <bit>
#include <cmath>
#include <cstdint>
#include <cstring>

namespace moeb::float_exp {

constexpr double kMinX = -87.0;  // e^x stays a normal float (> 2^-126)

// e^x for x in [kMinX, 0] (other x: any value; callers check the range).
inline double exp_approx(double x) {
  constexpr double kLog2e = 0x1.71547652b82fep0;
  constexpr double kLn2Hi = 0x1.62e42fee00000p-1;  // 32 significant bits: k * kLn2Hi is exact
  constexpr double kLn2Lo = 0x1.a39ef35793c76p-33;
  constexpr double kShift = 0x1.8p52;  // adding it rounds to an integer (in the low bits)
  const double t = x * kLog2e + kShift;
  const double kd = t - kShift;
  const double r = (x - kd * kLn2Hi) - kd * kLn2Lo;
  double p = 1.0 / 39916800;  // 1 / 11!
  p = p * r + 1.0 / 3628800;
  p = p * r + 1.0 / 362880;
  p = p * r + 1.0 / 40320;
  p = p * r + 1.0 / 5040;
  p = p * r + 1.0 / 720;
  p = p * r + 1.0 / 120;
  p = p * r + 1.0 / 24;
  p = p * r + 1.0 / 6;
  p = p * r + 0.5;
  p = p * r + 1.0;
  p = p * r + 1.0;
  // t's low mantissa bits hold k (two's complement above 2^51), so t's bits shifted up to the
  // exponent field are k << 52 (mod 2^64): 2^k without a conversion (vectorizes).
  const uint64_t scale_bits = (std::bit_cast<uint64_t>(t) << 52) + (uint64_t{1023} << 52);
  return p * std::bit_cast<double>(scale_bits);
}

// True when float(v) may differ from float(w) for a w within 2^-40 (relative) of v: v's low 29
// mantissa bits (those a double-to-float rounding drops) within 2^13 of the midpoint pattern.
inline bool near_float_midpoint(double v) {
  uint64_t b;
  std::memcpy(&b, &v, sizeof b);
  constexpr uint64_t kMid = uint64_t{1} << 28, kMargin = uint64_t{1} << 13;
  return (b & ((uint64_t{1} << 29) - 1)) - (kMid - kMargin) <= 2 * kMargin;
}

// static_cast<float>(std::exp(x)), for any x.
inline float exp_to_float(double x) {
  if (x >= kMinX && x <= 0) {
    const double v = exp_approx(x);
    if (!near_float_midpoint(v)) return static_cast<float>(v);
  }
  return static_cast<float>(std::exp(x));
}

// out[j] = static_cast<float>(std::exp(x[j])) for j < n (the approximations in a loop the
// compiler can vectorize, then the rare fallbacks).
inline void exp_to_float(const double* x, float* out, int n) {
  constexpr int kBlock = 16;
  for (int j0 = 0; j0 < n; j0 += kBlock) {
    const int m = n - j0 < kBlock ? n - j0 : kBlock;
    double v[kBlock];
    for (int j = 0; j < m; ++j) v[j] = exp_approx(x[j0 + j]);
    for (int j = 0; j < m; ++j) {
      const double xj = x[j0 + j];
      out[j0 + j] = xj >= kMinX && xj <= 0 && !near_float_midpoint(v[j])
                        ? static_cast<float>(v[j])
                        : static_cast<float>(std::exp(xj));
    }
  }
}

}  // namespace moeb::float_exp
