// prefill: Remap + Dup from prefill statistics lower the maximum rank load against baseline.
#include <gtest/gtest.h>

#include "core/evaluator.hpp"
#include "placement_test_util.hpp"

namespace moeb {
namespace {

// Zipf(1.2) over contiguous ids, so contiguous placement stacks the hot experts on rank 0.
// The first half of the tokens are prefill; decode tokens follow the same distribution.
RoutingTrace skewed_trace(int64_t tokens, uint64_t seed, bool with_prefill) {
  return test::make_trace(
      1, 32, 4, tokens, seed,
      [](int, int64_t, Rng& rng, std::vector<int32_t>& ids) {
        std::vector<int> pool(32);
        std::vector<double> w(32);
        for (int e = 0; e < 32; ++e) {
          pool[e] = e;
          w[e] = 1.0 / std::pow(e + 1.0, 1.2);
        }
        test::draw_distinct(pool, w, rng, ids);
      },
      [&](int64_t t, TokenMeta& m) {
        m.phase = with_prefill && t < tokens / 2 ? Phase::kPrefill : Phase::kDecode;
      });
}

int64_t max_rank_rows(const RoutingTrace& batch, const PlacementPlan& plan, const Topology& topo) {
  const auto lt = evaluate_layer(batch, 0, plan.placement.layers[0], plan.policy.kind, topo,
                                 {true, 16, 16}, {5, 0, 0});
  return *std::max_element(lt.rows_computed.begin(), lt.rows_computed.end());
}

TEST(Prefill, LowersMaxRankLoadAgainstBaseline) {
  const ModelSpec m = test::small_model(32, 4, 1);
  const Topology topo = Topology::uniform(2, 4);
  const auto calib = test::stats_of(skewed_trace(4096, 1, true), 512);
  ASSERT_GT(calib.prefill_tokens(), 0);
  const auto plan = test::place(find_strategy("prefill", "test"), m, topo, calib, 5);
  const auto base = test::place(find_strategy("baseline", "test"), m, topo, calib, 4);
  ASSERT_EQ(check_placement(plan.placement, 32, 5), "");
  EXPECT_GT(plan.placement.max_replicas(), 1) << "Dup uses the spare slot";
  const RoutingTrace eval = skewed_trace(4096, 2, false);
  const int64_t p = max_rank_rows(eval, plan, topo), b = max_rank_rows(eval, base, topo);
  EXPECT_LT(p, b) << "prefill " << p << " vs baseline " << b;
  RecordProperty("max_rank_rows_prefill", std::to_string(p));
  RecordProperty("max_rank_rows_baseline", std::to_string(b));
  // Remap alone (no spare slot) already lowers it.
  const auto remap = test::place(find_strategy("prefill", "test"), m, topo, calib, 4);
  EXPECT_EQ(remap.placement.max_replicas(), 1);
  EXPECT_LT(max_rank_rows(eval, remap, topo), b);
}

TEST(Prefill, FallsBackToAllTokensWithoutPrefillAndSaysSo) {
  const ModelSpec m = test::small_model(32, 4, 1);
  const auto calib = test::stats_of(skewed_trace(2048, 3, false), 512);
  ASSERT_EQ(calib.prefill_tokens(), 0);
  const auto plan = test::place(find_strategy("prefill", "test"), m, Topology::uniform(2, 4), calib, 4);
  bool noted = false;
  for (const auto& [k, v] : plan.notes)
    if (k == "statistics" && v.find("all tokens") != std::string::npos) noted = true;
  EXPECT_TRUE(noted);
}

}  // namespace
}  // namespace moeb
