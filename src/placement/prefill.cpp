// prefill: prefill-guided placement ("Patterns behind Chaos", ISCA 2026, arXiv 2510.05497).
// Statistics from the prefill tokens of the calibration part (their Insight 1: prefill predicts
// decode). Remap: experts by decreasing roofline cost onto the least-loaded rank with room.
// Dup: extra slots per rank, each filled with the (expert, rank) copy that most lowers the
// maximum rank load; a replicated expert's tokens split evenly.
#include <algorithm>
#include <cmath>
#include <numeric>

#include "core/error.hpp"
#include "core/memory_budget.hpp"
#include "placement/common.hpp"
#include "placement/strategy.hpp"

namespace moeb {

namespace {

class Prefill final : public PlacementStrategy {
 public:
  StrategySpec spec() const override {
    return {"prefill",
            "balances expert compute time: roofline-cost remap from prefill statistics plus "
            "greedy duplication that lowers the maximum rank cost",
            "Patterns behind Chaos, ISCA 2026, arXiv 2510.05497 (Remap + Dup)",
            {{"mode", OptionType::kString, std::string("remap_dup"),
              "the paper's variants: remap = Remap only; dup = Dup from the contiguous layout; "
              "remap_dup = Dup after Remap",
              {"remap", "dup", "remap_dup"}},
             {"dup_slots", OptionType::kInt, int64_t{1},
              "R_dup: extra slots per rank for duplicates (bounded by the budget's spare slots)",
              {}, 0, 1 << 20},
             {"device_flops", OptionType::kFloat, 989e12,
              "(ours) device GEMM rate for the roofline, FLOP/s (default H100 dense BF16)", {},
              1, 1e20},
             {"device_bandwidth", OptionType::kFloat, 3.35e12,
              "(ours) device memory bandwidth for the roofline, bytes/s (default H100 HBM3)", {},
              1, 1e20},
             {"dtype", OptionType::kString, std::string("bf16"),
              "(ours) weight and activation dtype for the roofline bytes", {"fp32", "bf16", "fp16", "fp8"}},
             replica_policy_option("uniform")}};
  }

  std::optional<std::string> constraints(const ModelSpec& m, const Topology& topo, int slots,
                                         const Options&) const override {
    return placement::check_min_slots(m, topo, slots);
  }

  PlacementPlan place(const PlacementInput& in) const override;
};


// Roofline time of one expert GEMM for n rows.
struct Roofline {
  double flops = 0, bandwidth = 0, weight_bytes = 0, row_bytes = 0, flops_per_row = 0;
  double operator()(double n) const {
    if (n <= 0) return 0.0;
    return std::max(n * flops_per_row / flops, (weight_bytes + n * row_bytes) / bandwidth);
  }
};

// Remap: experts by decreasing cost, each to the least-loaded rank with fewer than `cap`.
void remap(LayerPlacement& lp, const std::vector<double>& w, const Roofline& cost, int R, int cap) {
  const int E = static_cast<int>(w.size());
  std::vector<int> order(E);
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](int a, int b) { return w[a] > w[b]; });
  std::vector<double> load(R, 0.0);
  std::vector<int> used(R, 0);
  for (int e : order) {
    int best = -1;
    for (int r = 0; r < R; ++r)
      if (used[r] < cap && (best < 0 || load[r] < load[best])) best = r;
    lp.replicas[e] = {best};
    ++used[best];
    load[best] += cost(w[e]);
  }
}

std::vector<double> rank_cost(const LayerPlacement& lp, const std::vector<double>& w,
                              const Roofline& cost, int R) {
  std::vector<double> c(R, 0.0);
  for (int e = 0; e < lp.num_experts(); ++e) {
    const double share = cost(w[e] / static_cast<double>(lp.replicas[e].size()));
    for (int r : lp.replicas[e]) c[r] += share;
  }
  return c;
}

