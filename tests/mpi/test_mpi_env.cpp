// The MPI environment module (platform/mpi_env): node map and local rank agree with the
// shared-memory split, hostnames reach every rank, and a setup error on any rank reaches all.
#include <gtest/gtest.h>

#include <set>
#include <string>
#include <vector>

#include "platform/host.hpp"
#include "platform/mpi_env.hpp"

namespace moeb {
namespace {

TEST(MpiEnv, NodeMapNumbersNodesByTheirLowestRank) {
  const std::vector<int> nodes = mpi::node_map(MPI_COMM_WORLD);
  ASSERT_EQ(static_cast<int>(nodes.size()), mpi::size(MPI_COMM_WORLD));
  EXPECT_EQ(nodes[0], 0);
  // Node ids are dense and first appear in rank order.
  int next = 0;
  for (int n : nodes) {
    EXPECT_LE(n, next);
    if (n == next) ++next;
  }
  // The local rank is the caller's index among the ranks of its node.
  const int me = mpi::rank(MPI_COMM_WORLD);
  int before = 0;
  for (int r = 0; r < me; ++r) before += nodes[r] == nodes[me] ? 1 : 0;
  EXPECT_EQ(mpi::local_rank(MPI_COMM_WORLD), before);
}

TEST(MpiEnv, HostnamesReachEveryRank) {
  const std::vector<std::string> hosts = mpi::gather_hostnames(MPI_COMM_WORLD);
  ASSERT_EQ(static_cast<int>(hosts.size()), mpi::size(MPI_COMM_WORLD));
  EXPECT_EQ(hosts[mpi::rank(MPI_COMM_WORLD)], host_name());
  // Ranks on one node report one host.
  const std::vector<int> nodes = mpi::node_map(MPI_COMM_WORLD);
  for (size_t r = 0; r < hosts.size(); ++r)
    if (nodes[r] == nodes[0]) {
      EXPECT_EQ(hosts[r], hosts[0]);
    }
}

TEST(MpiEnv, ErrorOnAnyRankReachesAllRanks) {
  const int me = mpi::rank(MPI_COMM_WORLD), n = mpi::size(MPI_COMM_WORLD);
  EXPECT_FALSE(mpi::agree_on_error(MPI_COMM_WORLD, ""));
  // The last rank fails alone: every rank learns its rank and message.
  const mpi::AgreedError last =
      mpi::agree_on_error(MPI_COMM_WORLD, me == n - 1 ? "suite.toml: key 'x': bad" : "");
  ASSERT_TRUE(last);
  EXPECT_EQ(last.rank, n - 1);
  EXPECT_EQ(last.message, "suite.toml: key 'x': bad");
  // Several ranks fail: the lowest one wins.
  const mpi::AgreedError many =
      mpi::agree_on_error(MPI_COMM_WORLD, me >= 1 ? "rank " + std::to_string(me) : "");
  ASSERT_TRUE(many);
  EXPECT_EQ(many.rank, 1);
  EXPECT_EQ(many.message, "rank 1");
}

TEST(MpiEnv, BoundaryErrorOfAnyRankReachesAllRanksThatArrive) {
  const int me = mpi::rank(MPI_COMM_WORLD), n = mpi::size(MPI_COMM_WORLD);
  EXPECT_FALSE(mpi::agree_at_boundary(MPI_COMM_WORLD, "", 1.0));
  // The last rank fails; the others arrive (they were not blocked in a collective): every rank
  // learns its rank and message, and nobody is told to abort.
  const mpi::BoundaryError last = mpi::agree_at_boundary(
      MPI_COMM_WORLD, me == n - 1 ? "rank " + std::to_string(me) + ": out of memory" : "", 60.0);
  ASSERT_TRUE(last);
  EXPECT_EQ(last.rank, n - 1);
  EXPECT_EQ(last.message, "rank " + std::to_string(n - 1) + ": out of memory");
  EXPECT_FALSE(last.unanswered);
  // Every rank fails: the lowest one wins.
  const mpi::BoundaryError all =
      mpi::agree_at_boundary(MPI_COMM_WORLD, "rank " + std::to_string(me), 60.0);
  ASSERT_TRUE(all);
  EXPECT_EQ(all.rank, 0);
  EXPECT_EQ(all.message, "rank 0");
  EXPECT_FALSE(all.unanswered);
}

TEST(MpiEnv, WorldGuardLeavesAnInitializedMpiAlone) {
  // MPI is up (the test main initialized it): the guard neither initializes nor finalizes.
  {
    mpi::World world(MPI_THREAD_FUNNELED);
    EXPECT_EQ(world.rank(), mpi::rank(MPI_COMM_WORLD));
    EXPECT_EQ(world.size(), mpi::size(MPI_COMM_WORLD));
  }
  EXPECT_TRUE(mpi::is_up());
  EXPECT_EQ(mpi::world_rank(), mpi::rank(MPI_COMM_WORLD));
}

}  // namespace
}  // namespace moeb
