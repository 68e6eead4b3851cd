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
#include "deepseek_stats.hpp"
#include "placement/registry.hpp"

namespace moeb {
namespace {

constexpr int kSlotsPerRank = 2;  // 256 spare slots per layer: one redundant expert per rank

void BM_Placement(benchmark::State& state, std::string name) {
  const ModelSpec& m = model_preset("deepseek-v3");
  const Topology topo = Topology::uniform(32, 8);
  const RoutingStats& st = bench::deepseek_stats();
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
    if (name != "optimal")  // a search under a time limit: bench_optimal measures it
    benchmark::RegisterBenchmark(("BM_Placement/" + name).c_str(), BM_Placement, name)
        ->Unit(benchmark::kMillisecond)
        ->Iterations(3);
  return 0;
}();

}  // namespace
}  // namespace moeb

BENCHMARK_MAIN();
