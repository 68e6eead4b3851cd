// CPU kernels and the CPU backend against naive references: the BLAS expert FFN against plain
// loops and against core's double-precision reference; gather/scatter; a whole single-rank
// layer through CpuBackend (permute, grouped FFN, unpermute) against reference_token_output.
#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "../mpi/test_workload.hpp"
#include "core/dispatch_plan.hpp"
#include "core/error.hpp"
#include "core/expert_weights.hpp"
#include "core/reference.hpp"
#include "core/routing.hpp"
#include "cpu/expert_ffn.hpp"
#include "runtime/backend_factory.hpp"
#include "runtime/cpu_backend.hpp"

namespace moeb {
namespace {

std::vector<float> token_inputs(uint64_t seed, int layer, int64_t n, int hidden) {
  std::vector<float> x(static_cast<size_t>(n) * hidden);
  for (int64_t t = 0; t < n; ++t)
    fill_token_input(seed, layer, t, std::span<float>(x).subspan(static_cast<size_t>(t) * hidden,
                                                                  static_cast<size_t>(hidden)));
  return x;
}

TEST(ExpertWeights, DeterministicDistinctAndScaled) {
  const auto a = make_expert_weights(1, 2, 3, 64, 96);
  const auto b = make_expert_weights(1, 2, 3, 64, 96);
  const auto c = make_expert_weights(1, 2, 4, 64, 96);
  EXPECT_EQ(a.w1, b.w1);
  EXPECT_EQ(a.w2, b.w2);
  EXPECT_NE(a.w1, c.w1);
  EXPECT_NE(a.w1, a.w3);
  // Uniform in [-sqrt(3/fan_in), sqrt(3/fan_in)): variance 1/fan_in.
  double ss = 0;
  for (float v : a.w1) {
    EXPECT_LT(std::abs(v), std::sqrt(3.0 / 64) + 1e-6);
    ss += static_cast<double>(v) * v;
  }
  EXPECT_NEAR(ss / a.w1.size() * 64, 1.0, 0.1);
}

TEST(CpuKernels, BlasExpertFfnMatchesNaiveAndReference) {
  const int H = 48, F = 80;
  const int64_t n = 13;
  const auto w = make_expert_weights(9, 0, 5, H, F);
  const auto x = token_inputs(9, 0, n, H);
  std::vector<float> y_blas(static_cast<size_t>(n) * H), y_naive(y_blas.size());
  std::vector<float> h1(static_cast<size_t>(n) * F), h3(h1.size());
  cpu::expert_ffn_blas(x.data(), n, H, F, w.w1.data(), w.w3.data(), w.w2.data(),
                       {h1.data(), h3.data()}, y_blas.data());
  cpu::expert_ffn_naive(x.data(), n, H, F, w.w1.data(), w.w3.data(), w.w2.data(), y_naive.data());
  double max_mag = 0;
  for (int64_t r = 0; r < n; ++r) {
    std::vector<double> ref(H, 0.0);
    reference_expert_accumulate(w, std::span<const float>(x).subspan(static_cast<size_t>(r) * H, H),
                                1.0f, ref);
    for (int h = 0; h < H; ++h) {
      const size_t i = static_cast<size_t>(r) * H + h;
      EXPECT_NEAR(y_blas[i], ref[h], 1e-4 + 1e-4 * std::abs(ref[h])) << r << "," << h;
      EXPECT_NEAR(y_naive[i], ref[h], 1e-4 + 1e-4 * std::abs(ref[h])) << r << "," << h;
      max_mag = std::max(max_mag, std::abs(ref[h]));
    }
  }
  // The scaling keeps outputs O(1): neither vanishing nor exploding.
  EXPECT_GT(max_mag, 0.05);
  EXPECT_LT(max_mag, 20.0);
}

TEST(CpuKernels, GatherScatterAndSwiglu) {
  const int H = 3;
  const std::vector<float> src = {0, 1, 2, 10, 11, 12, 20, 21, 22};
  const std::vector<int64_t> idx = {2, 0, 2};
  std::vector<float> dst(9);
  cpu::gather_rows(src.data(), idx.data(), 3, H, dst.data());
  EXPECT_EQ(dst, (std::vector<float>{20, 21, 22, 0, 1, 2, 20, 21, 22}));
  std::vector<float> out(9, 0.0f);
  const std::vector<float> w = {1.0f, 2.0f, 0.5f};
  cpu::scatter_add_weighted(src.data(), idx.data(), w.data(), 3, H, out.data());
  EXPECT_EQ(out, (std::vector<float>{20, 22, 24, 0, 0, 0, 10, 11.5f, 13}));
  std::vector<float> acc(9, 1.0f);
  const std::vector<int32_t> idx32 = {1, 1, 0};
  cpu::scatter_add_rows(src.data(), idx32.data(), 3, H, acc.data());
  EXPECT_EQ(acc, (std::vector<float>{21, 22, 23, 11, 13, 15, 1, 1, 1}));
  std::vector<float> a = {0.0f, 1.0f, -2.0f}, b = {5.0f, 2.0f, 1.0f};
  cpu::swiglu_inplace(a.data(), b.data(), 3);
  EXPECT_FLOAT_EQ(a[0], 0.0f);
  EXPECT_NEAR(a[1], 2.0 / (1.0 + std::exp(-1.0)), 1e-6);
  EXPECT_NEAR(a[2], -2.0 / (1.0 + std::exp(2.0)), 1e-6);
}

// One rank owning every token and hosting every expert: dispatch and combine are local copies,
// so the backend alone must reproduce the reference layer output.
TEST(CpuBackend, SingleRankLayerMatchesReference) {
  const int H = 32, F = 40, E = 6, K = 2, L = 1;
  const int64_t T = 21;
  const uint64_t seed = 17;
  for (bool dedup : {true, false}) {
    const RoutingTrace batch = testing::make_random_trace(L, K, E, T, 5);
    LayerPlacement lp;
    for (int e = 0; e < E; ++e) lp.replicas.push_back({0});
    std::vector<int32_t> dest(static_cast<size_t>(T) * K);
    route_layer(lp, ReplicaPolicyKind::kPrimary, Topology::uniform(1, 1), batch.layer_experts(0),
                K, RouteContext{seed, 0, 0}, dest);
    const DispatchPlan plan =
        build_dispatch_plan(batch.layer_experts(0), batch.layer_weights(0), dest, K, 1, 0, dedup);

    auto backend = make_backend("cpu", BackendOptions{H, F, 1, 0});
    std::vector<int32_t> all(E);
    for (int e = 0; e < E; ++e) all[e] = e;
    backend->load_experts(seed, 0, all);
    backend->set_input(token_inputs(seed, 0, T, H), T);
    backend->prepare(plan);
    backend->permute(plan);
    if (!backend->keeps_self_rows())  // the transport moves only other ranks' rows
      std::copy_n(static_cast<float*>(backend->dispatch_send()), plan.rows_sent() * H,
                  static_cast<float*>(backend->dispatch_recv()));
    backend->expert_ffn(0, plan);
    if (!backend->keeps_self_rows())  // the transport moves only other ranks' rows
      std::copy_n(static_cast<float*>(backend->combine_send()), plan.rows_received() * H,
                  static_cast<float*>(backend->combine_recv()));
    backend->unpermute(plan);

    std::vector<int64_t> tokens(T);
    for (int64_t t = 0; t < T; ++t) tokens[t] = t;
    std::vector<float> y(static_cast<size_t>(T) * H);
    backend->read_output(tokens, y);
    ReferenceExperts ref(seed, H, F);
    std::vector<float> x(H);
    std::vector<double> want(H);
    for (int64_t t = 0; t < T; ++t) {
      fill_token_input(seed, 0, t, x);
      reference_token_output(ref, 0, batch.experts(0, t), batch.weights(0, t), x, want);
      for (int h = 0; h < H; ++h)
        ASSERT_NEAR(y[static_cast<size_t>(t) * H + h], want[h], 1e-4 + 1e-3 * std::abs(want[h]))
            << "token " << t << " element " << h << " dedup " << dedup;
    }
  }
}

TEST(CpuBackend, FactoryRejectsUnknownNamesAndBadSizes) {
  EXPECT_THROW(make_backend("tpu", BackendOptions{8, 8, 1, 0}), ConfigError);
  EXPECT_THROW(make_backend("cpu", BackendOptions{0, 8, 1, 0}), ConfigError);
  EXPECT_EQ(make_backend("cpu", BackendOptions{8, 8, 1, 0})->name(), "cpu");
}

}  // namespace
}  // namespace moeb
