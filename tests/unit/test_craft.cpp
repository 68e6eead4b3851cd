// craft: replica counts follow replayed balancedness gains, within the replica budget.
#include <gtest/gtest.h>

#include "core/error.hpp"
#include "core/metrics.hpp"
#include "placement/craft_core.hpp"
#include "placement/partition.hpp"
#include "placement_test_util.hpp"

namespace moeb {
namespace {

// Layer 0 strongly skewed (Zipf 1.6 over contiguous ids), layer 1 flat.
RoutingTrace skewed_and_flat(int64_t tokens, uint64_t seed) {
  return test::make_trace(2, 16, 2, tokens, seed, [](int layer, int64_t, Rng& rng, std::vector<int32_t>& ids) {
    std::vector<int> pool(16);
    std::vector<double> w(16);
    for (int e = 0; e < 16; ++e) {
      pool[e] = e;
      w[e] = layer == 0 ? 1.0 / std::pow(e + 1.0, 1.6) : 1.0;
    }
    test::draw_distinct(pool, w, rng, ids);
  });
}

int extra_replicas(const LayerPlacement& lp) {
  int n = 0;
  for (const auto& r : lp.replicas) n += static_cast<int>(r.size()) - 1;
  return n;
}

TEST(Craft, SkewedLayerGetsMoreReplicasThanFlatLayerWithinBudget) {
  const ModelSpec m = test::small_model(16, 2, 2);
  const Topology topo = Topology::uniform(2, 2);
  const auto st = test::stats_of(skewed_and_flat(8192, 1), 512);
  // 16 spare slots per layer; a budget of 2 replicas for both layers together. One replica
  // pair fixes most of the skewed layer's imbalance (replay balancedness ~0.60 -> ~0.96), while
  // the flat layer gains under 0.01, so both allocators must spend the budget on the skew.
  const int slots = 8;
  const double fraction = 2.0 / (2 * (4 * slots - 16));
  const int budget = 2;
  for (const std::string alloc : {"knapsack", "threshold"}) {
    SCOPED_TRACE(alloc);
    const auto plan = test::place(find_strategy("craft", "test"), m, topo, st, slots, 7,
                                  {{"allocator", alloc},
                                   {"budget_fraction", fraction},
                                   {"candidate_multiples", std::string("0.5,1,2,4")}});
    ASSERT_EQ(check_placement(plan.placement, 16, slots), "");
    const int skewed = extra_replicas(plan.placement.layers[0]);
    const int flat = extra_replicas(plan.placement.layers[1]);
    EXPECT_GT(skewed, flat);
    EXPECT_LE(skewed + flat, budget);
  }
}

TEST(Craft, NeverExceedsBudgetAcrossBudgets) {
  const ModelSpec m = test::small_model(16, 2, 2);
  const Topology topo = Topology::uniform(2, 2);
  const auto st = test::stats_of(skewed_and_flat(4096, 2), 512);
  for (double frac : {0.0, 0.1, 0.5, 1.0})
    for (const std::string alloc : {"knapsack", "threshold"}) {
      const auto plan = test::place(find_strategy("craft", "test"), m, topo, st, 6, 7,
                                    {{"allocator", alloc}, {"budget_fraction", frac}});
      ASSERT_EQ(check_placement(plan.placement, 16, 6), "");
      const int used = extra_replicas(plan.placement.layers[0]) + extra_replicas(plan.placement.layers[1]);
      EXPECT_LE(used, static_cast<int>(frac * 2 * (4 * 6 - 16))) << alloc << " " << frac;
    }
}

TEST(Craft, BadCandidateListIsAConfigError) {
  const auto& s = find_strategy("craft", "test");
  const auto opt = test::resolve(s, {{"candidate_multiples", std::string("1,x")}});
  EXPECT_THROW(s.constraints(test::small_model(16, 2, 1), Topology::uniform(1, 4), 8, opt),
               ConfigError);
}

std::string note(const PlacementPlan& p, const std::string& key) {
  for (const auto& [k, v] : p.notes)
    if (k == key) return v;
  return "";
}

// Per-batch loads of layer 0 of a stats object, as the replay consumes them.
placement::craft::Replay replay_of(const RoutingStats& st, int layer) {
  placement::craft::Replay rp;
  rp.aggregate = st.layer(layer).load;
  for (const auto& b : st.batch_loads()) rp.batches.push_back(&b[layer]);
  return rp;
}

// More replicas never score worse than fewer on the calibration data, for every count from 0
// to all spare slots, on a skewed layer where a fresh EPLB pack is not monotone by itself.
TEST(Craft, LadderIsMonotoneInReplicas) {
  const Topology topo = Topology::uniform(2, 4);
  const auto tr = test::make_trace(1, 32, 4, 6000, 3, test::zipf_picker(32, 1.2));
  const auto st = test::stats_of(tr, 200);
  const int slots = 12;  // 8 x 12 - 32 = 64 spare
  std::vector<int> counts(65);
  std::iota(counts.begin(), counts.end(), 0);
  int dropped = 0;
  const auto even = [&](int n) { return placement::even_capacity(n, 8, slots); };
  const auto rungs = placement::craft::ladder(replay_of(st, 0), counts, topo, even, slots, dropped);
  ASSERT_EQ(rungs.size(), counts.size());
  int fresh_worse = 0;
  for (size_t c = 1; c < rungs.size(); ++c) {
    EXPECT_GE(rungs[c].score.balancedness, rungs[c - 1].score.balancedness) << c;
    EXPECT_LE(rungs[c].score.max_load, rungs[c - 1].score.max_load) << c;
    EXPECT_LE(rungs[c].used, counts[c]);
    EXPECT_EQ(check_placement(Placement{8, {rungs[c].placement}}, 32, slots), "");
    // The plain pack on its own (what the ladder guards against).
    int d = 0;
    const auto fresh = placement::craft::eplb_pack(st.layer(0).load, counts[c], topo,
                                                   even(32 + counts[c]), slots, d);
    const auto prev = placement::craft::eplb_pack(st.layer(0).load, counts[c - 1], topo,
                                                  even(32 + counts[c - 1]), slots, d);
    if (placement::craft::score(fresh, replay_of(st, 0), 8).max_load >
        placement::craft::score(prev, replay_of(st, 0), 8).max_load + 1e-9)
      ++fresh_worse;
  }
  // The planted data must exercise the guard: some fresh packs score worse than fewer replicas.
  EXPECT_GT(fresh_worse, 0);
}

// Defaults follow the released code: candidates {0, 4, 8, 16, 32}, threshold allocator, total
// padded to a multiple of R; the notes carry replica counts and expert slots per rank.
TEST(Craft, ReleasedDefaultsAndNotes) {
  const ModelSpec m = test::small_model(32, 4, 3);
  const Topology topo = Topology::uniform(2, 4);
  const auto st = test::stats_of(test::make_trace(3, 32, 4, 4096, 5, test::zipf_picker(32, 1.4)), 256);
  const auto plan = test::place(find_strategy("craft", "test"), m, topo, st, 12);
  ASSERT_EQ(check_placement(plan.placement, 32, 12), "");
  EXPECT_EQ(note(plan, "candidates"), "0,4,8,16,32");
  int total = 0, max_held = 0, min_held = 1 << 30;
  std::vector<int> held(8, 0);
  for (const auto& lp : plan.placement.layers) {
    total += placement::craft::extra_replicas(lp);
    const auto su = lp.slots_used(8);
    for (int r = 0; r < 8; ++r) held[r] += su[r];
  }
  for (int h : held) {
    max_held = std::max(max_held, h);
    min_held = std::min(min_held, h);
  }
  EXPECT_EQ(total % 8, 0);
  EXPECT_GT(total, 0);
  EXPECT_EQ(note(plan, "replicas_used"), std::to_string(total));
  EXPECT_EQ(note(plan, "expert_slots_per_rank_max"), std::to_string(max_held));
  EXPECT_EQ(note(plan, "expert_slots_per_rank_min"), std::to_string(min_held));
  EXPECT_LE(max_held - min_held, 1);  // interleaved over layers
}

// Fractional multiples of R are accepted (the released set on 64 ranks is 1/16 .. 1/2 of R).
TEST(Craft, FractionalMultiples) {
  const ModelSpec m = test::small_model(32, 4, 2);
  const Topology topo = Topology::uniform(2, 4);
  const auto st = test::stats_of(test::make_trace(2, 32, 4, 2048, 5, test::zipf_picker(32, 1.4)), 256);
  const auto plan = test::place(find_strategy("craft", "test"), m, topo, st, 12, 7,
                                {{"candidate_multiples", std::string("0.25,0.5,2")}});
  EXPECT_EQ(note(plan, "candidates"), "0,2,4,16");
}

// The knapsack minimizes the sum of layer times (max rank load): with a budget for one
// layer's replicas it spends it on the layer whose max load falls most, not on the
// flat one (which gains almost nothing).
TEST(Craft, KnapsackSpendsOnTheSlowestLayer) {
  const ModelSpec m = test::small_model(16, 2, 2);
  const Topology topo = Topology::uniform(2, 2);
  const auto st = test::stats_of(skewed_and_flat(8192, 1), 512);
  const auto plan = test::place(find_strategy("craft", "test"), m, topo, st, 8, 7,
                                {{"allocator", std::string("knapsack")},
                                 {"candidates", std::string("4")},
                                 {"round_to_ranks", false},
                                 {"budget_fraction", 4.0 / 32}});
  EXPECT_EQ(note(plan, "replicas_per_layer"), "4,0");
}

}  // namespace
}  // namespace moeb
