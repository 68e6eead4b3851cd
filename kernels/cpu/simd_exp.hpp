// exp for 8 floats in AVX2 + FMA (x86 only), shared by the SwiGLU kernels (expert_ffn.cpp,
// ffn_avx2.cpp). Callers compile it inside functions with target("avx2,fma") and choose those
// at run time (cpu_has_avx2_fma()).
#pragma once

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>

namespace moeb::cpu {

// exp(x) for 8 floats, x clamped to [-87.3, 88.3] (results stay normal and finite): Cody-Waite
// reduction x = n ln2 + r, a degree-6 polynomial for exp(r) (Cephes expf's coefficients), 2^n
// through the exponent bits.
__attribute__((target("avx2,fma"))) inline __m256 exp8(__m256 x) {
  x = _mm256_min_ps(_mm256_max_ps(x, _mm256_set1_ps(-87.3f)), _mm256_set1_ps(88.3f));
  const __m256 n = _mm256_round_ps(_mm256_mul_ps(x, _mm256_set1_ps(1.44269504088896341f)),
                                   _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  __m256 r = _mm256_fnmadd_ps(n, _mm256_set1_ps(0.693359375f), x);
  r = _mm256_fnmadd_ps(n, _mm256_set1_ps(-2.12194440e-4f), r);
  __m256 p = _mm256_set1_ps(1.9875691500e-4f);
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.3981999507e-3f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(8.3334519073e-3f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(4.1665795894e-2f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.6666665459e-1f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(5.0000001201e-1f));
  p = _mm256_fmadd_ps(_mm256_mul_ps(p, r), r, _mm256_add_ps(r, _mm256_set1_ps(1.0f)));
  // 2^n with n in [-126, 127]: n + 127 in the exponent field.
  const __m256i e =
      _mm256_slli_epi32(_mm256_add_epi32(_mm256_cvtps_epi32(n), _mm256_set1_epi32(127)), 23);
  return _mm256_mul_ps(p, _mm256_castsi256_ps(e));
}

// silu(a) * b for 8 floats: a / (1 + exp(-a)) * b.
__attribute__((target("avx2,fma"))) inline __m256 swiglu8(__m256 a, __m256 b) {
  const __m256 e = exp8(_mm256_sub_ps(_mm256_setzero_ps(), a));
  return _mm256_mul_ps(_mm256_div_ps(a, _mm256_add_ps(_mm256_set1_ps(1.0f), e)), b);
}

}  // namespace moeb::cpu
#endif
