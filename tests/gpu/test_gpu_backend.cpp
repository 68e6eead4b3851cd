// The CUDA backend on one GPU: grouped GEMM against the per-expert loop, and a whole
// single-rank MoE layer (permute, grouped SwiGLU FFN, combine, unpermute) against the core
// reference, flat and hierarchical buffers alike. Skips without a device.
#include <algorithm>
#include <cmath>

#include "core/dispatch_plan.hpp"
#include "core/expert_weights.hpp"
#include "core/reference.hpp"
#include "core/rng.hpp"
#include "gpu_test_util.hpp"
#include "runtime/cuda/cuda_backend.hpp"
#include "runtime/cuda/grouped_gemm.hpp"

namespace moeb {
namespace {

using gputest::to_bf16;
using gputest::to_device;
using gputest::to_host;

class GemmModes : public ::testing::TestWithParam<cuda::GemmMode> {};

TEST_P(GemmModes, GroupedProblemsMatchHostProduct) {
  MOEB_SKIP_WITHOUT_GPU();
  // Three experts with 5, 0 (absent) and 17 rows; C = W^T-style column-major products.
  const int M = 24, K = 40;
  const std::vector<int> rows = {5, 17};
  Rng rng(9);
  std::vector<float> a(2 * M * K), b((5 + 17) * K);
  for (auto& x : a) x = static_cast<float>(rng.uniform() - 0.5);
  for (auto& x : b) x = static_cast<float>(rng.uniform() - 0.5);
  std::vector<GemmProblem> probs;
  int64_t begin = 0;
  for (int g = 0; g < 2; ++g) {
    GemmProblem p;
    p.m = M;
    p.n = rows[g];
    p.k = K;
    p.a_offset = g * M * K;
    p.b_offset = begin * K;
    p.c_offset = begin * M;
    p.lda = M;
    p.ldb = K;
    p.ldc = M;
    probs.push_back(p);
    begin += rows[g];
  }
  const auto a16 = to_bf16(a), b16 = to_bf16(b);
  auto* d_a = to_device(a16);
  auto* d_b = to_device(b16);
  auto* d_c = to_device(std::vector<float>(begin * M));
  cublasHandle_t h = nullptr;
  ASSERT_EQ(cublasCreate(&h), CUBLAS_STATUS_SUCCESS);
  {
    cuda::GroupedGemm gemm(h, GetParam());
    gemm.run(probs, d_a, d_b, d_c, nullptr);
  }
  const auto c = to_host(d_c, begin * M);
  const auto af = gputest::to_f32(a16), bf = gputest::to_f32(b16);
  for (const auto& p : probs)
    for (int j = 0; j < p.n; ++j)
      for (int i = 0; i < p.m; ++i) {
        double want = 0;
        for (int l = 0; l < p.k; ++l)
          want += af[p.a_offset + i + l * p.lda] * bf[p.b_offset + l + j * p.ldb];
        ASSERT_NEAR(c[p.c_offset + i + j * p.ldc], want, 1e-4 * (1 + std::abs(want)));
      }
  cublasDestroy(h);
  cudaFree(d_a);
  cudaFree(d_b);
  cudaFree(d_c);
}

INSTANTIATE_TEST_SUITE_P(Modes, GemmModes,
                         ::testing::Values(cuda::GemmMode::kGrouped, cuda::GemmMode::kLoop),
                         [](const auto& mode) {
                           return std::string(cuda::gemm_mode_name(mode.param));
                         });

TEST_P(GemmModes, SingleRankLayerMatchesReference) {
  MOEB_SKIP_WITHOUT_GPU();
  const int E = 8, K = 2, H = 64, F = 32, layer = 1;
  const int64_t T = 40;
  const uint64_t seed = 3;
  Rng rng(17);
  std::vector<int32_t> experts, dest;
  std::vector<float> weights;
  for (int64_t t = 0; t < T; ++t) {
    const auto e0 = static_cast<int32_t>(rng.below(E));
    const auto e1 = static_cast<int32_t>((e0 + 1 + rng.below(E - 1)) % E);
    experts.insert(experts.end(), {e0, e1});
    weights.insert(weights.end(), {static_cast<float>(0.2 + rng.uniform()), 0.5f});
    dest.insert(dest.end(), {0, 0});
  }
  const DispatchPlan plan = build_dispatch_plan(experts, weights, dest, K, 1, 0, true);
  BackendOptions opt;
  opt.hidden = H;
  opt.ffn_hidden = F;
  cuda::CudaBackendOptions copt;
  copt.gemm = GetParam();
  cuda::CudaBackend be(opt, copt, 0);
  std::vector<int32_t> all(E);
  for (int e = 0; e < E; ++e) all[e] = e;
  be.load_experts(seed, layer, all);
  std::vector<float> x(T * H);
  for (int64_t t = 0; t < T; ++t)
    fill_token_input(seed, layer, t, std::span<float>(x.data() + t * H, H));
  be.set_input(x, T);
  be.prepare(plan);
  be.permute(plan);
  // One rank: the all-to-alls are copies.
  ASSERT_EQ(cudaMemcpyAsync(be.dispatch_recv(), be.dispatch_send(),
                            plan.rows_sent() * be.dispatch_row_bytes(), cudaMemcpyDeviceToDevice,
                            be.stream()),
            cudaSuccess);
  be.expert_ffn(layer, plan);
  ASSERT_EQ(cudaMemcpyAsync(be.combine_recv(), be.combine_send(),
                            plan.rows_received() * be.combine_row_bytes(), cudaMemcpyDeviceToDevice,
                            be.stream()),
            cudaSuccess);
  be.unpermute(plan);
  be.synchronize();
  std::vector<int64_t> tokens(T);
  for (int64_t t = 0; t < T; ++t) tokens[t] = t;
  std::vector<float> out(T * H);
  be.read_output(tokens, out);

  ReferenceExperts ref(seed, H, F);
  std::vector<double> y(H);
  double rms = 0;
  std::vector<double> want(T * H);
  for (int64_t t = 0; t < T; ++t) {
    std::fill(y.begin(), y.end(), 0.0);
    reference_token_output(ref, layer, std::span<const int32_t>(experts.data() + t * K, K),
                           std::span<const float>(weights.data() + t * K, K),
                           std::span<const float>(x.data() + t * H, H), y);
    for (int h = 0; h < H; ++h) {
      want[t * H + h] = y[h];
      rms += y[h] * y[h];
    }
  }
  rms = std::sqrt(rms / static_cast<double>(want.size()));
  ASSERT_GT(rms, 0.0);
  // bf16 inputs and weights: about 3 significant digits per element.
  for (size_t i = 0; i < want.size(); ++i)
    ASSERT_NEAR(out[i], want[i], 0.02 * std::abs(want[i]) + 0.02 * rms) << "element " << i;
}

TEST(GpuBackend, PhaseEventsAreOrdered) {
  MOEB_SKIP_WITHOUT_GPU();
  BackendOptions opt;
  opt.hidden = 16;
  opt.ffn_hidden = 8;
  cuda::CudaBackend be(opt, {}, 0);
  be.record_time(0);
  be.record_time(1);
  be.synchronize();
  EXPECT_GE(be.elapsed_s(0, 1), 0.0);
  EXPECT_LT(be.elapsed_s(0, 1), 1.0);
}

}  // namespace
}  // namespace moeb
