#include "cpu/expert_ffn.hpp"
#include "cpu/simd_exp.hpp"

#include <cblas.h>
#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define MOEB_X86_SIMD 1
#endif

#include <cmath>
#include <cstring>
#include <vector>

namespace moeb::cpu {

namespace {
template <class Index>
void gather_rows_impl(const float* src, const Index* idx, int64_t n, int hidden, float* dst) {
  const size_t row = static_cast<size_t>(hidden);
  for (int64_t i = 0; i < n; ++i)
    std::memcpy(dst + static_cast<size_t>(i) * row, src + static_cast<size_t>(idx[i]) * row,
                row * sizeof(float));
}
}  // namespace

void gather_rows(const float* src, const int64_t* idx, int64_t n, int hidden, float* dst) {
  gather_rows_impl(src, idx, n, hidden, dst);
}
void gather_rows(const float* src, const int32_t* idx, int64_t n, int hidden, float* dst) {
  gather_rows_impl(src, idx, n, hidden, dst);
}

void gather_rows_stream(const float* src, const int32_t* idx, int64_t n, int hidden, float* dst) {
#ifdef MOEB_X86_SIMD  // non-temporal stores (SSE); other architectures copy plainly
  const size_t row = static_cast<size_t>(hidden);
  if (hidden % 4 == 0 && reinterpret_cast<uintptr_t>(dst) % 16 == 0) {
    for (int64_t i = 0; i < n; ++i) {
      const float* s = src + static_cast<size_t>(idx[i]) * row;
      float* d = dst + static_cast<size_t>(i) * row;
      for (size_t h = 0; h < row; h += 4) _mm_stream_ps(d + h, _mm_loadu_ps(s + h));
    }
    _mm_sfence();
    return;
  }
#endif
  gather_rows_impl(src, idx, n, hidden, dst);
}

void scatter_add_rows(const float* src, const int32_t* idx, int64_t n, int hidden, float* out) {
  for (int64_t i = 0; i < n; ++i) {
    const float* s = src + static_cast<size_t>(i) * hidden;
    float* d = out + static_cast<size_t>(idx[i]) * hidden;
    for (int h = 0; h < hidden; ++h) d[h] += s[h];
  }
}

void scatter_add_rows(const float* src, const int64_t* idx, int64_t n, int hidden, float* out) {
  for (int64_t i = 0; i < n; ++i) {
    const float* s = src + static_cast<size_t>(i) * hidden;
    float* d = out + static_cast<size_t>(idx[i]) * hidden;
    for (int h = 0; h < hidden; ++h) d[h] += s[h];
  }
}

void scatter_add_weighted(const float* y, const int64_t* idx, const float* weight, int64_t n,
                          int hidden, float* out) {
  for (int64_t i = 0; i < n; ++i) {
    const float w = weight[i];
    const float* src = y + static_cast<size_t>(i) * hidden;
    float* dst = out + static_cast<size_t>(idx[i]) * hidden;
    for (int h = 0; h < hidden; ++h) dst[h] += w * src[h];
  }
}

void swiglu_inplace(float* h1, const float* h3, int64_t count) {
  for (int64_t i = 0; i < count; ++i) {
    const float a = h1[i];
    h1[i] = a / (1.0f + std::exp(-a)) * h3[i];
  }
}

namespace {
#ifdef MOEB_X86_SIMD  // the AVX2 SwiGLU, chosen at run time; other architectures use the scalar one
__attribute__((target("avx2,fma"))) void swiglu_row_avx2(float* row, int ffn, float g) {
  const __m256 one = _mm256_set1_ps(1.0f), gate = _mm256_set1_ps(g);
  int f = 0;
  for (; f + 8 <= ffn; f += 8) {
    const __m256 a = _mm256_loadu_ps(row + f), b = _mm256_loadu_ps(row + ffn + f);
    const __m256 s = _mm256_div_ps(a, _mm256_add_ps(one, exp8(_mm256_sub_ps(_mm256_setzero_ps(), a))));
    _mm256_storeu_ps(row + f, _mm256_mul_ps(_mm256_mul_ps(s, b), gate));
  }
  for (; f < ffn; ++f) row[f] = row[f] / (1.0f + std::exp(-row[f])) * row[ffn + f] * g;
}

bool cpu_has_avx2_fma() {
  static const bool yes = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
  return yes;
}
#else
bool cpu_has_avx2_fma() { return false; }
void swiglu_row_avx2(float*, int, float) {}
#endif
}  // namespace

bool swiglu_rows_vectorized() { return cpu_has_avx2_fma(); }

void swiglu_rows(float* h13, int64_t n, int ffn_hidden, const float* gate) {
  const size_t ld = 2 * static_cast<size_t>(ffn_hidden);
  const bool avx2 = cpu_has_avx2_fma();
  for (int64_t r = 0; r < n; ++r) {
    float* row = h13 + static_cast<size_t>(r) * ld;
    const float g = gate == nullptr ? 1.0f : gate[r];
    if (avx2) {
      swiglu_row_avx2(row, ffn_hidden, g);
      continue;
    }
    swiglu_inplace(row, row + ffn_hidden, ffn_hidden);
    if (g != 1.0f)
      for (int f = 0; f < ffn_hidden; ++f) row[f] *= g;
  }
}

void expert_ffn_blas(const float* x, int64_t n, int hidden, int ffn_hidden, const float* w1,
                     const float* w3, const float* w2, FfnScratch scratch, float* y) {
  if (n <= 0) return;
  const int m = static_cast<int>(n);
  cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, m, ffn_hidden, hidden, 1.0f, x, hidden, w1,
              ffn_hidden, 0.0f, scratch.h1, ffn_hidden);
  cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, m, ffn_hidden, hidden, 1.0f, x, hidden, w3,
              ffn_hidden, 0.0f, scratch.h3, ffn_hidden);
  swiglu_inplace(scratch.h1, scratch.h3, n * ffn_hidden);
  cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, m, hidden, ffn_hidden, 1.0f, scratch.h1,
              ffn_hidden, w2, hidden, 0.0f, y, hidden);
}

