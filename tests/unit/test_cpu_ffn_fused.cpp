// The fused CPU expert FFN (W1 | W3 as one [hidden x 2*ffn] weight, kernels/cpu) against the
// three-GEMM kernel and core's double-precision reference, and the CPU backend's grouped FFN on
// both of its operand paths (rows consecutive in the receive buffer: no gather; scattered rows:
// gathered) over layers of changing size that reuse its buffers.
#include <gtest/gtest.h>

#include <cmath>
#include <numeric>
#include <vector>

#include "../mpi/test_workload.hpp"
#include "core/dispatch_plan.hpp"
#include "core/expert_weights.hpp"
#include "core/reference.hpp"
#include "core/routing.hpp"
#include "cpu/expert_ffn.hpp"
#include "runtime/cpu_backend.hpp"

namespace moeb {
namespace {

std::vector<float> inputs(uint64_t seed, int layer, int64_t n, int hidden) {
  std::vector<float> x(static_cast<size_t>(n) * hidden);
  for (int64_t t = 0; t < n; ++t)
    fill_token_input(
        seed, layer, t,
        std::span<float>(x).subspan(static_cast<size_t>(t) * hidden, static_cast<size_t>(hidden)));
  return x;
}

TEST(CpuFusedFfn, FuseW13KeepsValuesAndInterleavesRows) {
  const int H = 5, F = 7;
  const auto w = make_expert_weights(3, 1, 2, H, F);
  std::vector<float> w13(static_cast<size_t>(H) * 2 * F);
  cpu::fuse_w13(w.w1.data(), w.w3.data(), H, F, w13.data());
  for (int h = 0; h < H; ++h)
    for (int f = 0; f < F; ++f) {
      EXPECT_EQ(w13[static_cast<size_t>(h) * 2 * F + f], w.w1[static_cast<size_t>(h) * F + f]);
      EXPECT_EQ(w13[static_cast<size_t>(h) * 2 * F + F + f], w.w3[static_cast<size_t>(h) * F + f]);
    }
}

// The streaming gather (dispatch permute) equals the plain one, on its aligned vector path and
// on its fallbacks (row length not a multiple of 4; destination not 16-byte aligned).
TEST(CpuFusedFfn, StreamingGatherEqualsGather) {
  const std::vector<int32_t> idx = {3, 0, 3, 1, 2};
  for (int H : {8, 6}) {
    std::vector<float> src(4 * static_cast<size_t>(H));
    std::iota(src.begin(), src.end(), 1.0f);
    std::vector<float> want(idx.size() * H);
    cpu::gather_rows(src.data(), idx.data(), 5, H, want.data());
    std::vector<float> got(want.size() + 1, -1.0f);
    for (size_t shift : {size_t{0}, size_t{1}}) {
      float* dst = got.data() + shift;
      cpu::gather_rows_stream(src.data(), idx.data(), 5, H, dst);
      EXPECT_EQ(std::vector<float>(dst, dst + want.size()), want)
          << "H " << H << " shift " << shift;
    }
  }
}

TEST(CpuFusedFfn, MatchesThreeGemmKernelAndReference) {
  const int H = 48, F = 80;
  const auto w = make_expert_weights(9, 0, 5, H, F);
  std::vector<float> w13(static_cast<size_t>(H) * 2 * F);
  cpu::fuse_w13(w.w1.data(), w.w3.data(), H, F, w13.data());
  for (int64_t n : {1, 13, 64}) {
    const auto x = inputs(9, 0, n, H);
    std::vector<float> y_fused(static_cast<size_t>(n) * H), y_three(y_fused.size());
    std::vector<float> h13(static_cast<size_t>(n) * 2 * F), h1(static_cast<size_t>(n) * F),
        h3(h1.size());
    cpu::expert_ffn_fused(x.data(), n, H, F, w13.data(), w.w2.data(), h13.data(), y_fused.data());
    cpu::expert_ffn_blas(x.data(), n, H, F, w.w1.data(), w.w3.data(), w.w2.data(),
                         {h1.data(), h3.data()}, y_three.data());
    std::vector<double> ref(H);
    for (int64_t r = 0; r < n; ++r) {
      std::fill(ref.begin(), ref.end(), 0.0);
      reference_expert_accumulate(
          w, std::span<const float>(x).subspan(static_cast<size_t>(r) * H, H), 1.0f, ref);
      for (int h = 0; h < H; ++h) {
        const size_t i = static_cast<size_t>(r) * H + h;
        EXPECT_NEAR(y_fused[i], ref[h], 1e-4 + 1e-4 * std::abs(ref[h])) << n << ":" << r;
        EXPECT_NEAR(y_fused[i], y_three[i], 1e-5 + 1e-5 * std::abs(ref[h])) << n << ":" << r;
      }
    }
  }
}

// One rank hosting every expert; layers of several sizes through one backend (buffers grow and
// are reused). top-1 over one expert makes every expert's rows consecutive (no gather); top-2
// over three experts scatters them (gather).
TEST(CpuFusedFfn, BackendGroupedFfnMatchesReferenceOnBothOperandPaths) {
  const int H = 24, F = 36;
  const uint64_t seed = 5;
  struct Case {
    int experts, top_k;
    int64_t tokens;
  };
  for (const Case c : {Case{1, 1, 9}, Case{3, 2, 17}, Case{3, 2, 5}, Case{1, 1, 30}}) {
    CpuBackend backend(BackendOptions{H, F, 1, 0});
    std::vector<int32_t> all(c.experts);
    std::iota(all.begin(), all.end(), 0);
    backend.load_experts(seed, 0, all);
    for (int64_t T : {c.tokens, c.tokens / 2 + 1, c.tokens}) {
      const RoutingTrace batch = testing::make_random_trace(1, c.top_k, c.experts, T, 11);
      LayerPlacement lp;
      for (int e = 0; e < c.experts; ++e) lp.replicas.push_back({0});
      std::vector<int32_t> dest(static_cast<size_t>(T) * c.top_k);
      route_layer(lp, ReplicaPolicyKind::kPrimary, Topology::uniform(1, 1), batch.layer_experts(0),
                  c.top_k, RouteContext{seed, 0, 0}, dest);
      const DispatchPlan plan = build_dispatch_plan(batch.layer_experts(0), batch.layer_weights(0),
                                                    dest, c.top_k, 1, 0, true);
      backend.set_input(inputs(seed, 0, T, H), T);
      backend.prepare(plan);
      backend.permute(plan);
      if (!backend.keeps_self_rows())  // the transport moves only other ranks' rows
        std::copy_n(static_cast<float*>(backend.dispatch_send()), plan.rows_sent() * H,
                    static_cast<float*>(backend.dispatch_recv()));
      backend.expert_ffn(0, plan);
      if (!backend.keeps_self_rows())  // the transport moves only other ranks' rows
        std::copy_n(static_cast<float*>(backend.combine_send()), plan.rows_received() * H,
                    static_cast<float*>(backend.combine_recv()));
      backend.unpermute(plan);
      std::vector<int64_t> tokens(T);
      std::iota(tokens.begin(), tokens.end(), 0);
      std::vector<float> y(static_cast<size_t>(T) * H), x(H);
      backend.read_output(tokens, y);
      ReferenceExperts ref(seed, H, F);
      std::vector<double> want(H);
      for (int64_t t = 0; t < T; ++t) {
        fill_token_input(seed, 0, t, x);
        reference_token_output(ref, 0, batch.experts(0, t), batch.weights(0, t), x, want);
        for (int h = 0; h < H; ++h)
          ASSERT_NEAR(y[static_cast<size_t>(t) * H + h], want[h], 1e-4 + 1e-3 * std::abs(want[h]))
              << "E " << c.experts << " T " << T << " token " << t << " element " << h;
      }
    }
  }
}

}  // namespace
}  // namespace moeb
