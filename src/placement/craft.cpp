// craft: cost-aware per-layer replica counts under a memory budget (arXiv 2603.28768, MLSys
// 2026; code Accelsnow/CRAFT_core). Replays the calibration batches through EPLB replication +
// packing for candidate replica counts, spreads replicas over layers (the released code's
// threshold rule, or a knapsack on predicted layer time), pads the total to a multiple of the
// rank count as the released code does, and places each layer with EPLB at its count, with the
// per-rank slot counts interleaved over layers so every rank holds about the same expert memory.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <numeric>
#include <sstream>

#include "core/error.hpp"
#include "placement/common.hpp"
#include "placement/craft_core.hpp"
#include "placement/partition.hpp"
#include "placement/strategy.hpp"

namespace moeb {

namespace {

namespace cr = placement::craft;

std::vector<double> parse_numbers(const std::string& s, const std::string& key) {
  std::vector<double> out;
  std::stringstream ss(s);
  std::string tok;
  while (std::getline(ss, tok, ',')) {
    try {
      size_t pos = 0;
      const double v = std::stod(tok, &pos);
      if (v <= 0 || !std::isfinite(v)) throw std::invalid_argument("non-positive");
      out.push_back(v);
    } catch (const std::exception&) {
      throw ConfigError("option " + key + ": expected comma-separated positive numbers, got '" +
                        s + "'");
    }
  }
  return out;
}

// {0} and the candidate counts (absolute, or multiples of R when candidate_multiples is set),
// each clamped to [1, spare], sorted, distinct.
std::vector<int> candidate_counts(const Options& opt, int R, int spare) {
  const std::string mult = opt.get_string("candidate_multiples");
  std::vector<double> raw = mult.empty() ? parse_numbers(opt.get_string("candidates"), "candidates")
                                         : parse_numbers(mult, "candidate_multiples");
  std::vector<int> cand = {0};
  if (spare > 0)
    for (double v : raw) {
      const double n = mult.empty() ? v : v * R;
      cand.push_back(std::min(spare, std::max(1, static_cast<int>(std::lround(n)))));
    }
  std::sort(cand.begin(), cand.end());
  cand.erase(std::unique(cand.begin(), cand.end()), cand.end());
  return cand;
}

// Released code's create_balanced_tensor_interleaved, one layer at a time: every rank gets
// n / R slots, the remainder goes to the ranks holding the fewest slots so far, ties spread
// evenly over the tied ranks.
std::vector<int> interleaved_capacity(int n, const std::vector<int64_t>& held, int slots) {
  const int R = static_cast<int>(held.size()), base = n / R, rem = n % R;
  std::vector<int> cap(R, std::min(slots, base));
  if (rem == 0) return cap;
  std::vector<int> order(R);
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](int a, int b) { return held[a] < held[b]; });
  const int64_t cutoff = held[order[rem - 1]];
  std::vector<int> ties;
  int must = 0;
  for (int r = 0; r < R; ++r) {
    if (held[r] < cutoff) {
      cap[r] = std::min(slots, base + 1);
      ++must;
    } else if (held[r] == cutoff) {
      ties.push_back(r);
    }
  }
  const int need = rem - must;
  for (int i = 0; i < need; ++i) {
    const size_t pos = need == 1 ? 0
                                 : static_cast<size_t>(std::floor(
                                       static_cast<double>(i) * (ties.size() - 1) / (need - 1)));
    cap[ties[pos]] = std::min(slots, base + 1);
  }
  return cap;
}

