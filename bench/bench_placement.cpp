// Placement time of every registered strategy for the deepseek-v3 preset (58 MoE layers, 256
// experts, top-8) on 32 nodes x 8 ranks, from the statistics of 1M synthetic tokens (goal: at
// most 2 s per strategy on one core). The statistics are built once, batch by batch (4096
// tokens, so CRAFT sees per-batch loads), with structure every strategy can use: per layer,
// 32 co-activation clusters of 8 experts, Zipf(1.0) skew over clusters, two task families with
// different hot clusters, and the first half of each batch in prefill.
#include <benchmark/benchmark.h>

#include <algorithm>
#include <cmath>
#include <memory>
#include <numeric>

#include "core/model.hpp"
#include "core/options.hpp"
#include "core/rng.hpp"
#include "core/stats.hpp"
#include "core/topology.hpp"
#include "placement/registry.hpp"

namespace moeb {
namespace {

constexpr int64_t kTokens = 1 << 20;
constexpr int64_t kBatchTokens = 4096;
constexpr int kSlotsPerRank = 2;  // 256 spare slots per layer: one redundant expert per rank

const RoutingStats& stats() {
  static const std::unique_ptr<RoutingStats> st = [] {
    const ModelSpec& m = model_preset("deepseek-v3");
    const int E = m.num_experts, k = m.top_k, L = m.num_layers, C = E / 8;
    auto s = std::make_unique<RoutingStats>(L, E, std::vector<std::string>{"chat", "code"});
    // Per layer: expert id of (cluster, member), a scattered permutation.
    std::vector<std::vector<int>> perm(L, std::vector<int>(E));
    for (int l = 0; l < L; ++l) {
      std::iota(perm[l].begin(), perm[l].end(), 0);
      Rng r(hash_counters(1, static_cast<uint64_t>(l)));
      std::shuffle(perm[l].begin(), perm[l].end(), r);
    }
    std::vector<double> cdf(C);
    double acc = 0;
    for (int c = 0; c < C; ++c) cdf[c] = (acc += 1.0 / (c + 1.0));
    for (double& x : cdf) x /= acc;
    Rng rng(2026);
    for (int64_t b0 = 0; b0 < kTokens; b0 += kBatchTokens) {
      RoutingTrace batch(L, k, E, kBatchTokens);
      for (int64_t t = 0; t < kBatchTokens; ++t) {
        const int fam = static_cast<int>(rng.below(2));
        batch.meta(t).family = fam;
        batch.meta(t).phase = t < kBatchTokens / 2 ? Phase::kPrefill : Phase::kDecode;
        for (int l = 0; l < L; ++l) {
          // Family 1's clusters are shifted by half, so the families prefer different ones.
          int c = static_cast<int>(std::lower_bound(cdf.begin(), cdf.end(), rng.uniform()) - cdf.begin());
          c = (c + fam * C / 2) % C;
          auto ids = batch.experts(l, t);
          for (int j = 0; j < k; ++j) {
            int e;
            do {
              e = rng.uniform() < 0.6 ? perm[l][c * 8 + static_cast<int>(rng.below(8))]
                                      : static_cast<int>(rng.below(E));
            } while (std::find(ids.begin(), ids.begin() + j, e) != ids.begin() + j);
            ids[j] = e;
            batch.weights(l, t)[j] = 1.0f / (j + 1);
          }
        }
      }
      s->add_batch(batch);
    }
    return s;
  }();
  return *st;
}

void BM_Placement(benchmark::State& state, std::string name) {
  const ModelSpec& m = model_preset("deepseek-v3");
  const Topology topo = Topology::uniform(32, 8);
  const RoutingStats& st = stats();
  const PlacementStrategy& s = find_strategy(name, "bench");
  const Options opt = resolve_options(s.spec().options, {}, "bench");
  if (auto reason = s.constraints(m, topo, kSlotsPerRank, opt)) {
    state.SkipWithError(("skipped: " + *reason).c_str());
    return;
  }
  int max_replicas = 0;
  for (auto _ : state) {
    PlacementInput in{m, topo, st, kSlotsPerRank, opt, 42};
    const PlacementPlan plan = s.place(in);
    benchmark::DoNotOptimize(plan.placement.layers.data());
    max_replicas = plan.placement.max_replicas();
  }
  state.counters["layers"] = m.num_layers;
  state.counters["max_replicas"] = max_replicas;
}

const int kRegistered = [] {
  for (const auto& name : strategy_names())
    benchmark::RegisterBenchmark(("BM_Placement/" + name).c_str(), BM_Placement, name)
        ->Unit(benchmark::kMillisecond)
        ->Iterations(3);
  return 0;
}();

}  // namespace
}  // namespace moeb

BENCHMARK_MAIN();
