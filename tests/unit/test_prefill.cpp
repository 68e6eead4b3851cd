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

std::string note(const PlacementPlan& p, const std::string& key) {
  for (const auto& [k, v] : p.notes)
    if (k == key) return v;
  return "";
}

// The three variants: remap has no copies; dup keeps the contiguous primaries and adds copies;
// remap_dup keeps remap's primaries and adds copies. Each lowers the max rank load.
TEST(Prefill, VariantsDifferAsSpecified) {
  const ModelSpec m = test::small_model(32, 4, 1);
  const Topology topo = Topology::uniform(2, 4);
  const auto calib = test::stats_of(skewed_trace(4096, 1, true), 512);
  const auto& s = find_strategy("prefill", "test");
  const auto remap = test::place(s, m, topo, calib, 6, 7, {{"mode", std::string("remap")}});
  const auto dup = test::place(s, m, topo, calib, 6, 7, {{"mode", std::string("dup")}});
  const auto both = test::place(s, m, topo, calib, 6, 7, {{"mode", std::string("remap_dup")}});
  const auto base = test::place(find_strategy("baseline", "test"), m, topo, calib, 4);
  for (const auto* p : {&remap, &dup, &both}) ASSERT_EQ(check_placement(p->placement, 32, 6), "");
  EXPECT_EQ(remap.placement.max_replicas(), 1);
  EXPECT_EQ(note(remap, "dup_copies"), "0");
  EXPECT_GT(dup.placement.max_replicas(), 1);
  EXPECT_GT(both.placement.max_replicas(), 1);
  for (int e = 0; e < 32; ++e) {
    EXPECT_EQ(dup.placement.layers[0].replicas[e][0], base.placement.layers[0].replicas[e][0]);
    EXPECT_EQ(both.placement.layers[0].replicas[e][0], remap.placement.layers[0].replicas[e][0]);
  }
  const RoutingTrace eval = skewed_trace(4096, 2, false);
  const int64_t b = max_rank_rows(eval, base, topo);
  EXPECT_LT(max_rank_rows(eval, remap, topo), b);
  EXPECT_LT(max_rank_rows(eval, dup, topo), b);
  EXPECT_LT(max_rank_rows(eval, both, topo), b);
  EXPECT_EQ(note(dup, "mode"), "dup");
}

// dup_slots_used reports the extra slots a rank actually took, not the allowance: on flat loads
// no copy lowers the maximum, so none is used although three are allowed.
TEST(Prefill, DupSlotsUsedIsWhatWasUsed) {
  const ModelSpec m = test::small_model(8, 1, 1);
  const Topology topo = Topology::uniform(1, 8);
  const auto flat = test::make_trace(1, 8, 1, 800, 1, [](int, int64_t t, Rng&, std::vector<int32_t>& ids) {
    ids[0] = static_cast<int>(t % 8);
  }, [](int64_t, TokenMeta& mt) { mt.phase = Phase::kPrefill; });
  const auto plan = test::place(find_strategy("prefill", "test"), m, topo, test::stats_of(flat, 100), 4,
                                7, {{"dup_slots", int64_t{3}}});
  EXPECT_EQ(note(plan, "dup_slots_allowed"), "3");
  EXPECT_EQ(note(plan, "dup_slots_used"), "0");
  EXPECT_EQ(plan.placement.max_replicas(), 1);
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