// The released code's round_final_alloc: raise the smallest layers (0 -> 1, else double) until
// the total is a multiple of R. Returns false (and leaves `pick` alone) when the padded plan
// would exceed the budget or a layer's spare slots.
bool round_to_ranks(std::vector<int>& alloc, int R, int64_t budget, int spare) {
  int64_t total = std::accumulate(alloc.begin(), alloc.end(), int64_t{0});
  if (total % R == 0 || alloc.empty()) return true;
  std::vector<int> a = alloc;
  const int64_t target = (total / R + 1) * R;
  while (total < target) {
    const auto it = std::min_element(a.begin(), a.end());
    const int64_t increase = std::max(*it, 1);
    if (total + increase > target) {
      *it += static_cast<int>(target - total);
      total = target;
      break;
    }
    *it = *it == 0 ? 1 : *it * 2;
    total += increase;
  }
  if (total > budget || *std::max_element(a.begin(), a.end()) > spare) return false;
  alloc = std::move(a);
  return true;
}

std::string join_ints(const std::vector<int>& v) {
  std::string s;
  for (size_t i = 0; i < v.size(); ++i) s += (i ? "," : "") + std::to_string(v[i]);
  return s;
}

class Craft final : public PlacementStrategy {
 public:
  StrategySpec spec() const override {
    return {"craft",
            "minimizes replicas for load balance: per-layer replica counts from replayed "
            "balancedness gains under a total replica budget, EPLB within each layer",
            "CRAFT, arXiv 2603.28768 (MLSys 2026); code Accelsnow/CRAFT_core",
            {{"allocator", OptionType::kString, std::string("threshold"),
              "threshold = the released code's rule (take r when its benefit >= half the mean "
              "benefit); knapsack = multiple-choice knapsack over layers minimizing the sum of "
              "predicted layer times (max rank load) within the budget",
              {"knapsack", "threshold"}},
             {"candidates", OptionType::kString, std::string("4,8,16,32"),
              "candidate extra replicas per layer (the released code's set; 0 always added)", {}},
             {"candidate_multiples", OptionType::kString, std::string(""),
              "when set, candidates are these multiples of the rank count R instead "
              "(fractions allowed, e.g. 0.0625,0.125,0.25,0.5)", {}},
             {"budget_fraction", OptionType::kFloat, 1.0,
              "(ours) replica budget B = this share of all spare slots over all layers", {}, 0, 1},
             {"round_to_ranks", OptionType::kBool, true,
              "pad the total replica count to a multiple of R (released code's "
              "round_final_alloc), when the budget allows", {}},
             replica_policy_option("uniform")}};
  }

  std::optional<std::string> constraints(const ModelSpec& m, const Topology& topo, int slots,
                                         const Options& opt) const override {
    if (auto r = placement::check_min_slots(m, topo, slots)) return r;
    candidate_counts(opt, topo.num_ranks(), 1);
    return std::nullopt;
  }

  PlacementPlan place(const PlacementInput& in) const override;

 private:
  static std::vector<int> knapsack(const std::vector<std::vector<cr::Rung>>& lad,
                                   const std::vector<int>& cand, int64_t budget);
  static std::vector<int> threshold(const std::vector<std::vector<cr::Rung>>& lad,
                                    const std::vector<int>& cand, int64_t budget);
};

// Batches replayed: those of at least a tenth of the mean size, as the released code.
std::vector<size_t> replay_batches(const RoutingStats& stats) {
  const auto& batches = stats.batch_loads();
  std::vector<size_t> use;
  std::vector<double> tot(batches.size(), 0.0);
  double mean = 0;
  for (size_t b = 0; b < batches.size(); ++b) {
    for (const auto& layer : batches[b]) tot[b] += std::accumulate(layer.begin(), layer.end(), 0.0);
    mean += tot[b] / static_cast<double>(batches.size());
  }
  for (size_t b = 0; b < batches.size(); ++b)
    if (tot[b] >= mean / 10) use.push_back(b);
  return use;
}

cr::Replay layer_replay(const PlacementInput& in, const std::vector<size_t>& use, int l) {
  cr::Replay rp;
  rp.aggregate = placement::expert_loads(in.stats, l, in.model.top_k);
  for (size_t b : use) rp.batches.push_back(&in.stats.batch_loads()[b][l]);
  return rp;
}

