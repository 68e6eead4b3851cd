// Helpers for the placement tests: small models, planted synthetic traces built directly with
// core RoutingTrace, statistics, and running a strategy with resolved options.
#pragma once

#include <algorithm>
#include <cmath>
#include <functional>
#include <map>
#include <numeric>
#include <string>
#include <vector>

#include "core/model.hpp"
#include "core/options.hpp"
#include "core/rng.hpp"
#include "core/stats.hpp"
#include "core/topology.hpp"
#include "core/trace.hpp"
#include "placement/registry.hpp"

namespace moeb::test {

// `groups` and `topk_groups`: DeepSeek-style expert groups (1 = none).
inline ModelSpec small_model(int experts, int top_k, int layers, int groups = 1,
                             int topk_groups = 1) {
  ModelSpec m;
  m.name = "test";
  m.num_experts = experts;
  m.top_k = top_k;
  m.hidden = 64;
  m.ffn_hidden = 128;
  m.num_layers = layers;
  m.num_expert_groups = groups;
  m.topk_groups = topk_groups;
  return m;
}

// Fills ids (size k, distinct) for token t at layer l.
using Picker = std::function<void(int layer, int64_t t, Rng& rng, std::vector<int32_t>& ids)>;

inline RoutingTrace make_trace(int layers, int experts, int k, int64_t tokens, uint64_t seed,
                               const Picker& pick,
                               const std::function<void(int64_t, TokenMeta&)>& meta = nullptr) {
  RoutingTrace tr(layers, k, experts, tokens);
  Rng rng(seed);
  std::vector<int32_t> ids(k);
  for (int64_t t = 0; t < tokens; ++t) {
    if (meta) meta(t, tr.meta(t));
    for (int l = 0; l < layers; ++l) {
      pick(l, t, rng, ids);
      auto out = tr.experts(l, t);
      auto w = tr.weights(l, t);
      for (int j = 0; j < k; ++j) {
        out[j] = ids[j];
        w[j] = 1.0f / static_cast<float>(j + 2);
      }
    }
  }
  return tr;
}

// Draws k distinct experts from `pool` with weights `w` (same length).
inline void draw_distinct(const std::vector<int>& pool, const std::vector<double>& w, Rng& rng,
                          std::vector<int32_t>& ids) {
  const double total = std::accumulate(w.begin(), w.end(), 0.0);
  for (size_t j = 0; j < ids.size(); ++j) {
    while (true) {
      double u = rng.uniform() * total;
      size_t i = 0;
      for (; i + 1 < pool.size(); ++i) {
        u -= w[i];
        if (u < 0) break;
      }
      const int e = pool[i];
      if (std::find(ids.begin(), ids.begin() + j, e) == ids.begin() + j) {
        ids[j] = e;
        break;
      }
    }
  }
}

// Zipf(s) popularity over experts, a different hot set per layer.
inline Picker zipf_picker(int experts, double s) {
  return [experts, s](int layer, int64_t, Rng& rng, std::vector<int32_t>& ids) {
    std::vector<int> pool(experts);
    std::vector<double> w(experts);
    for (int e = 0; e < experts; ++e) {
      pool[e] = (e * 7 + layer * 3) % experts;
      w[e] = 1.0 / std::pow(e + 1.0, s);
    }
    draw_distinct(pool, w, rng, ids);
  };
}

inline RoutingStats stats_of(const RoutingTrace& tr, int64_t batch_tokens) {
  RoutingStats st(tr.num_layers(), tr.num_experts(), tr.family_names);
  for (int64_t b = 0; b < tr.num_tokens(); b += batch_tokens)
    st.add_batch(tr.slice(b, std::min(tr.num_tokens(), b + batch_tokens)));
  return st;
}

inline Options resolve(const PlacementStrategy& s,
                       const std::map<std::string, OptionValue>& given = {}) {
  return resolve_options(s.spec().options, given, "test");
}

inline PlacementPlan place(const PlacementStrategy& s, const ModelSpec& m, const Topology& topo,
                           const RoutingStats& st, int slots, uint64_t seed = 7,
                           const std::map<std::string, OptionValue>& given = {}) {
  const Options opt = resolve(s, given);
  PlacementInput in{m, topo, st, slots, opt, seed};
  return s.place(in);
}

// Share of co-activation whose two experts share a primary rank.
inline double same_rank_coactivation(const LayerStats& ls, const LayerPlacement& lp, int experts) {
  double same = 0, total = 0;
  for (int i = 0; i < experts; ++i)
    for (int j = i + 1; j < experts; ++j) {
      const double c = ls.coact_at(i, j, experts);
      total += c;
      if (lp.replicas[i][0] == lp.replicas[j][0]) same += c;
    }
  return total > 0 ? same / total : 0.0;
}

}  // namespace moeb::test
