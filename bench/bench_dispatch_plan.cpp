// build_dispatch_plan alone, as the engine calls it (into a reused plan): 2048 tokens, 64
// experts, top-8 uniform routing, contiguous placement over R ranks, dedup on; rank `i % R` per
// iteration. CPU time per plan is the figure (a shared machine inflates wall time).
// Run: bench_dispatch_plan
#include <benchmark/benchmark.h>

#include <numeric>
#include <vector>

#include "core/dispatch_plan.hpp"
#include "core/rng.hpp"

namespace {

constexpr int kExperts = 64, kTopK = 8;
constexpr int64_t kTokens = 2048;

void BM_BuildDispatchPlan(benchmark::State& state) {
  const int R = static_cast<int>(state.range(0));
  moeb::Rng rng(7);
  std::vector<int32_t> experts(static_cast<size_t>(kTokens) * kTopK), ids(kExperts);
  for (int64_t t = 0; t < kTokens; ++t) {
    std::iota(ids.begin(), ids.end(), 0);
    for (int j = 0; j < kTopK; ++j) {
      std::swap(ids[j], ids[j + rng.below(kExperts - j)]);
      experts[static_cast<size_t>(t) * kTopK + j] = ids[j];
    }
  }
  const std::vector<float> weights(experts.size(), 1.0f / kTopK);
  std::vector<int32_t> dest(experts.size());
  for (size_t i = 0; i < experts.size(); ++i) dest[i] = experts[i] * R / kExperts;
  moeb::DispatchPlan plan;
  int64_t i = 0, rows = 0;
  for (auto _ : state) {
    moeb::build_dispatch_plan(plan, experts, weights, dest, kTopK, R, static_cast<int>(i++ % R),
                              true);
    rows += plan.rows_received();
    benchmark::DoNotOptimize(plan.expert_row.data());
  }
  state.counters["rows_received"] = static_cast<double>(rows) / static_cast<double>(i);
}
BENCHMARK(BM_BuildDispatchPlan)->Arg(2)->Arg(4)->Arg(8)->Unit(benchmark::kMicrosecond);

}  // namespace

BENCHMARK_MAIN();
