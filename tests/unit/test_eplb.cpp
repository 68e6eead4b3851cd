// EPLB against the published golden example (deepseek-ai/EPLB README, MIT) and its invariants.
#include <gtest/gtest.h>

#include <vector>

#include "placement/eplb_core.hpp"
#include "placement_test_util.hpp"

namespace moeb {
namespace {

TEST(Eplb, MatchesPublishedGoldenPlacement) {
  const std::vector<std::vector<float>> weight = {
      {90, 132, 40, 61, 104, 165, 39, 4, 73, 56, 183, 86},
      {20, 107, 104, 64, 19, 197, 187, 157, 172, 86, 16, 27}};
  const std::vector<std::vector<int>> phy2log = {
      {5, 6, 5, 7, 8, 4, 3, 4, 10, 9, 10, 2, 0, 1, 11, 1},
      {7, 10, 6, 8, 6, 11, 8, 9, 2, 4, 5, 1, 5, 0, 3, 1}};
  const std::vector<std::vector<int>> logcnt = {{1, 2, 1, 1, 2, 2, 1, 1, 1, 1, 2, 1},
                                                {1, 2, 1, 1, 1, 2, 2, 1, 2, 1, 1, 1}};
  for (int l = 0; l < 2; ++l) {
    const auto r = eplb::rebalance_experts(weight[l], 16, 4, 2, 8);
    EXPECT_TRUE(r.hierarchical);
    EXPECT_EQ(r.phy2log, phy2log[l]) << "layer " << l;
    EXPECT_EQ(r.logcnt, logcnt[l]) << "layer " << l;
  }
}

TEST(Eplb, StrategyPutsTheGoldenPhysicalExpertsOnTheirRanks) {
  // The same example through the strategy interface: 2 nodes x 4 ranks, 2 slots per rank
  // (16 physical experts), 4 expert groups; physical slot p lives on rank p / 2.
  const std::vector<std::vector<double>> weight = {
      {90, 132, 40, 61, 104, 165, 39, 4, 73, 56, 183, 86},
      {20, 107, 104, 64, 19, 197, 187, 157, 172, 86, 16, 27}};
  const std::vector<std::vector<int>> phy2log = {
      {5, 6, 5, 7, 8, 4, 3, 4, 10, 9, 10, 2, 0, 1, 11, 1},
      {7, 10, 6, 8, 6, 11, 8, 9, 2, 4, 5, 1, 5, 0, 3, 1}};
  ModelSpec m = test::small_model(12, 2, 2);
  m.num_expert_groups = 4;
  RoutingStats st(2, 12, {"default"});
  for (int l = 0; l < 2; ++l)
    for (int e = 0; e < 12; ++e) st.add_load(l, e, weight[l][e]);
  const auto plan = test::place(find_strategy("eplb", "test"), m, Topology::uniform(2, 4), st, 2);
  ASSERT_EQ(check_placement(plan.placement, 12, 2), "");
  for (int l = 0; l < 2; ++l)
    for (int e = 0; e < 12; ++e) {
      std::vector<int> expect;
      for (int p = 0; p < 16; ++p)
        if (phy2log[l][p] == e) expect.push_back(p / 2);
      auto got = plan.placement.layers[l].replicas[e];
      std::sort(got.begin(), got.end());
      EXPECT_EQ(got, expect) << "layer " << l << " expert " << e;
    }
  EXPECT_EQ(plan.policy.kind, ReplicaPolicyKind::kUniform);
  // `auto` picked the hierarchical policy (4 groups over 2 nodes) and says so.
  std::string policy, reason;
  for (const auto& [k, v] : plan.notes) {
    if (k == "eplb_policy") policy = v;
    if (k == "eplb_policy_reason") reason = v;
  }
  EXPECT_EQ(policy, "hierarchical");
  EXPECT_NE(reason.find("auto picked hierarchical"), std::string::npos) << reason;
}

TEST(Eplb, ReplicateFillsSlotsByHighestLoadPerReplica) {
  const std::vector<float> w = {10, 1, 4};
  const auto r = eplb::replicate_experts(w, 6);
  // 10/1 -> 10/2=5 -> 5 vs 4 -> 10/3=3.33 vs 4 -> expert 2.
  EXPECT_EQ(r.logcnt, (std::vector<int>{3, 1, 2}));
  EXPECT_EQ(r.phy2log, (std::vector<int>{0, 1, 2, 0, 0, 2}));
  EXPECT_EQ(r.rank, (std::vector<int>{0, 0, 0, 1, 2, 1}));
}

TEST(Eplb, BalancedPackingGivesEveryPackExactlyItsShare) {
  const std::vector<float> w = {9, 8, 7, 6, 5, 4, 3, 2, 1};
  const auto p = eplb::balanced_packing(w, 3);
  std::vector<int> items(3, 0);
  std::vector<float> load(3, 0);
  for (int i = 0; i < 9; ++i) {
    ++items[p.pack_index[i]];
    load[p.pack_index[i]] += w[i];
  }
  EXPECT_EQ(items, (std::vector<int>{3, 3, 3}));
  // Greedy, heaviest first into the lightest pack with room: {9,4,3}, {8,5,2}, {7,6,1}.
  EXPECT_EQ(load, (std::vector<float>{16, 15, 14}));
}

TEST(Eplb, GlobalPolicyWhenGroupsDoNotDivideNodes) {
  const std::vector<float> w = {5, 1, 1, 1, 1, 1};
  const auto r = eplb::rebalance_experts(w, 8, 3, 2, 4);
  EXPECT_FALSE(r.hierarchical);
  EXPECT_EQ(r.logcnt[0], 3);
}

}  // namespace
}  // namespace moeb
