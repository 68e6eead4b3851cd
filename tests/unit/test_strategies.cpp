// Invariants every registered strategy must meet, run over the registry so a new strategy is
// tested the day it is added.
#include <gtest/gtest.h>

#include "core/evaluator.hpp"
#include "core/placement.hpp"
#include "placement_test_util.hpp"

namespace moeb {
namespace {

class EveryStrategy : public ::testing::TestWithParam<std::string> {
 protected:
  const PlacementStrategy& strategy() const { return find_strategy(GetParam(), "test"); }

  // Places (or asserts a skip reason) and checks the structural invariants.
  void check_runs(const ModelSpec& m, const Topology& topo, int slots, const RoutingStats& st) {
    const auto& s = strategy();
    const Options opt = test::resolve(s);
    if (auto reason = s.constraints(m, topo, slots, opt)) {
      EXPECT_FALSE(reason->empty()) << "a skip must say why";
      GTEST_SKIP() << GetParam() << " skipped: " << *reason;
    }
    const PlacementPlan plan = test::place(s, m, topo, st, slots);
    ASSERT_EQ(plan.placement.num_ranks, topo.num_ranks());
    ASSERT_EQ(plan.placement.num_layers(), m.num_layers);
    EXPECT_EQ(check_placement(plan.placement, m.num_experts, slots), "");
    for (const auto& lp : plan.placement.layers) {
      if (!lp.predicted_rank_load.empty()) {
        EXPECT_EQ(static_cast<int>(lp.predicted_rank_load.size()), topo.num_ranks());
      }
      for (const auto& w : lp.replica_weights)
        for (double x : w) EXPECT_TRUE(std::isfinite(x) && x > 0) << "replica weight " << x;
    }
  }
};

TEST_P(EveryStrategy, SixtyExpertsOnEightRanks) {
  const ModelSpec m = test::small_model(60, 4, 2);
  const auto tr = test::make_trace(2, 60, 4, 2048, 1, test::zipf_picker(60, 1.0));
  const auto st = test::stats_of(tr, 256);
  check_runs(m, Topology::uniform(2, 4), 8, st);
}

TEST_P(EveryStrategy, SixtyExpertsOnEightRanksWithSpareSlots) {
  const ModelSpec m = test::small_model(60, 4, 2);
  const auto tr = test::make_trace(2, 60, 4, 2048, 2, test::zipf_picker(60, 1.2));
  const auto st = test::stats_of(tr, 256);
  check_runs(m, Topology::uniform(2, 4), 11, st);
}

TEST_P(EveryStrategy, FewerExpertsThanRanks) {
  const ModelSpec m = test::small_model(8, 2, 2);
  const auto tr = test::make_trace(2, 8, 2, 1024, 3, test::zipf_picker(8, 1.0));
  check_runs(m, Topology::uniform(4, 4), 1, test::stats_of(tr, 256));
}

TEST_P(EveryStrategy, FewerExpertsThanRanksWithSpareSlots) {
  const ModelSpec m = test::small_model(8, 2, 2);
  const auto tr = test::make_trace(2, 8, 2, 1024, 4, test::zipf_picker(8, 1.0));
  check_runs(m, Topology::uniform(4, 4), 2, test::stats_of(tr, 256));
}

TEST_P(EveryStrategy, UnevenNodes) {
  // Three ranks on node 0, two on node 1, interleaved rank ids.
  const ModelSpec m = test::small_model(16, 2, 2);
  const auto tr = test::make_trace(2, 16, 2, 1024, 9, test::zipf_picker(16, 1.0));
  check_runs(m, Topology::from_node_map({0, 1, 0, 1, 0}), 5, test::stats_of(tr, 256));
}

TEST_P(EveryStrategy, OneRank) {
  const ModelSpec m = test::small_model(8, 2, 2);
  const auto tr = test::make_trace(2, 8, 2, 512, 5, test::zipf_picker(8, 1.0));
  check_runs(m, Topology::uniform(1, 1), 8, test::stats_of(tr, 128));
}

TEST_P(EveryStrategy, StatisticsOnlyInput) {
  // Co-activation counts without any per-token trace, as a CSV import gives.
  const ModelSpec m = test::small_model(16, 2, 2);
  RoutingStats st(2, 16, {"default"});
  for (int l = 0; l < 2; ++l)
    for (int i = 0; i < 16; ++i)
      for (int j = i + 1; j < 16; ++j) st.add_coactivation(l, i, j, (i * 31 + j * 17 + l) % 11);
  ASSERT_TRUE(st.statistics_only());
  check_runs(m, Topology::uniform(2, 2), 6, st);
}

TEST_P(EveryStrategy, BudgetBelowOneCopyPerExpertIsRefusedWithReason) {
  const auto& s = strategy();
  const ModelSpec m = test::small_model(60, 4, 1);
  const auto reason = s.constraints(m, Topology::uniform(2, 4), 7, test::resolve(s));
  ASSERT_TRUE(reason.has_value());
  EXPECT_NE(reason->find("slots"), std::string::npos) << *reason;
}

TEST_P(EveryStrategy, SameSeedGivesIdenticalPlacement) {
  const ModelSpec m = test::small_model(32, 4, 2);
  const auto tr = test::make_trace(2, 32, 4, 1024, 6, test::zipf_picker(32, 1.1));
  const auto st = test::stats_of(tr, 256);
  const Topology topo = Topology::uniform(2, 2);
  const auto& s = strategy();
  if (s.constraints(m, topo, 10, test::resolve(s))) GTEST_SKIP();
  const auto a = test::place(s, m, topo, st, 10, 99);
  const auto b = test::place(s, m, topo, st, 10, 99);
  ASSERT_EQ(a.placement.num_layers(), b.placement.num_layers());
  for (int l = 0; l < a.placement.num_layers(); ++l) {
    EXPECT_EQ(a.placement.layers[l].replicas, b.placement.layers[l].replicas);
    EXPECT_EQ(a.placement.layers[l].replica_weights, b.placement.layers[l].replica_weights);
  }
  EXPECT_EQ(a.policy.kind, b.policy.kind);
  EXPECT_EQ(a.notes, b.notes);
  ASSERT_EQ(a.transform == nullptr, b.transform == nullptr);
  if (a.transform) {
    RoutingTrace x = tr.slice(0, 200), y = tr.slice(0, 200);
    for (int l = 0; l < 2; ++l) {
      a.transform->apply(l, x);
      b.transform->apply(l, y);
      for (int64_t t = 0; t < 200; ++t) {
        auto ex = x.experts(l, t), ey = y.experts(l, t);
        EXPECT_TRUE(std::equal(ex.begin(), ex.end(), ey.begin()));
      }
    }
  }
}

TEST_P(EveryStrategy, EvaluatorRoutesEveryChoiceUnderItsPolicy) {
  const ModelSpec m = test::small_model(32, 4, 2);
  const auto tr = test::make_trace(2, 32, 4, 1024, 8, test::zipf_picker(32, 1.1));
  const auto st = test::stats_of(tr, 256);
  const Topology topo = Topology::uniform(2, 2);
  const auto& s = strategy();
  const auto plan = test::place(s, m, topo, st, 10);
  RoutingTrace batch = tr.slice(512, 1024);
  if (plan.transform)
    for (int l = 0; l < 2; ++l) plan.transform->apply(l, batch);
  batch.validate("transformed batch");
  for (int l = 0; l < 2; ++l) {
    const auto lt = evaluate_layer(batch, l, plan.placement.layers[l], plan.policy.kind, topo,
                                   {true, 16, 16}, {1, l, 0});
    int64_t rows = 0;
    for (int64_t x : lt.rows_computed) rows += x;
    EXPECT_EQ(rows, batch.num_tokens() * 4);
  }
}

TEST_P(EveryStrategy, SpecDescribesEveryOption) {
  const auto spec = strategy().spec();
  EXPECT_FALSE(spec.description.empty());
  EXPECT_FALSE(spec.source.empty());
  for (const auto& o : spec.options) EXPECT_FALSE(o.description.empty()) << o.name;
  EXPECT_NO_THROW(test::resolve(strategy()));
}

INSTANTIATE_TEST_SUITE_P(Registry, EveryStrategy, ::testing::ValuesIn(strategy_names()),
                         [](const auto& p) { return p.param; });

}  // namespace
}  // namespace moeb
