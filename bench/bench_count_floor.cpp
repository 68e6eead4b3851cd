// How far simulate's exact counting is from the cheapest exact count there is (issue 16,
// bench/README.md "Simulate at scale"): one layer of 131,072 tokens, top-8 of 256 experts
// (distinct per token, drawn uniformly with a fixed seed), 256 ranks on 32 nodes of 8, each rank
// owning a contiguous 512 tokens. Every benchmark reports ns per token-layer (8 choices):
//   Floor/PerExpert   one increment per choice into the owner's row of expert counts: what a
//                     count without routing or dedup costs at the least;
//   Floor/RankDedup   the expert's rank from a table (2 experts a rank: 128 ranks hold them),
//                     the token counted once per rank (a last-token stamp), one increment into
//                     the owner's row of the rows matrix: the least an exact dedup count costs;
//   Evaluator/Uniform the real evaluate_stateless_layer (the counting of eplb, craft, prefill)
//                     under a uniform replica policy, every eighth expert with two replicas;
//   Evaluator/UniformSkewed the same with skewed picks (expert e drawn with weight
//                     1 / (1 + 7e mod 256)) and every second expert replicated (every
//                     sixteenth twice): about half of the choices have a choice of replicas,
//                     as under eplb on deepseek-v3, where a branch on it is mispredicted often.
// `checksum` (sum of the counts) is printed so that the work cannot be optimized away.
#include <benchmark/benchmark.h>

#include <algorithm>
#include <chrono>
#include <numeric>
#include <random>
#include <vector>

#include "core/evaluator.hpp"
#include "core/routing.hpp"
#include "core/topology.hpp"

