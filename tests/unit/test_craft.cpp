// craft: replica counts follow replayed balancedness gains, within the replica budget.
#include <gtest/gtest.h>

#include "core/error.hpp"
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
                                  {{"allocator", alloc}, {"budget_fraction", fraction}});
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

}  // namespace
}  // namespace moeb
