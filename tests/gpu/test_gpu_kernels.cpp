// kernels/cuda against host computations of the same definitions. Skips without a device.
#include <algorithm>
#include <cmath>
#include <numeric>

#include "core/error.hpp"
#include "core/expert_weights.hpp"
#include "core/rng.hpp"
#include "gpu_test_util.hpp"
#include "kernels/cuda/moe_kernels.hpp"
#include "runtime/cuda/deterministic_values.hpp"

namespace moeb {
namespace {

using gputest::to_bf16;
using gputest::to_device;
using gputest::to_f32;
using gputest::to_host;

std::vector<float> random_values(size_t n, uint64_t seed) {
  Rng rng(seed);
  std::vector<float> v(n);
  for (auto& x : v) x = static_cast<float>(2 * rng.uniform() - 1);
  return v;
}

// Row widths that take the 16-byte path (64) and the scalar path (13).
class RowKernels : public ::testing::TestWithParam<int> {};

TEST_P(RowKernels, GatherAndScatterMoveWholeRows) {
  MOEB_SKIP_WITHOUT_GPU();
  const int W = GetParam();
  const int rows = 37;
  const auto src = to_bf16(random_values(static_cast<size_t>(rows) * W, 1));
  std::vector<int32_t> perm(rows);
  std::iota(perm.begin(), perm.end(), 0);
  std::reverse(perm.begin(), perm.end());
  std::swap(perm[3], perm[20]);
  auto* d_src = to_device(src);
  auto* d_idx = to_device(perm);
  cuda::bf16* d_dst = to_device(std::vector<cuda::bf16>(src.size()));
  cuda::gather_rows(d_src, d_idx, rows, W, d_dst, nullptr);
  const auto gathered = to_f32(to_host(d_dst, src.size()));
  const auto srcf = to_f32(src);
  for (int i = 0; i < rows; ++i)
    for (int c = 0; c < W; ++c) ASSERT_EQ(gathered[i * W + c], srcf[perm[i] * W + c]);
  cuda::scatter_rows(d_src, d_idx, rows, W, d_dst, nullptr);
  const auto scattered = to_f32(to_host(d_dst, src.size()));
  for (int i = 0; i < rows; ++i)
    for (int c = 0; c < W; ++c) ASSERT_EQ(scattered[perm[i] * W + c], srcf[i * W + c]);
  cudaFree(d_src);
  cudaFree(d_idx);
  cudaFree(d_dst);
}

TEST_P(RowKernels, CombineIsTheWeightedCsrSum) {
  MOEB_SKIP_WITHOUT_GPU();
  const int W = GetParam();
  const int src_rows = 20, out_rows = 6;
  const auto src = random_values(static_cast<size_t>(src_rows) * W, 2);
  const std::vector<int64_t> offsets = {0, 2, 2, 5, 6, 9, 10};  // row 1 empty
  const std::vector<int32_t> index = {3, 7, 0, 19, 4, 11, 12, 5, 6, 1};
  const std::vector<float> weight = {0.5f, 0.25f, 1, 2, -1, 0.75f, 0.1f, 0.2f, 0.3f, 1.5f};
  auto* d_src = to_device(src);
  auto* d_src16 = to_device(to_bf16(src));
  auto* d_off = to_device(offsets);
  auto* d_idx = to_device(index);
  auto* d_w = to_device(weight);
  auto* d_out16 = to_device(std::vector<cuda::bf16>(out_rows * W));
  auto* d_out32 = to_device(std::vector<float>(out_rows * W, 100.0f));
  cuda::combine_rows(d_src, d_off, d_idx, d_w, out_rows, W, d_out16, nullptr);
  cuda::combine_rows(d_src16, d_off, d_idx, nullptr, out_rows, W, d_out32, nullptr);
  const auto out16 = to_f32(to_host(d_out16, out_rows * W));
  const auto out32 = to_host(d_out32, out_rows * W);
  const auto src16 = to_f32(to_bf16(src));
  for (int r = 0; r < out_rows; ++r)
    for (int c = 0; c < W; ++c) {
      double want_w = 0, want_1 = 0;
      for (int64_t q = offsets[r]; q < offsets[r + 1]; ++q) {
        want_w += weight[q] * src[index[q] * W + c];
        want_1 += src16[index[q] * W + c];
      }
      ASSERT_NEAR(out16[r * W + c], want_w, 1e-2 * (1 + std::abs(want_w))) << r << "," << c;
      ASSERT_NEAR(out32[r * W + c], want_1, 1e-5) << r << "," << c;
    }
  // accumulate adds to what is there.
  cuda::combine_rows(d_src16, d_off, d_idx, nullptr, out_rows, W, d_out32, nullptr, true);
  const auto twice = to_host(d_out32, out_rows * W);
  for (size_t i = 0; i < twice.size(); ++i) ASSERT_NEAR(twice[i], 2 * out32[i], 1e-5);
  for (void* p : {static_cast<void*>(d_src), static_cast<void*>(d_src16), static_cast<void*>(d_off),
                  static_cast<void*>(d_idx), static_cast<void*>(d_w), static_cast<void*>(d_out16),
                  static_cast<void*>(d_out32)})
    cudaFree(p);
}

INSTANTIATE_TEST_SUITE_P(VectorAndScalar, RowKernels, ::testing::Values(64, 13));

TEST(GpuKernels, SwigluOfFusedUpProjection) {
  MOEB_SKIP_WITHOUT_GPU();
  const int rows = 9, F = 24;
  const auto h13 = random_values(static_cast<size_t>(rows) * 2 * F, 3);
  auto* d_h = to_device(h13);
  auto* d_out = to_device(std::vector<cuda::bf16>(rows * F));
  cuda::swiglu(d_h, rows, F, d_out, nullptr);
  const auto out = to_f32(to_host(d_out, rows * F));
  for (int r = 0; r < rows; ++r)
    for (int f = 0; f < F; ++f) {
      const double g = h13[r * 2 * F + f], u = h13[r * 2 * F + F + f];
      const double want = g / (1 + std::exp(-g)) * u;
      ASSERT_NEAR(out[r * F + f], want, 1e-2 * (1 + std::abs(want)));
    }
  cudaFree(d_h);
  cudaFree(d_out);
}

TEST(GpuKernels, TopkGatePicksLargestLogitsWithSoftmaxWeights) {
  MOEB_SKIP_WITHOUT_GPU();
  const int T = 50, E = 40, K = 6;
  auto logits = random_values(static_cast<size_t>(T) * E, 4);
  logits[5] = logits[6] = 3.0f;  // a tie: the lower expert id comes first
  auto* d_l = to_device(logits);
  auto* d_e = to_device(std::vector<int32_t>(T * K));
  auto* d_w = to_device(std::vector<float>(T * K));
  cuda::topk_gate(d_l, T, E, K, true, d_e, d_w, nullptr);
  const auto ex = to_host(d_e, T * K);
  const auto w = to_host(d_w, T * K);
  for (int t = 0; t < T; ++t) {
    std::vector<int> order(E);
    std::iota(order.begin(), order.end(), 0);
    std::stable_sort(order.begin(), order.end(),
                     [&](int a, int b) { return logits[t * E + a] > logits[t * E + b]; });
    double z = 0;
    for (int j = 0; j < K; ++j) z += std::exp(logits[t * E + order[j]]);
    for (int j = 0; j < K; ++j) {
      ASSERT_EQ(ex[t * K + j], order[j]) << "token " << t << " slot " << j;
      ASSERT_NEAR(w[t * K + j], std::exp(logits[t * E + order[j]]) / z, 1e-5);
    }
  }
  EXPECT_THROW(cuda::topk_gate(d_l, T, E, 33, true, d_e, d_w, nullptr), Error);
  cudaFree(d_l);
  cudaFree(d_e);
  cudaFree(d_w);
}

TEST(GpuKernels, DeviceWeightsEqualCoreWeightsRoundedToBf16) {
  MOEB_SKIP_WITHOUT_GPU();
  const int rows = 32, cols = 48;
  std::vector<float> core(static_cast<size_t>(rows) * cols);
  fill_expert_matrix(5, 1, 3, ExpertMatrix::kW3, rows, cols, core);
  auto* d = to_device(std::vector<cuda::bf16>(static_cast<size_t>(rows) * 2 * cols));
  // Written into the right half of a fused [rows x 2 cols] matrix, as W3 is.
  cuda::fill_uniform_bf16(cudaval::expert_matrix_base(5, 1, 3, ExpertMatrix::kW3),
                          cudaval::expert_matrix_scale(rows), rows, cols, 2 * cols, d + cols,
                          nullptr);
  const auto got = to_f32(to_host(d, static_cast<size_t>(rows) * 2 * cols));
  for (int r = 0; r < rows; ++r)
    for (int c = 0; c < cols; ++c)
      ASSERT_EQ(got[r * 2 * cols + cols + c],
                __bfloat162float(__float2bfloat16(core[r * cols + c])));
  cudaFree(d);
}

}  // namespace
}  // namespace moeb