namespace moeb {
namespace {

constexpr int kTokens = 131072, kTopK = 8, kExperts = 256, kRanks = 256, kPerNode = 8;

// Top-8 of 256 experts with skewed weights (rejection of repeats), fixed seed.
const std::vector<int32_t>& skewed_experts() {
  static const std::vector<int32_t> x = [] {
    std::vector<int32_t> out;
    out.reserve(static_cast<size_t>(kTokens) * kTopK);
    std::mt19937_64 rng(42);
    std::vector<double> w(kExperts);
    for (int e = 0; e < kExperts; ++e) w[e] = 1.0 / (1 + (e * 7) % kExperts);
    std::discrete_distribution<int> pick(w.begin(), w.end());
    for (int t = 0; t < kTokens; ++t) {
      int taken[kTopK], n = 0;
      while (n < kTopK) {
        const int e = pick(rng);
        if (std::find(taken, taken + n, e) == taken + n) taken[n++] = e;
      }
      out.insert(out.end(), taken, taken + kTopK);
    }
    return out;
  }();
  return x;
}

const std::vector<int32_t>& experts() {
  static const std::vector<int32_t> x = [] {
    std::vector<int32_t> out;
    out.reserve(static_cast<size_t>(kTokens) * kTopK);
    std::mt19937_64 rng(42);
    std::vector<int32_t> all(kExperts);
    std::iota(all.begin(), all.end(), 0);
    for (int t = 0; t < kTokens; ++t) {
      for (int j = 0; j < kTopK; ++j) {  // partial Fisher-Yates: k distinct experts
        std::uniform_int_distribution<int> pick(j, kExperts - 1);
        std::swap(all[j], all[pick(rng)]);
        out.push_back(all[j]);
      }
    }
    return out;
  }();
  return x;
}

// ns per token-layer over the timed iterations (the loop's own time, measured here so that the
// counter prints as a plain number), and the checksum.
void report(benchmark::State& state, double seconds, int64_t checksum) {
  state.counters["ns_per_token_layer"] =
      seconds * 1e9 / (static_cast<double>(kTokens) * static_cast<double>(state.iterations()));
  state.counters["checksum"] = static_cast<double>(checksum);
}

using Clock = std::chrono::steady_clock;
double since(Clock::time_point t0) {
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

void BM_FloorPerExpert(benchmark::State& state) {
  const auto& x = experts();
  std::vector<int32_t> rows(static_cast<size_t>(kRanks) * kExperts);
  int64_t checksum = 0;
  double seconds = 0;
  for (auto _ : state) {
    const auto t0 = Clock::now();
    std::fill(rows.begin(), rows.end(), 0);
    for (int owner = 0; owner < kRanks; ++owner) {
      int32_t* row = rows.data() + static_cast<size_t>(owner) * kExperts;
      const int32_t* c = x.data() + static_cast<size_t>(token_begin(owner, kTokens, kRanks)) * kTopK;
      const int32_t* end =
          x.data() + static_cast<size_t>(token_begin(owner + 1, kTokens, kRanks)) * kTopK;
      for (; c < end; ++c) ++row[*c];
    }
    benchmark::DoNotOptimize(rows.data());
    seconds += since(t0);
    checksum = std::accumulate(rows.begin(), rows.end(), int64_t{0});
  }
  report(state, seconds, checksum);
}
BENCHMARK(BM_FloorPerExpert)->Name("Floor/PerExpert")->Unit(benchmark::kMillisecond);

void BM_FloorRankDedup(benchmark::State& state) {
  const auto& x = experts();
  std::vector<int32_t> rank_of(kExperts);
  for (int e = 0; e < kExperts; ++e) rank_of[e] = (e * 37) % (kRanks / 2);  // 2 experts a rank
  std::vector<int64_t> rows(static_cast<size_t>(kRanks) * kRanks), last(kRanks);
  int64_t checksum = 0;
  double seconds = 0;
  for (auto _ : state) {
    const auto t0 = Clock::now();
    std::fill(rows.begin(), rows.end(), 0);
    std::fill(last.begin(), last.end(), -1);
    for (int owner = 0; owner < kRanks; ++owner) {
      int64_t* row = rows.data() + static_cast<size_t>(owner) * kRanks;
      const int64_t end = token_begin(owner + 1, kTokens, kRanks);
      for (int64_t t = token_begin(owner, kTokens, kRanks); t < end; ++t) {
        const int32_t* c = x.data() + static_cast<size_t>(t) * kTopK;
        for (int j = 0; j < kTopK; ++j) {
          const int32_t r = rank_of[c[j]];
          row[r] += last[r] != t;
          last[r] = t;
        }
      }
    }
    benchmark::DoNotOptimize(rows.data());
    seconds += since(t0);
    checksum = std::accumulate(rows.begin(), rows.end(), int64_t{0});
  }
  report(state, seconds, checksum);
}
BENCHMARK(BM_FloorRankDedup)->Name("Floor/RankDedup")->Unit(benchmark::kMillisecond);

void evaluator_uniform(benchmark::State& state, const std::vector<int32_t>& x, int every,
                       int every_twice) {  // every_twice 0: none with three
  const Topology topo = Topology::uniform(kRanks / kPerNode, kPerNode);
  LayerPlacement lp;
  lp.replicas.resize(kExperts);
  for (int e = 0; e < kExperts; ++e) {
    lp.replicas[e] = {e};  // one expert per rank
    if (e % every == 0) lp.replicas[e].push_back((e + 129) % kRanks);
    if (every_twice > 0 && e % every_twice == 0) lp.replicas[e].push_back((e + 77) % kRanks);
  }
  TrafficOptions opt;
  opt.dispatch_row_bytes = opt.combine_row_bytes = 14336;
  opt.byte_totals = false;
  std::vector<int64_t> touched;
  int64_t checksum = 0;
  double seconds = 0;
  for (auto _ : state) {
    const auto t0 = Clock::now();
    const StatelessRoute route(lp, ReplicaPolicyKind::kUniform, RouteContext{42, 0, 0});
    const LayerTraffic lt =
        evaluate_stateless_layer(route, x, kTopK, kExperts, topo, opt, touched);
    seconds += since(t0);
    checksum = std::accumulate(lt.rows.begin(), lt.rows.end(), int64_t{0});
  }
  report(state, seconds, checksum);
}
void BM_EvaluatorUniform(benchmark::State& state) {
  evaluator_uniform(state, experts(), 8, 0);
}
BENCHMARK(BM_EvaluatorUniform)->Name("Evaluator/Uniform")->Unit(benchmark::kMillisecond);
void BM_EvaluatorUniformSkewed(benchmark::State& state) {
  evaluator_uniform(state, skewed_experts(), 2, 16);
}
BENCHMARK(BM_EvaluatorUniformSkewed)
    ->Name("Evaluator/UniformSkewed")
    ->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace moeb

BENCHMARK_MAIN();