void fuse_w13(const float* w1, const float* w3, int hidden, int ffn_hidden, float* w13) {
  const size_t F = static_cast<size_t>(ffn_hidden);
  for (size_t h = 0; h < static_cast<size_t>(hidden); ++h) {
    std::memcpy(w13 + h * 2 * F, w1 + h * F, F * sizeof(float));
    std::memcpy(w13 + h * 2 * F + F, w3 + h * F, F * sizeof(float));
  }
}

void expert_ffn_fused(const float* x, int64_t n, int hidden, int ffn_hidden, const float* w13,
                      const float* w2, float* h13, float* y) {
  if (n <= 0) return;
  const int m = static_cast<int>(n), f2 = 2 * ffn_hidden;
  cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, m, f2, hidden, 1.0f, x, hidden, w13, f2,
              0.0f, h13, f2);
  for (int64_t r = 0; r < n; ++r) {
    float* row = h13 + static_cast<size_t>(r) * f2;
    swiglu_inplace(row, row + ffn_hidden, ffn_hidden);
  }
  cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, m, hidden, ffn_hidden, 1.0f, h13, f2, w2,
              hidden, 0.0f, y, hidden);
}

void expert_ffn_naive(const float* x, int64_t n, int hidden, int ffn_hidden, const float* w1,
                      const float* w3, const float* w2, float* y) {
  std::vector<float> act(static_cast<size_t>(ffn_hidden));
  for (int64_t r = 0; r < n; ++r) {
    const float* xr = x + static_cast<size_t>(r) * hidden;
    for (int f = 0; f < ffn_hidden; ++f) {
      float a1 = 0, a3 = 0;
      for (int h = 0; h < hidden; ++h) {
        a1 += xr[h] * w1[static_cast<size_t>(h) * ffn_hidden + f];
        a3 += xr[h] * w3[static_cast<size_t>(h) * ffn_hidden + f];
      }
      act[f] = a1 / (1.0f + std::exp(-a1)) * a3;
    }
    float* yr = y + static_cast<size_t>(r) * hidden;
    for (int h = 0; h < hidden; ++h) {
      float acc = 0;
      for (int f = 0; f < ffn_hidden; ++f) acc += act[f] * w2[static_cast<size_t>(f) * hidden + h];
      yr[h] = acc;
    }
  }
}

void set_blas_threads(int n) { openblas_set_num_threads(n < 1 ? 1 : n); }

}  // namespace moeb::cpu
