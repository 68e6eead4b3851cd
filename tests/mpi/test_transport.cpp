// MpiTransport on its own: rows land where the per-peer counts and offsets say, control-plane
// collectives agree, and failures come back as MpiError naming the call, rank and host.
#include <gtest/gtest.h>

#include <limits>
#include <utility>
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

// The fused permute + exchange: with chunks of 2 rows, every carried row is packed exactly once
// (by chunk, before the rows are sent: the receiver sees the packed values), the uncarried self
// block only by pack_rest, once, after every carried row; rows land as alltoallv's would.
class RecordingPacker final : public SendPacker {
 public:
  RecordingPacker(std::vector<int>& send, std::vector<int64_t> so, int me, int row)
      : send_(send), so_(std::move(so)), me_(me), row_(row) {
    packed_.assign(static_cast<size_t>(so_.back()), 0);
  }
  void pack(int64_t begin, int64_t end) override {
    EXPECT_FALSE(rest_done_);
    EXPECT_LE(end - begin, 2) << "chunk of more than 2 rows";
    for (int64_t p = begin; p < end; ++p) write(p);
  }
  void pack_rest() override {
    EXPECT_FALSE(rest_done_);
    rest_done_ = true;
    for (int64_t p = so_[me_]; p < so_[me_ + 1]; ++p) write(p);
  }
  std::vector<int> packed_;  // times each send row was written
  bool rest_done_ = false;

 private:
  void write(int64_t p) {
    ++packed_[p];
    int d = 0;
    while (so_[d + 1] <= p) ++d;
    int* r = &send_[static_cast<size_t>(p) * row_];
    r[0] = me_;
    r[1] = d;
    r[2] = static_cast<int>(p - so_[d]);
  }
  std::vector<int>& send_;
  std::vector<int64_t> so_;
  int me_, row_;
};

TEST(MpiTransport, PackedAlltoallvPacksEachRowOnceBeforeSendingIt) {
  MpiTransport t;
  const int R = t.size(), me = t.rank();
  const int row = 3;  // ints per row
  const int64_t row_bytes = row * static_cast<int64_t>(sizeof(int));
  t.set_chunk_bytes(2 * row_bytes);
  // Rank s sends 1 + (s + d) % 5 rows to rank d (1 to 5: 1 to 3 chunks); its own block is
  // not carried (count 0 on the wire), as for a backend that keeps its self rows.
  std::vector<int64_t> sc(R), so(R + 1, 0), rc(R), ro(R + 1, 0);
  for (int d = 0; d < R; ++d) sc[d] = 1 + (me + d) % 5;
  for (int s = 0; s < R; ++s) rc[s] = 1 + (s + me) % 5;
  for (int r = 0; r < R; ++r) {
    so[r + 1] = so[r] + sc[r];
    ro[r + 1] = ro[r] + rc[r];
  }
  std::vector<int64_t> wire_sc = sc, wire_rc = rc;
  wire_sc[me] = wire_rc[me] = 0;
  std::vector<int> send(static_cast<size_t>(so[R]) * row, -1);
  std::vector<int> recv(static_cast<size_t>(ro[R]) * row, -1);
  RecordingPacker packer(send, so, me, row);
  t.post_receives(recv.data(), wire_rc, ro, row_bytes);
  t.packed_alltoallv(packer, send.data(), wire_sc, so, recv.data(), wire_rc, ro, row_bytes);
  EXPECT_TRUE(packer.rest_done_);
  for (int64_t p = 0; p < so[R]; ++p) EXPECT_EQ(packer.packed_[p], 1) << "send row " << p;
  for (int s = 0; s < R; ++s)
    for (int64_t i = 0; i < (s == me ? 0 : rc[s]); ++i) {
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
