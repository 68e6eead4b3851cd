// Transport over an MPI communicator: MPI_Alltoallv with a contiguous datatype of one row (so
// per-peer counts are rows and fit in int), MPI_Barrier as the sync probe. After post_receives
// the next alltoallv is point to point instead: the receives already posted (MPI_Irecv per peer
// with rows), one MPI_Isend per peer with rows (peers me+1, me+2, ... in turn), MPI_Waitall.
// Messages (post_messages / send_messages): one MPI_Irecv / MPI_Isend of rows each on the same
// tag (MPI matches them in order per pair), MPI_Waitall over all of them.
#pragma once

#include <mpi.h>

#include <map>
#include <vector>

#include "runtime/transport.hpp"

namespace moeb {

class MpiTransport final : public Transport {
 public:
  // Duplicates `comm` (moebench traffic never mixes with the caller's) and sets
  // MPI_ERRORS_RETURN on the duplicate so every error reaches MOEB_MPI_CHECK.
  explicit MpiTransport(MPI_Comm comm = MPI_COMM_WORLD);
  ~MpiTransport() override;
  MpiTransport(const MpiTransport&) = delete;
  MpiTransport& operator=(const MpiTransport&) = delete;

  int rank() const override { return rank_; }
  int size() const override { return size_; }
  std::string name() const override { return "mpi"; }
  void alltoallv(const void* send, std::span<const int64_t> send_counts,
                 std::span<const int64_t> send_offsets, void* recv,
                 std::span<const int64_t> recv_counts, std::span<const int64_t> recv_offsets,
                 int64_t row_bytes) override;
  void post_receives(void* recv, std::span<const int64_t> recv_counts,
                     std::span<const int64_t> recv_offsets, int64_t row_bytes) override;
  bool has_messages() const override { return true; }
  void post_messages(std::span<const RecvMessage> recv, int64_t row_bytes) override;
  void send_messages(std::span<const SendMessage> send, int64_t row_bytes) override;
  void barrier() override;
  void allreduce_sum(std::span<int64_t> inout) override;
  void allreduce_max(std::span<double> inout) override;
  void gather_to_root(const void* send, int64_t bytes, void* recv) override;

  MPI_Comm comm() const { return comm_; }

 private:
  MPI_Datatype row_type(int64_t row_bytes);
  MPI_Comm comm_ = MPI_COMM_NULL;
  int rank_ = 0, size_ = 1;
  std::map<int64_t, MPI_Datatype> row_types_;
  // int copies of the int64 counts/offsets MPI_Alltoallv takes; kept to avoid reallocation.
  std::vector<int> sc_, sd_, rc_, rd_;
  // Receives posted by post_receives for the next alltoallv (empty: none), then its sends.
  void* posted_recv_ = nullptr;
  std::vector<MPI_Request> requests_;
  void send_and_wait(const void* send, std::span<const int64_t> send_counts,
                     std::span<const int64_t> send_offsets, void* recv, int64_t row_bytes);
};

}  // namespace moeb
