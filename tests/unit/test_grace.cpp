// grace: spectral grouping recovers planted co-activation clusters; size repair respects its
// bounds; dynamic replication stays within spare slots with the paper's routing weights.
#include <gtest/gtest.h>

#include <set>

#include "placement/spectral.hpp"
#include "placement_test_util.hpp"

namespace moeb {
namespace {

// Cluster c = experts {e : (e * 7) % 16 / 4 == c}: four scattered clusters of four.
int cluster_of(int e) { return ((e * 7) % 16) / 4; }

RoutingTrace clustered_trace(int64_t tokens, uint64_t seed, std::vector<double> cluster_weight) {
  return test::make_trace(1, 16, 2, tokens, seed, [=](int, int64_t, Rng& rng, std::vector<int32_t>& ids) {
    double u = rng.uniform() * std::accumulate(cluster_weight.begin(), cluster_weight.end(), 0.0);
    int c = 0;
    while (c < 3 && (u -= cluster_weight[c]) >= 0) ++c;
    // Planted at both levels GRACE groups at: 90% of tokens stay inside one cluster (a rank's
    // worth), 8% inside its pair of clusters (a node's worth), 2% go anywhere.
    std::vector<int> pool;
    const double u2 = rng.uniform();
    for (int e = 0; e < 16; ++e)
      if ((u2 < 0.9 && cluster_of(e) == c) || (u2 >= 0.9 && u2 < 0.98 && cluster_of(e) / 2 == c / 2) ||
          u2 >= 0.98)
        pool.push_back(e);
    test::draw_distinct(pool, std::vector<double>(pool.size(), 1.0), rng, ids);
  });
}

TEST(Grace, SpectralClusteringRecoversBlockDiagonalGroups) {
  const int n = 12;
  std::vector<double> a(n * n, 0.0);
  for (int i = 0; i < n; ++i)
    for (int j = 0; j < n; ++j)
      if (i != j) a[i * n + j] = (i % 3 == j % 3) ? 10.0 : 0.1;
  const auto label = placement::spectral_clusters(a, n, 3, 1);
  for (int i = 0; i < n; ++i)
    for (int j = 0; j < n; ++j) EXPECT_EQ(label[i] == label[j], i % 3 == j % 3) << i << "," << j;
}

TEST(Grace, GroupingRecoversPlantedClusters) {
  // Scattered ids, so a contiguous layout would split every cluster.
  const ModelSpec m = test::small_model(16, 2, 1);
  const Topology topo = Topology::uniform(2, 2);
  for (uint64_t seed : {3, 5, 9, 21}) {
  SCOPED_TRACE("trace seed " + std::to_string(seed));
  const auto st = test::stats_of(clustered_trace(4096, seed, {1, 1, 1, 1}), 512);
  const auto plan = test::place(find_strategy("grace", "test"), m, topo, st, 4, seed);
  ASSERT_EQ(check_placement(plan.placement, 16, 4), "");
  const auto& lp = plan.placement.layers[0];
  std::set<int> ranks_used;
  for (int c = 0; c < 4; ++c) {
    int rank = -1;
    for (int e = 0; e < 16; ++e) {
      if (cluster_of(e) != c) continue;
      if (rank < 0) rank = lp.replicas[e][0];
      EXPECT_EQ(lp.replicas[e][0], rank) << "expert " << e << " of cluster " << c;
    }
    ranks_used.insert(rank);
  }
  EXPECT_EQ(ranks_used.size(), 4u) << "each cluster on its own rank";
  }
}

TEST(Grace, SizeRepairKeepsGroupsWithinBounds) {
  const int n = 10;
  std::vector<double> a(n * n, 1.0);
  std::vector<int> label = {0, 0, 0, 0, 0, 0, 0, 0, 1, 1};  // 8 and 2, with a third group empty
  placement::repair_group_sizes(label, a, {2, 2, 2}, {4, 4, 4});
  std::vector<int> size(3, 0);
  for (int g : label) ++size[g];
  for (int g = 0; g < 3; ++g) {
    EXPECT_GE(size[g], 2);
    EXPECT_LE(size[g], 4);
  }
}

TEST(Grace, ReplicatesHottestExpertsOfHeaviestGroupWithinSpareSlots) {
  const ModelSpec m = test::small_model(16, 2, 1);
  const Topology topo = Topology::uniform(2, 2);
  const auto st = test::stats_of(clustered_trace(4096, 4, {6, 1, 1, 1}), 512);
  const auto& s = find_strategy("grace", "test");
  const auto plan = test::place(s, m, topo, st, 6);
  ASSERT_EQ(check_placement(plan.placement, 16, 6), "");
  const auto& lp = plan.placement.layers[0];
  int replicated = 0;
  for (int e = 0; e < 16; ++e) {
    if (lp.replicas[e].size() < 2) continue;
    ++replicated;
    EXPECT_EQ(cluster_of(e), 0) << "only the heaviest group's experts are replicated";
    ASSERT_EQ(lp.replica_weights[e].size(), lp.replicas[e].size());
  }
  EXPECT_GT(replicated, 0);
  EXPECT_EQ(plan.policy.kind, ReplicaPolicyKind::kWeightedRR);
  // No spare slot: no replica, still a valid placement.
  const auto tight = test::place(s, m, topo, st, 4);
  EXPECT_EQ(check_placement(tight.placement, 16, 4), "");
  EXPECT_EQ(tight.placement.max_replicas(), 1);
}

}  // namespace
}  // namespace moeb