// Dup: up to `steps` times, the copy that most lowers the maximum rank cost; a rank holds at
// most `cap` experts. Only experts on the most loaded rank can lower it, and the least-loaded
// eligible rank is their best target, so the search covers every pair that matters. Returns
// the copies added.
int dup(LayerPlacement& lp, const std::vector<double>& w, const Roofline& cost, int R, int cap,
        int steps) {
  const int E = lp.num_experts();
  std::vector<int> used = lp.slots_used(R);
  int added = 0;
  for (int step = 0; step < steps; ++step) {
    const std::vector<double> c = rank_cost(lp, w, cost, R);
    const int top = static_cast<int>(std::max_element(c.begin(), c.end()) - c.begin());
    double best_max = c[top], best_top = c[top];
    int best_e = -1, best_r = -1;
    for (int e = 0; e < E; ++e) {
      auto& reps = lp.replicas[e];
      if (std::find(reps.begin(), reps.end(), top) == reps.end()) continue;
      int target = -1;
      for (int r = 0; r < R; ++r)
        if (used[r] < cap && std::find(reps.begin(), reps.end(), r) == reps.end() &&
            (target < 0 || c[r] < c[target]))
          target = r;
      if (target < 0) continue;
      const double n = static_cast<double>(reps.size());
      const double delta = cost(w[e] / (n + 1)) - cost(w[e] / n);  // change on each host
      std::vector<double> after = c;
      for (int r : reps) after[r] += delta;
      after[target] += cost(w[e] / (n + 1));
      const double new_max = *std::max_element(after.begin(), after.end());
      // Lexicographic (new maximum, new cost of the top rank): lowers the maximum if any copy
      // can, else makes progress on the top rank without raising the maximum.
      if (new_max < best_max || (new_max == best_max && after[top] < best_top)) {
        best_max = new_max;
        best_top = after[top];
        best_e = e;
        best_r = target;
      }
    }
    if (best_e < 0) break;  // no copy helps
    lp.replicas[best_e].push_back(best_r);
    ++used[best_r];
    ++added;
  }
  return added;
}

PlacementPlan Prefill::place(const PlacementInput& in) const {
  const int R = in.topo.num_ranks(), E = in.model.num_experts, L = in.model.num_layers;
  const std::string mode = in.options.get_string("mode");
  const int base_cap = placement::min_slots(E, R);
  const int allowance = mode == "remap" ? 0
                                        : static_cast<int>(std::min<int64_t>(
                                              in.options.get_int("dup_slots"),
                                              in.slots_per_rank - base_cap));
  const int dt = dtype_bytes(in.options.get_string("dtype"), "option dtype");
  Roofline cost{in.options.get_float("device_flops"), in.options.get_float("device_bandwidth"),
                static_cast<double>(in.model.expert_params()) * dt,
                2.0 * in.model.hidden * dt,  // activation in and out per row
                in.model.flops_per_row()};
  const bool prefill = in.stats.prefill_tokens() > 0;
  PlacementPlan plan;
  plan.placement.num_ranks = R;
  plan.placement.layers.resize(L);
  int copies = 0, max_extra = 0;
  for (int l = 0; l < L; ++l) {
    const std::vector<double> w =
        prefill ? placement::expert_loads(in.stats.prefill_layer(l), E, in.model.top_k)
                : placement::expert_loads(in.stats, l, in.model.top_k);
    auto& lp = plan.placement.layers[l];
    lp.replicas.assign(E, {});
    if (mode == "dup") {
      for (int e = 0; e < E; ++e) lp.replicas[e] = {static_cast<int>(int64_t{e} * R / E)};
    } else {
      remap(lp, w, cost, R, base_cap);
    }
    const std::vector<int> before = lp.slots_used(R);
    if (allowance > 0) copies += dup(lp, w, cost, R, base_cap + allowance, allowance * R);
    const std::vector<int> after = lp.slots_used(R);
    for (int r = 0; r < R; ++r) max_extra = std::max(max_extra, after[r] - before[r]);
    lp.predicted_rank_load = placement::rank_loads(lp, w, R);
  }
  plan.policy.kind = placement::policy_option(in.options);
  plan.notes.push_back({"statistics", prefill ? "prefill tokens"
                                              : "all tokens (calibration part has no prefill "
                                                "tokens)"});
  plan.notes.push_back({"mode", mode});
  plan.notes.push_back({"dup_slots_allowed", std::to_string(std::max(allowance, 0))});
  plan.notes.push_back({"dup_slots_used", std::to_string(max_extra)});
  plan.notes.push_back({"dup_copies", std::to_string(copies)});
  return plan;
}

}  // namespace

std::unique_ptr<PlacementStrategy> make_prefill() { return std::make_unique<Prefill>(); }

}  // namespace moeb
