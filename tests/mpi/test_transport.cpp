// MpiTransport on its own: rows land where the per-peer counts and offsets say, control-plane
// collectives agree, and failures come back as MpiError naming the call, rank and host.
#include <gtest/gtest.h>

#include <limits>
#include <string>
#include <vector>

#include "platform/mpi_env.hpp"
#include "runtime/mpi_transport.hpp"

namespace moeb {
namespace {

TEST(MpiTransport, AlltoallvMovesRowsByCountsAndOffsets) {
  MpiTransport t;
  const int R = t.size(), me = t.rank();
  const int row = 3;  // ints per row
  // Rank s sends (s + d) % 3 rows to rank d; row i to d holds {s, d, i}.
  std::vector<int64_t> sc(R), so(R + 1, 0), rc(R), ro(R + 1, 0);
  for (int d = 0; d < R; ++d) sc[d] = (me + d) % 3;
  for (int s = 0; s < R; ++s) rc[s] = (s + me) % 3;
  for (int r = 0; r < R; ++r) {
    so[r + 1] = so[r] + sc[r];
    ro[r + 1] = ro[r] + rc[r];
  }
  std::vector<int> send(static_cast<size_t>(so[R] + 1) * row), recv(static_cast<size_t>(ro[R] + 1) * row, -1);
  for (int d = 0; d < R; ++d)
    for (int64_t i = 0; i < sc[d]; ++i) {
      int* p = &send[static_cast<size_t>(so[d] + i) * row];
      p[0] = me;
      p[1] = d;
      p[2] = static_cast<int>(i);
    }
  t.alltoallv(send.data(), sc, so, recv.data(), rc, ro, row * static_cast<int64_t>(sizeof(int)));
  for (int s = 0; s < R; ++s)
    for (int64_t i = 0; i < rc[s]; ++i) {
      const int* p = &recv[static_cast<size_t>(ro[s] + i) * row];
      EXPECT_EQ(p[0], s);
      EXPECT_EQ(p[1], me);
      EXPECT_EQ(p[2], i);
    }
}

TEST(MpiTransport, ControlPlaneCollectives) {
  MpiTransport t;
  int64_t sum[2] = {1, t.rank()};
  t.allreduce_sum(sum);
  EXPECT_EQ(sum[0], t.size());
  EXPECT_EQ(sum[1], static_cast<int64_t>(t.size()) * (t.size() - 1) / 2);
  double mx[1] = {static_cast<double>(t.rank())};
  t.allreduce_max(mx);
  EXPECT_EQ(mx[0], t.size() - 1);
  const int64_t mine = 100 + t.rank();
  std::vector<int64_t> all(t.rank() == 0 ? t.size() : 0);
  t.gather_to_root(&mine, sizeof(mine), all.data());
  if (t.rank() == 0) {
    for (int r = 0; r < t.size(); ++r) EXPECT_EQ(all[r], 100 + r);
  }
}

TEST(MpiTransport, ErrorsNameCallRankAndHost) {
  MpiTransport t;
  // A count beyond int is refused before MPI sees it (same on every rank: no collective runs).
  std::vector<int64_t> big(t.size(), 0), off(t.size() + 1, 0);
  big[0] = static_cast<int64_t>(std::numeric_limits<int>::max()) + 1;
  char buf[1];
  EXPECT_THROW(t.alltoallv(buf, big, off, buf, big, off, 1), MpiError);
  // An MPI failure reported by MOEB_MPI_CHECK.
  try {
    // The transport's communicator returns errors (MPI_ERRORS_RETURN): a send to a rank that
    // does not exist fails locally, without any peer involved.
    MOEB_MPI_CHECK(MPI_Send(buf, 1, MPI_BYTE, t.size() + 5, 0, t.comm()));
    ADD_FAILURE() << "expected an MPI error";
  } catch (const MpiError& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find("test_transport.cpp:"), std::string::npos) << msg;
    EXPECT_NE(msg.find("rank " + std::to_string(t.rank()) + " on host "), std::string::npos) << msg;
    EXPECT_NE(msg.find("MPI_Send"), std::string::npos) << msg;
  }
}

}  // namespace
}  // namespace moeb
