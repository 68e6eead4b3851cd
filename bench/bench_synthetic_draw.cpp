// The synthetic draw alone: SyntheticGenerator::route_layer of the calibrated deepseek-v3
// workload (256 experts, top-8 in 4 of 8 groups, the knobs the preset's solve gives at seed 42),
// one batch of tokens over 8 layers, experts and gate weights as the measuring pass asks for
// them: the batch is the first `tokens` of the interleaved order (order_tokens, the default
// concurrency) of a 1.5M-token table, as simulate's batches are, and previous positions are
// given (recurrent tokens copy their predecessor). Reports ns per
// token-layer and a digest of every expert id and weight bit drawn (`digest_lo`, `digest_hi`:
// equal digests between two binaries mean the same values).
#include <benchmark/benchmark.h>

#include <cstring>
#include <map>
#include <memory>
#include <numeric>

#include "core/model.hpp"
#include "workload/calibrated.hpp"
#include "workload/split.hpp"
#include "workload/synthetic.hpp"

namespace moeb {
namespace {

constexpr int kLayers = 8;
constexpr int64_t kTableTokens = 1572864;  // simulate's 9 batches of 131,072 and calibration

const SyntheticGenerator& calibrated(int version) {
  static std::map<int, std::unique_ptr<SyntheticGenerator>> gens;
  auto& g = gens[version];
  if (!g) {
    const ModelSpec& m = model_preset("deepseek-v3");
    SyntheticSpec base;
    base.generator_version = version;
    const auto r =
        calibrate_generator_cached(workload_preset("deepseek-v3").targets, m, base, 42, 4096);
    g = std::make_unique<SyntheticGenerator>(r.spec, m, 42);
  }
  return *g;
}

uint64_t digest_of(std::span<const int32_t> experts, std::span<const float> weights) {
  uint64_t h = 1469598103934665603ULL;  // FNV-1a over the values
  auto mix = [&](uint32_t v) { h = (h ^ v) * 1099511628211ULL; };
  for (int32_t e : experts) mix(static_cast<uint32_t>(e));
  for (float w : weights) {
    uint32_t b;
    std::memcpy(&b, &w, sizeof b);
    mix(b);
  }
  return h;
}

void BM_RouteLayer(benchmark::State& state) {
  const int version = static_cast<int>(state.range(0));
  const auto tokens_n = state.range(1);
  const bool with_weights = state.range(2) != 0;
  const SyntheticGenerator& g = calibrated(version);
  const int k = 8;
  const auto metas = g.token_metas(kTableTokens);
  std::vector<int64_t> all(metas.size());
  std::iota(all.begin(), all.end(), 0);
  std::vector<int64_t> tokens =
      order_tokens(metas, all, "interleaved", default_concurrency(tokens_n));
  tokens.resize(static_cast<size_t>(tokens_n));
  const auto prev = previous_positions(metas, tokens);
  std::vector<int32_t> experts(tokens.size() * k);
  std::vector<float> weights(with_weights ? tokens.size() * k : 0);
  uint64_t digest = 0;
  for (auto _ : state) {
    digest = 0;
    for (int l = 0; l < kLayers; ++l) {
      g.route_layer(metas, tokens, l, experts, weights, prev);
      digest = digest * 31 + digest_of(experts, weights);
    }
    benchmark::DoNotOptimize(experts.data());
  }
  const double token_layers = static_cast<double>(tokens_n) * kLayers;
  state.counters["ns_per_token_layer"] =
      benchmark::Counter(token_layers * 1e-9, benchmark::Counter::kIsIterationInvariantRate |
                                                  benchmark::Counter::kInvert);
  state.counters["digest_lo"] = static_cast<double>(digest & 0xFFFFFFFFULL);
  state.counters["digest_hi"] = static_cast<double>(digest >> 32);
}

BENCHMARK(BM_RouteLayer)
    ->ArgNames({"version", "tokens", "weights"})
    ->Args({1, 131072, 1})
    ->Args({2, 131072, 1})
    ->Args({1, 131072, 0})
    ->Args({2, 131072, 0})
    ->Unit(benchmark::kMillisecond)
    ->MeasureProcessCPUTime();

}  // namespace
}  // namespace moeb

BENCHMARK_MAIN();
