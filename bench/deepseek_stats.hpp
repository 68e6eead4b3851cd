// The calibration statistics of the placement benchmarks: deepseek-v3 (58 MoE layers, 256
// experts, top-8), 1M synthetic tokens in 4096-token batches, built once. Per layer, 32
// co-activation clusters of 8 scattered experts, Zipf(1.0) skew over clusters, two task families
// with different hot clusters, the first half of each batch in prefill.
#pragma once

#include <algorithm>
#include <memory>
#include <numeric>
#include <string>
#include <vector>

#include "core/model.hpp"
#include "core/rng.hpp"
#include "core/stats.hpp"
#include "core/trace.hpp"

namespace moeb::bench {

inline constexpr int64_t kTokens = 1 << 20;
inline constexpr int64_t kBatchTokens = 4096;

inline const RoutingStats& deepseek_stats() {
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

}  // namespace moeb::bench