PlacementPlan Craft::place(const PlacementInput& in) const {
  const int R = in.topo.num_ranks(), E = in.model.num_experts, L = in.model.num_layers;
  const int S = in.slots_per_rank, spare = R * S - E;
  PlacementPlan plan;
  const std::vector<int> cand = candidate_counts(in.options, R, spare);
  const auto budget =
      static_cast<int64_t>(std::floor(in.options.get_float("budget_fraction") * L * spare));
  const std::vector<size_t> use = replay_batches(in.stats);
  if (use.empty())
    plan.notes.push_back({"craft_replay", "no per-batch statistics; replayed aggregate loads"});
  const cr::CapacityFn even = [&](int n) { return placement::even_capacity(n, R, S); };
  std::vector<std::vector<cr::Rung>> lad(L);
  int ignored = 0;
  for (int l = 0; l < L; ++l) lad[l] = cr::ladder(layer_replay(in, use, l), cand, in.topo, even, S, ignored);
  std::vector<int> pick = in.options.get_string("allocator") == "knapsack"
                              ? knapsack(lad, cand, budget)
                              : threshold(lad, cand, budget);
  std::vector<int> alloc(L);
  for (int l = 0; l < L; ++l) alloc[l] = cand[pick[l]];
  if (in.options.get_bool("round_to_ranks") && !round_to_ranks(alloc, R, budget, spare))
    plan.notes.push_back({"round_to_ranks", "skipped: padding would exceed the budget"});

  // Final placement: each layer's ladder up to its count, slots interleaved over layers.
  plan.placement.num_ranks = R;
  plan.placement.layers.resize(L);
  std::vector<int64_t> held(R, 0);
  std::vector<int> used(L);
  int dropped = 0;
  for (int l = 0; l < L; ++l) {
    std::vector<int> counts;
    for (int c : cand)
      if (c < alloc[l]) counts.push_back(c);
    counts.push_back(alloc[l]);
    const cr::CapacityFn inter = [&](int n) { return interleaved_capacity(n, held, S); };
    const cr::Replay rp = layer_replay(in, use, l);
    auto rungs = cr::ladder(rp, counts, in.topo, inter, S, dropped);
    auto& lp = plan.placement.layers[l];
    lp = std::move(rungs.back().placement);
    lp.predicted_rank_load = placement::rank_loads(lp, rp.aggregate, R);
    used[l] = cr::extra_replicas(lp);
    const std::vector<int> su = lp.slots_used(R);
    for (int r = 0; r < R; ++r) held[r] += su[r];
  }
  plan.policy.kind = placement::policy_option(in.options);
  std::string table;
  for (int l = 0; l < L; ++l)
    for (size_t c = 0; c < cand.size(); ++c) {
      char buf[32];
      std::snprintf(buf, sizeof buf, "%s%.4f", c ? "," : (l ? ";" : ""), lad[l][c].score.balancedness);
      table += buf;
    }
  plan.notes.push_back({"candidates", join_ints(cand)});
  plan.notes.push_back({"replay_balancedness", table});
  plan.notes.push_back({"replica_budget", std::to_string(budget)});
  plan.notes.push_back(
      {"replicas_used", std::to_string(std::accumulate(used.begin(), used.end(), int64_t{0}))});
  plan.notes.push_back({"replicas_per_layer", join_ints(used)});
  plan.notes.push_back({"expert_slots_per_rank_max",
                        std::to_string(*std::max_element(held.begin(), held.end()))});
  plan.notes.push_back({"expert_slots_per_rank_min",
                        std::to_string(*std::min_element(held.begin(), held.end()))});
  if (dropped > 0) plan.notes.push_back({"replicas_dropped_no_slot", std::to_string(dropped)});
  return plan;
}

