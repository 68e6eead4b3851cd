// The fused CPU expert FFN (W1 | W3 as one [hidden x 2*ffn] weight, kernels/cpu) against the
// three-GEMM kernel and core's double-precision reference, and the CPU backend's grouped FFN on
// both of its operand paths (rows consecutive in the receive buffer: no gather; scattered rows:
// gathered) over layers of changing size that reuse its buffers, for every FFN GEMM library
// this build has (kernels/cpu/ffn_library.hpp), and the vectorized SwiGLU against the scalar one.
#include <gtest/gtest.h>

#include <cmath>
#include <numeric>
#include <stdexcept>
#include <vector>

#include "../mpi/test_workload.hpp"
#include "core/dispatch_plan.hpp"
#include "core/expert_weights.hpp"
#include "core/reference.hpp"
#include "core/routing.hpp"
#include "cpu/expert_ffn.hpp"
#include "cpu/ffn_library.hpp"
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

void backend_grouped_ffn_matches_reference(const std::string& library);

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
  const int H = 52, F = 80;
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

// The vectorized SwiGLU (with the gate weight) equals the scalar std::exp one to float rounding,
// over a range that reaches exp's clamps (|a| up to 120) and row lengths off the vector width.
TEST(CpuFusedFfn, SwigluRowsMatchesScalarSwiglu) {
  for (int F : {1, 8, 13, 40}) {
    const int64_t n = 5;
    std::vector<float> h13(static_cast<size_t>(n) * 2 * F), gate = {1.0f, 0.5f, -2.0f, 0.0f, 3.0f};
    for (size_t i = 0; i < h13.size(); ++i)
      h13[i] = static_cast<float>(std::sin(0.37 * static_cast<double>(i)) * (i % 3 == 0 ? 120 : 6));
    std::vector<float> got = h13;
    cpu::swiglu_rows(got.data(), n, F, gate.data());
    for (int64_t r = 0; r < n; ++r)
      for (int f = 0; f < F; ++f) {
        const size_t i = static_cast<size_t>(r) * 2 * F + f;
        const double a = h13[i], want = a / (1.0 + std::exp(-a)) * h13[i + F] * gate[r];
        EXPECT_NEAR(got[i], want, 1e-30 + 2e-6 * std::abs(want)) << "F " << F << " r " << r;
        EXPECT_EQ(got[i + F], h13[i + F]);  // W3's half is left as it was
      }
  }
}

TEST(CpuFusedFfn, LibraryChoiceIsCheckedAndOpenBlasAlwaysBuilt) {
  const auto built = cpu::built_ffn_libraries();
  ASSERT_FALSE(built.empty());
  EXPECT_EQ(built.back(), "openblas");
  EXPECT_EQ(cpu::make_ffn_library("auto", 1)->name(), built.front());
  EXPECT_EQ(cpu::make_ffn_library("auto", 2)->name(), "openblas");  // threaded sgemm
  for (const auto& name : built) {
    const auto lib = cpu::make_ffn_library(name, 1);
    EXPECT_EQ(lib->name(), name);
    EXPECT_FALSE(lib->version().empty());
  }
  EXPECT_THROW(cpu::make_ffn_library("mkl", 1), std::invalid_argument);
  EXPECT_THROW(CpuBackend(BackendOptions{8, 8, 1, 0, "mkl"}), ConfigError);
}

// Every built library's packed expert against core's double-precision reference: row counts
// below, at and above the libraries' row blocks and each of avx2's row paths (1-3 rows alone on
// the per-row path, an 8-row group, a padded 16-row group, 16-row groups with 1-3 per-row rows,
// with an 8-row group, with both), ffn and hidden not multiples of the panel width,
// strided input and output rows, a gate weight per row, and accumulation into existing output.
TEST(CpuFusedFfn, EveryBuiltLibraryMatchesReference) {
  const int H = 50, F = 80;  // K = 50 and 81 (ffn padded to 3): not multiples of 4, 6 or 8
  const int64_t ldx = H + 3, ldo = H + 5;
  const auto w = make_expert_weights(9, 0, 5, H, F);
  for (const auto& name : cpu::built_ffn_libraries()) {
    const auto expert =
        cpu::make_ffn_library(name, 1)->pack(w.w1.data(), w.w3.data(), w.w2.data(), H, F);
    for (int64_t n :
         {1, 3, 5, 7, 8, 9, 11, 13, 17, 19, 20, 22, 24, 25, 27, 29, 35, 37, 41, 44, 64, 65, 130}) {
      const auto xs = inputs(9, 0, n, H);
      std::vector<float> x(static_cast<size_t>(n) * ldx, 7.0f), gate(n), h13(n * 2 * F);
      for (int64_t r = 0; r < n; ++r) {
        std::copy_n(xs.begin() + r * H, H, x.begin() + r * ldx);
        gate[r] = 0.25f + 0.01f * static_cast<float>(r);
      }
      for (bool accumulate : {false, true}) {
        std::vector<float> out(static_cast<size_t>(n) * ldo, 0.5f);
        expert->run(x.data(), ldx, n, gate.data(), h13.data(), out.data(), ldo, accumulate);
        std::vector<double> ref(H);
        for (int64_t r = 0; r < n; ++r) {
          std::fill(ref.begin(), ref.end(), accumulate ? 0.5 : 0.0);
          reference_expert_accumulate(
              w, std::span<const float>(xs).subspan(static_cast<size_t>(r) * H, H), gate[r], ref);
          for (int h = 0; h < ldo; ++h) {
            const float got = out[static_cast<size_t>(r) * ldo + h];
            if (h >= H) {
              ASSERT_EQ(got, 0.5f) << name << ": wrote past the row, n " << n;
              continue;
            }
            ASSERT_NEAR(got, ref[h], 1e-4 + 1e-4 * std::abs(ref[h]))
                << name << " n " << n << " row " << r << " col " << h << " acc " << accumulate;
          }
        }
      }
    }
  }
}

// One rank hosting every expert; layers of several sizes through one backend (buffers grow and
// are reused). top-1 over one expert makes every expert's rows consecutive (no gather); top-2
// over three experts scatters them (gather). Every built FFN library.
TEST(CpuFusedFfn, BackendGroupedFfnMatchesReferenceOnBothOperandPaths) {
  for (const auto& library : cpu::built_ffn_libraries()) {
    SCOPED_TRACE("ffn library " + library);
    backend_grouped_ffn_matches_reference(library);
  }
}

void backend_grouped_ffn_matches_reference(const std::string& library) {
  const int H = 24, F = 36;
  const uint64_t seed = 5;
  struct Case {
    int experts, top_k;
    int64_t tokens;
  };
  for (const Case c : {Case{1, 1, 9}, Case{3, 2, 17}, Case{3, 2, 5}, Case{1, 1, 30}}) {
    CpuBackend backend(BackendOptions{H, F, 1, 0, library});
    ASSERT_EQ(backend.ffn_library(), library);
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
