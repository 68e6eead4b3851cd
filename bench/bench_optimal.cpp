// The optimizing strategy (`optimal`) on the deepseek-v3 preset (58 MoE layers, 256 experts,
// top-8) on 32 nodes x 8 ranks with 2 slots per rank, from the statistics of 1M synthetic tokens
// (deepseek_stats.hpp). Goal: within 30 s on one core with its default options; and how the
// objective improves with the search time (time limits 1, 10 and 30 s, iteration budget large
// enough that the limit binds). Counters: objective at the start (best other strategy, per
// layer) and at the end, gain = 1 - end / start, proposals made, whether the limit bound.
#include <benchmark/benchmark.h>

#include <string>

#include "core/model.hpp"
#include "core/options.hpp"
#include "core/topology.hpp"
#include "deepseek_stats.hpp"
#include "placement/registry.hpp"

namespace moeb {
namespace {

constexpr int kSlotsPerRank = 2;

std::string note(const PlacementPlan& p, const std::string& key) {
  for (const auto& [k, v] : p.notes)
    if (k == key) return v;
  return "";
}

// time_limit_s < 0: the defaults; else that limit with an iteration budget it cannot exhaust.
void BM_Optimal(benchmark::State& state, double time_limit_s, std::string objective) {
  const ModelSpec& m = model_preset("deepseek-v3");
  const Topology topo = Topology::uniform(32, 8);
  const RoutingStats& st = bench::deepseek_stats();
  const PlacementStrategy& s = find_strategy("optimal", "bench");
  std::map<std::string, OptionValue> given{{"objective", objective}};
  if (time_limit_s >= 0) {
    given["time_limit_s"] = time_limit_s;
    given["iterations"] = int64_t{1000000000000};  // the option's maximum (1e12)
  }
  const Options opt = resolve_options(s.spec().options, given, "bench");
  PlacementPlan plan;
  for (auto _ : state) {
    PlacementInput in{m, topo, st, kSlotsPerRank, opt, 42};
    plan = s.place(in);
  }
  const double start = std::stod(note(plan, "objective_start"));
  const double end = std::stod(note(plan, "objective_end"));
  state.counters["objective_start"] = start;
  state.counters["objective_end"] = end;
  state.counters["gain_pct"] = 100.0 * (1.0 - end / start);
  state.counters["proposals"] = std::stod(note(plan, "iterations_done"));
  state.counters["time_capped"] = std::stod(note(plan, "time_capped"));
  state.SetLabel(note(plan, "objective") + ", start " + note(plan, "started_from"));
}

const int kRegistered = [] {
  for (double t : {-1.0, 1.0, 10.0, 30.0}) {
    const std::string name =
        "BM_Optimal/inter_node_bytes/" + (t < 0 ? std::string("default") : std::to_string(int(t)) + "s");
    benchmark::RegisterBenchmark(name.c_str(), BM_Optimal, t, std::string("inter_node_bytes"))
        ->Unit(benchmark::kSecond)
        ->Iterations(1)
        ->MeasureProcessCPUTime()
        ->UseRealTime();
  }
  return 0;
}();

}  // namespace
}  // namespace moeb

BENCHMARK_MAIN();