// Multiple-choice knapsack: one candidate per layer, minimize the sum over layers of the
// replayed max rank load (the layer's predicted compute time) with sum r <= budget. DP in units
// of the candidates' gcd; ties keep the fewer replicas.
std::vector<int> Craft::knapsack(const std::vector<std::vector<cr::Rung>>& lad,
                                 const std::vector<int>& cand, int64_t budget) {
  const int L = static_cast<int>(lad.size()), C = static_cast<int>(cand.size());
  int g = 0;
  for (int r : cand) g = std::gcd(g, r);
  if (g == 0 || L == 0) return std::vector<int>(L, 0);
  const int64_t B = std::min<int64_t>(budget / g, int64_t{L} * (cand.back() / g));
  std::vector<double> best(B + 1, 0.0), next(B + 1);
  std::vector<std::vector<uint8_t>> choice(L, std::vector<uint8_t>(B + 1, 0));
  for (int l = 0; l < L; ++l) {
    for (int64_t b = 0; b <= B; ++b) {
      next[b] = best[b] + lad[l][0].score.max_load;
      for (int c = 1; c < C; ++c) {
        const int64_t cost = cand[c] / g;
        if (cost > b) break;
        const double v = best[b - cost] + lad[l][c].score.max_load;
        if (v < next[b] - 1e-9 * std::max(1.0, std::abs(next[b]))) {
          next[b] = v;
          choice[l][b] = static_cast<uint8_t>(c);
        }
      }
    }
    std::swap(best, next);
  }
  std::vector<int> pick(L, 0);
  int64_t b = B;
  for (int l = L - 1; l >= 0; --l) {
    pick[l] = choice[l][b];
    b -= cand[pick[l]] / g;
  }
  return pick;
}

// The released code's rule (craft_core.py): benefit(r) = (bal(r) - bal(0)) / r; per layer,
// walking candidates upward, take r while its benefit >= half the mean benefit (or it improves
// on the best so far) among the first three candidates (the released "r <= 16"), and always
// when benefit >= the mean. Ours: then step the lowest-benefit layers down until the budget
// holds.
std::vector<int> Craft::threshold(const std::vector<std::vector<cr::Rung>>& lad,
                                  const std::vector<int>& cand, int64_t budget) {
  const int L = static_cast<int>(lad.size()), C = static_cast<int>(cand.size());
  auto benefit = [&](int l, int c) {
    return (lad[l][c].score.balancedness - lad[l][0].score.balancedness) / cand[c];
  };
  double mean = 0;
  if (C > 1 && L > 0) {
    for (int l = 0; l < L; ++l)
      for (int c = 1; c < C; ++c) mean += benefit(l, c);
    mean /= static_cast<double>(L) * (C - 1);
  }
  const int low_cut = std::min(C - 1, 3);
  std::vector<int> pick(L, 0);
  for (int l = 0; l < L; ++l) {
    double max_benefit = 0;
    bool high = false;
    for (int c = 1; c < C; ++c) {
      const double b = benefit(l, c);
      if (!high && c <= low_cut) {
        if (b >= mean / 2.0) {
          pick[l] = c;
        } else if (b > max_benefit) {
          max_benefit = b;
          pick[l] = c;
        }
      }
      if (b >= mean) {
        pick[l] = c;
        high = true;
      }
    }
  }
  int64_t total = 0;
  for (int l = 0; l < L; ++l) total += cand[pick[l]];
  while (total > budget) {
    int worst = -1;
    for (int l = 0; l < L; ++l)
      if (pick[l] > 0 && (worst < 0 || benefit(l, pick[l]) < benefit(worst, pick[worst]))) worst = l;
    if (worst < 0) break;
    total -= cand[pick[worst]] - cand[pick[worst] - 1];
    --pick[worst];
  }
  return pick;
}

}  // namespace

std::unique_ptr<PlacementStrategy> make_craft() { return std::make_unique<Craft>(); }

}  // namespace moeb
