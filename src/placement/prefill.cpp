// prefill: prefill-guided placement ("Patterns behind Chaos", ISCA 2026, arXiv 2510.05497).
// Statistics from the prefill tokens of the calibration part (their Insight 1: prefill predicts
// decode). Remap: experts by decreasing roofline cost onto the least-loaded rank with room.
// Dup: extra slots per rank, each filled with the (expert, rank) copy that most lowers the
// maximum rank load; a replicated expert's tokens split evenly.
#include <algorithm>
#include <cmath>
#include <numeric>

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
            {{"dup_slots", OptionType::kInt, int64_t{1},
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

  PlacementPlan place(const PlacementInput& in) const override {
    const int R = in.topo.num_ranks(), E = in.model.num_experts, L = in.model.num_layers;
    const int base_cap = placement::min_slots(E, R);
    const int dup = static_cast<int>(std::min<int64_t>(in.options.get_int("dup_slots"),
                                                       in.slots_per_rank - base_cap));
    const double flops = in.options.get_float("device_flops");
    const double bw = in.options.get_float("device_bandwidth");
    const int dt = dtype_bytes(in.options.get_string("dtype"), "option dtype");
    const double weight_bytes = static_cast<double>(in.model.expert_params()) * dt;
    const double row_bytes = 2.0 * in.model.hidden * dt;  // activation in and out per row
    // Roofline time of one expert GEMM for n rows.
    auto cost = [&](double n) {
      if (n <= 0) return 0.0;
      return std::max(n * in.model.flops_per_row() / flops, (weight_bytes + n * row_bytes) / bw);
    };
    const bool prefill = in.stats.prefill_tokens() > 0;
    PlacementPlan plan;
    plan.placement.num_ranks = R;
    plan.placement.layers.resize(L);
    for (int l = 0; l < L; ++l) {
      const std::vector<double> w =
          prefill ? placement::expert_loads(in.stats.prefill_layer(l), E, in.model.top_k)
                  : placement::expert_loads(in.stats, l, in.model.top_k);
      auto& lp = plan.placement.layers[l];
      lp.replicas.assign(E, {});
      // Remap: decreasing cost, least-loaded rank with fewer than ceil(E/R) experts.
      std::vector<int> order(E);
      std::iota(order.begin(), order.end(), 0);
      std::stable_sort(order.begin(), order.end(), [&](int a, int b) { return w[a] > w[b]; });
      std::vector<double> load(R, 0.0);
      std::vector<int> used(R, 0);
      for (int e : order) {
        int best = -1;
        for (int r = 0; r < R; ++r)
          if (used[r] < base_cap && (best < 0 || load[r] < load[best])) best = r;
        lp.replicas[e] = {best};
        ++used[best];
        load[best] += cost(w[e]);
      }
      // Dup: R_dup * R times, the copy that most lowers the maximum rank cost. Only experts
      // on the most loaded rank can lower it, and the least-loaded eligible rank is their best
      // target, so the search covers every pair that matters.
      auto rank_cost = [&]() {
        std::vector<double> c(R, 0.0);
        for (int e = 0; e < E; ++e) {
          const double share = cost(w[e] / lp.replicas[e].size());
          for (int r : lp.replicas[e]) c[r] += share;
        }
        return c;
      };
      for (int step = 0; step < dup * R; ++step) {
        const std::vector<double> c = rank_cost();
        const int top = static_cast<int>(std::max_element(c.begin(), c.end()) - c.begin());
        double best_max = c[top];
        double best_top = c[top];
        int best_e = -1, best_r = -1;
        for (int e = 0; e < E; ++e) {
          auto& reps = lp.replicas[e];
          if (std::find(reps.begin(), reps.end(), top) == reps.end()) continue;
          int target = -1;
          for (int r = 0; r < R; ++r)
            if (used[r] < base_cap + dup && std::find(reps.begin(), reps.end(), r) == reps.end() &&
                (target < 0 || c[r] < c[target]))
              target = r;
          if (target < 0) continue;
          const double n = static_cast<double>(reps.size());
          const double delta = cost(w[e] / (n + 1)) - cost(w[e] / n);  // change on each host
          std::vector<double> after = c;
          for (int r : reps) after[r] += delta;
          after[target] += cost(w[e] / (n + 1));
          const double new_max = *std::max_element(after.begin(), after.end());
          // Lexicographic (new maximum, new cost of the top rank): lowers the maximum if any
          // copy can, else makes progress on the top rank without raising the maximum.
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
      }
      lp.predicted_rank_load = placement::rank_loads(lp, w, R);
    }
    plan.policy.kind = placement::policy_option(in.options);
    plan.notes.push_back({"statistics", prefill ? "prefill tokens"
                                                : "all tokens (calibration part has no prefill "
                                                  "tokens)"});
    plan.notes.push_back({"dup_slots_used", std::to_string(std::max(dup, 0))});
    return plan;
  }
};

}  // namespace

std::unique_ptr<PlacementStrategy> make_prefill() { return std::make_unique<Prefill>(); }

}  // namespace moeb
