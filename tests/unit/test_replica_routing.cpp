// Replica routing policies (core/routing.cpp) against STRATEGIES.md: primary, uniform (SGLang
// dynamic), locality (SGLang static), GRACE TAR + WRR, TACG locality + least predicted load.
#include <gtest/gtest.h>

#include <map>
#include <vector>

#include "core/routing.hpp"

namespace moeb {
namespace {

// 2 nodes x 2 ranks; 4000 tokens, top-1, all routed to expert 0; rank r owns [1000 r, 1000 r + 1000).
constexpr int kTokens = 4000;

std::vector<int32_t> route(const LayerPlacement& lp, ReplicaPolicyKind k, uint64_t seed = 1) {
  const Topology topo = Topology::uniform(2, 2);
  std::vector<int32_t> experts(kTokens, 0), dest(kTokens, -1);
  route_layer(lp, k, topo, experts, 1, {seed, 0, 0}, dest);
  return dest;
}

LayerPlacement one_expert(std::vector<int> reps, std::vector<double> weights = {}) {
  LayerPlacement lp;
  lp.replicas = {std::move(reps)};
  if (!weights.empty()) lp.replica_weights = {std::move(weights)};
  return lp;
}

// Destination counts of the tokens owned by `owner`.
std::map<int, int> counts_for_owner(const std::vector<int32_t>& dest, int owner) {
  std::map<int, int> c;
  for (int t = owner * 1000; t < owner * 1000 + 1000; ++t) ++c[dest[t]];
  return c;
}

TEST(ReplicaRouting, PrimaryAlwaysPicksTheFirstReplica) {
  for (int32_t d : route(one_expert({2, 0}), ReplicaPolicyKind::kPrimary)) EXPECT_EQ(d, 2);
}

TEST(ReplicaRouting, UniformSpreadsEvenlyAndIsDeterministicPerSeed) {
  const auto lp = one_expert({0, 1, 3});
  const auto a = route(lp, ReplicaPolicyKind::kUniform, 1);
  EXPECT_EQ(a, route(lp, ReplicaPolicyKind::kUniform, 1));
  EXPECT_NE(a, route(lp, ReplicaPolicyKind::kUniform, 2));
  std::map<int, int> c;
  for (int32_t d : a) ++c[d];
  ASSERT_EQ(c.size(), 3u);
  for (auto [rank, n] : c) EXPECT_NEAR(n, kTokens / 3.0, 150) << "rank " << rank;
}

TEST(ReplicaRouting, LocalityPrefersOwnRankThenNodeThenDraws) {
  const auto d = route(one_expert({1, 2}), ReplicaPolicyKind::kLocality);
  EXPECT_EQ(counts_for_owner(d, 0), (std::map<int, int>{{1, 1000}}));  // same node
  EXPECT_EQ(counts_for_owner(d, 1), (std::map<int, int>{{1, 1000}}));  // own rank
  EXPECT_EQ(counts_for_owner(d, 2), (std::map<int, int>{{2, 1000}}));
  EXPECT_EQ(counts_for_owner(d, 3), (std::map<int, int>{{2, 1000}}));
  // No replica on the owner's node: a seeded draw among all replicas.
  const auto r = counts_for_owner(route(one_expert({0, 1}), ReplicaPolicyKind::kLocality), 3);
  EXPECT_NEAR(r.at(0), 500, 80);
  EXPECT_NEAR(r.at(1), 500, 80);
}

TEST(ReplicaRouting, WeightedRoundRobinFollowsTopologyThenWeights) {
  const auto d = route(one_expert({0, 1}, {3.0, 1.0}), ReplicaPolicyKind::kWeightedRR);
  EXPECT_EQ(counts_for_owner(d, 0), (std::map<int, int>{{0, 1000}}));  // own rank
  EXPECT_EQ(counts_for_owner(d, 1), (std::map<int, int>{{1, 1000}}));
  // Remote owners: smooth WRR hands out exactly 3:1 over each cycle of 4.
  std::map<int, int> remote;
  for (int t = 2000; t < 4000; ++t) ++remote[d[t]];
  EXPECT_EQ(remote, (std::map<int, int>{{0, 1500}, {1, 500}}));
  // Same-node replicas win over remote ones whatever their weights.
  const auto n = route(one_expert({0, 2, 3}, {1.0, 50.0, 50.0}), ReplicaPolicyKind::kWeightedRR);
  EXPECT_EQ(counts_for_owner(n, 1), (std::map<int, int>{{0, 1000}}));
  // Invalid weights (not positive finite) fall back to equal weights.
  const auto z = route(one_expert({0, 1}, {0.0, 1.0}), ReplicaPolicyKind::kWeightedRR);
  std::map<int, int> zc;
  for (int t = 2000; t < 4000; ++t) ++zc[z[t]];
  EXPECT_EQ(zc, (std::map<int, int>{{0, 1000}, {1, 1000}}));
}

TEST(ReplicaRouting, LeastLoadPicksLocalElseLeastPredictedLoad) {
  auto lp = one_expert({0, 1});
  const auto d = route(lp, ReplicaPolicyKind::kLeastLoad);
  EXPECT_EQ(counts_for_owner(d, 0), (std::map<int, int>{{0, 1000}}));
  EXPECT_EQ(counts_for_owner(d, 1), (std::map<int, int>{{1, 1000}}));
  std::map<int, int> remote;
  for (int t = 2000; t < 4000; ++t) ++remote[d[t]];
  // Ranks 0 and 1 each served their own 1000 tokens; the remote 2000 alternate.
  EXPECT_EQ(remote, (std::map<int, int>{{0, 1000}, {1, 1000}}));
  // A predicted hot spot on rank 0 steers remote tokens to rank 1 first.
  lp.predicted_rank_load = {3.0, 1.0, 0.0, 0.0};
  const auto h = route(lp, ReplicaPolicyKind::kLeastLoad);
  std::map<int, int> hot;
  for (int t = 2000; t < 4000; ++t) ++hot[h[t]];
  EXPECT_GT(hot[1], hot[0] + 1000);
}

TEST(ReplicaRouting, ParsesEveryPolicyName) {
  for (auto k : {ReplicaPolicyKind::kPrimary, ReplicaPolicyKind::kUniform, ReplicaPolicyKind::kLocality,
                 ReplicaPolicyKind::kWeightedRR, ReplicaPolicyKind::kLeastLoad})
    EXPECT_EQ(parse_replica_policy(to_string(k), "test"), k);
  EXPECT_ANY_THROW(parse_replica_policy("random", "test"));
}

}  // namespace
}  // namespace moeb