namespace moeb {
namespace {

// Node group sizes stay within E/N +- max(1, round(r E/N)) whatever the spare memory: three
// clusters co-activate as one block (12 experts) that an unbounded grouping puts on one node
// when a node has room for it.
TEST(Grace, NodeGroupSizesRespectTheRatioBoundAtAnySlotCount) {
  const ModelSpec m = test::small_model(16, 2, 1);
  const Topology topo = Topology::uniform(2, 2);
  const auto tr = test::make_trace(1, 16, 2, 4096, 4, [](int, int64_t, Rng& rng, std::vector<int32_t>& ids) {
    const bool big = rng.uniform() < 0.75;
    std::vector<int> pool;
    for (int e = 0; e < 16; ++e)
      if ((cluster_of(e) < 3) == big) pool.push_back(e);
    test::draw_distinct(pool, std::vector<double>(pool.size(), 1.0), rng, ids);
  });
  const auto st = test::stats_of(tr, 512);
  int widest_unbounded = 0;
  for (int slots : {4, 6, 8, 12}) {
    for (double r : {0.25, 0.5}) {
      const auto plan = test::place(find_strategy("grace", "test"), m, topo, st, slots, 7,
                                    {{"node_size_ratio", r}, {"replicate", false}});
      ASSERT_EQ(check_placement(plan.placement, 16, slots), "");
      const int delta = std::max(1, static_cast<int>(std::lround(r * 8)));
      std::vector<int> size(2, 0);
      for (const auto& reps : plan.placement.layers[0].replicas) ++size[topo.node_of(reps[0])];
      for (int n = 0; n < 2; ++n) {
        EXPECT_LE(size[n], 8 + delta) << slots << " " << r;
        EXPECT_GE(size[n], 8 - delta) << slots << " " << r;
      }
    }
    const auto free = test::place(find_strategy("grace", "test"), m, topo, st, slots, 7,
                                  {{"node_size_ratio", -1.0}, {"replicate", false}});
    std::vector<int> size(2, 0);
    for (const auto& reps : free.placement.layers[0].replicas) ++size[topo.node_of(reps[0])];
    widest_unbounded = std::max({widest_unbounded, size[0], size[1]});
  }
  // Without the bound the block follows the memory beyond the r = 0.25 bound (the behaviour the
  // bound removes).
  EXPECT_GT(widest_unbounded, 8 + 2);
}

}  // namespace
}  // namespace moeb
