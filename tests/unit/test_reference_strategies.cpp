// The reference strategies: megablocks (contiguous, no dedup, through the plan's override),
// coact_uniform (lossless grouping, uniform sizes) and c2r_group (C2R's placement without its
// routing change).
#include <gtest/gtest.h>

#include "core/evaluator.hpp"
#include "placement_test_util.hpp"

namespace moeb {
namespace {

RoutingStats zipf_stats() {
  return test::stats_of(test::make_trace(1, 16, 4, 2048, 1, test::zipf_picker(16, 1.0)), 256);
}

TEST(ReferenceStrategies, OnlyMegablocksOverridesDedup) {
  const ModelSpec m = test::small_model(16, 4, 1);
  const Topology topo = Topology::uniform(2, 2);
  const auto st = zipf_stats();
  for (const auto& name : strategy_names()) {
    const auto plan = test::place(find_strategy(name, "test"), m, topo, st, 6);
    if (name == "megablocks") {
      ASSERT_TRUE(plan.dedup.has_value());
      EXPECT_FALSE(plan_dedup(plan, true));
    } else {
      EXPECT_FALSE(plan.dedup.has_value()) << name;
      EXPECT_TRUE(plan_dedup(plan, true)) << name;
    }
  }
}

// Same layout as baseline; without dedup a token with two experts on one remote rank sends two
// copies, so megablocks moves more bytes than baseline on the same batch.
TEST(ReferenceStrategies, MegablocksIsBaselineWithoutDedup) {
  const ModelSpec m = test::small_model(16, 4, 1);
  const Topology topo = Topology::uniform(2, 2);
  const auto st = zipf_stats();
  const auto mb = test::place(find_strategy("megablocks", "test"), m, topo, st, 4);
  const auto base = test::place(find_strategy("baseline", "test"), m, topo, st, 4);
  EXPECT_EQ(mb.placement.layers[0].replicas, base.placement.layers[0].replicas);
  const auto batch = test::make_trace(1, 16, 4, 1024, 2, test::zipf_picker(16, 1.0));
  auto bytes = [&](const PlacementPlan& p) {
    TrafficOptions o{plan_dedup(p, true), 16, 16};
    return evaluate_layer(batch, 0, p.placement.layers[0], p.policy.kind, topo, o, {1, 0, 0})
        .total_bytes();
  };
  EXPECT_GT(bytes(mb), bytes(base));
}

TEST(ReferenceStrategies, C2rGroupIsC2rsPlacementWithoutTheTransform) {
  const ModelSpec m = test::small_model(16, 4, 1);
  const Topology topo = Topology::uniform(2, 2);
  const auto st = zipf_stats();
  const auto c2r = test::place(find_strategy("c2r", "test"), m, topo, st, 4);
  const auto grp = test::place(find_strategy("c2r_group", "test"), m, topo, st, 4);
  EXPECT_NE(c2r.transform, nullptr);
  EXPECT_EQ(grp.transform, nullptr);
  EXPECT_EQ(grp.placement.layers[0].replicas, c2r.placement.layers[0].replicas);
}

TEST(ReferenceStrategies, CoactUniformIsLosslessWithUniformSizes) {
  const ModelSpec m = test::small_model(16, 4, 1);
  const Topology topo = Topology::uniform(2, 2);
  const auto plan = test::place(find_strategy("coact_uniform", "test"), m, topo, zipf_stats(), 6);
  EXPECT_EQ(plan.transform, nullptr);
  EXPECT_EQ(plan.placement.max_replicas(), 1);
  for (int used : plan.placement.layers[0].slots_used(4)) EXPECT_EQ(used, 4);
}

}  // namespace
}  // namespace moeb
