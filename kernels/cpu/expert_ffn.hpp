// CPU kernels of the grouped expert FFN (fp32): row gather, three-GEMM SwiGLU through OpenBLAS,
// gate-weighted scatter-add, and a naive loop version the tests hold the fast one against.
// Index arrays come from core's DispatchPlan; the kernels know nothing about ranks.
#pragma once

#include <cstdint>

namespace moeb::cpu {

// dst[i] = src[idx[i]] for n rows of `hidden` floats.
void gather_rows(const float* src, const int64_t* idx, int64_t n, int hidden, float* dst);
void gather_rows(const float* src, const int32_t* idx, int64_t n, int hidden, float* dst);

// gather_rows with non-temporal stores (dst bypasses this core's caches), for a buffer another
// process reads next (the dispatch send buffer): the peer then does not have to pull freshly
// written lines out of this core's cache. Falls back to memcpy when rows are not 16-byte aligned.
void gather_rows_stream(const float* src, const int32_t* idx, int64_t n, int hidden, float* dst);

// out[idx[i]] += src[i] for n rows of `hidden` floats (unpermute: sum partial results).
void scatter_add_rows(const float* src, const int32_t* idx, int64_t n, int hidden, float* out);

// The same for int64 indices (the expert-grouped rows of a DispatchPlan).
void scatter_add_rows(const float* src, const int64_t* idx, int64_t n, int hidden, float* out);

// out[idx[i]] += weight[i] * y[i] for n rows of `hidden` floats.
void scatter_add_weighted(const float* y, const int64_t* idx, const float* weight, int64_t n,
                          int hidden, float* out);

// h1[i] = silu(h1[i]) * h3[i] for `count` elements (scalar std::exp: the reference).
void swiglu_inplace(float* h1, const float* h3, int64_t count);

// Over n rows of h13 (row r at h13 + r * 2 * ffn_hidden, W1's half then W3's half):
// row[f] = gate[r] * silu(row[f]) * row[ffn_hidden + f] for f < ffn_hidden; gate == nullptr
// means 1. AVX2+FMA with a polynomial exp (relative error ~2e-7) where the CPU has them, else
// swiglu_inplace's scalar loop.
void swiglu_rows(float* h13, int64_t n, int ffn_hidden, const float* gate);

// True when swiglu_rows takes its AVX2 path on this CPU.
bool swiglu_rows_vectorized();

// Scratch of expert_ffn for up to `rows` rows: two [rows x ffn_hidden] matrices.
struct FfnScratch {
  float* h1 = nullptr;
  float* h3 = nullptr;
};

// y = (silu(x W1) * (x W3)) W2 for n rows: x [n x hidden], w1/w3 [hidden x ffn], w2
// [ffn x hidden], y [n x hidden], all row-major. Three cblas_sgemm calls.
void expert_ffn_blas(const float* x, int64_t n, int hidden, int ffn_hidden, const float* w1,
                     const float* w3, const float* w2, FfnScratch scratch, float* y);

// Fused up-projection layout: w13 is [hidden x 2*ffn_hidden] row-major, row h holding W1's row h
// in columns [0, ffn) and W3's row h in columns [ffn, 2*ffn). Same values as w1/w3, new layout.
void fuse_w13(const float* w1, const float* w3, int hidden, int ffn_hidden, float* w13);

// y = (silu(x W1) * (x W3)) W2 with the fused weight: one sgemm x * w13 -> h13 [n x 2*ffn],
// SwiGLU written into h13's first half of each row, one sgemm h13[:, :ffn] * w2 (lda = 2*ffn).
// h13 must hold n * 2 * ffn_hidden floats. x and y row-major with leading dimension hidden.
void expert_ffn_fused(const float* x, int64_t n, int hidden, int ffn_hidden, const float* w13,
                      const float* w2, float* h13, float* y);

// Same contract with plain loops (float accumulation); the reference for kernel tests.
void expert_ffn_naive(const float* x, int64_t n, int hidden, int ffn_hidden, const float* w1,
                      const float* w3, const float* w2, float* y);

// Sets the BLAS library's thread count (OpenBLAS); n >= 1.
void set_blas_threads(int n);

}  // namespace moeb::cpu
