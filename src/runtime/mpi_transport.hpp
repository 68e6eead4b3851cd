// Transport over an MPI communicator: MPI_Alltoallv with a contiguous datatype of one row (so
// per-peer counts are rows and fit in int), MPI_Barrier as the sync probe. After post_receives
// the next alltoallv is point to point instead, each peer's block cut into chunks of about
// 256 KiB (RowChunks, the same cut on both sides): the receives already posted (MPI_Irecv per
// chunk), MPI_Isend per chunk (peers me+1, me+2, ... in turn), MPI_Waitall. packed_alltoallv
// does the same with each chunk packed just before its MPI_Isend and an MPI_Testsome over the
// open requests after it, so peers' transfers run while this rank packs the next chunk; the rows
// the exchange does not carry are packed last.
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
  void packed_alltoallv(SendPacker& packer, const void* send, std::span<const int64_t> send_counts,
                        std::span<const int64_t> send_offsets, void* recv,
                        std::span<const int64_t> recv_counts,
                        std::span<const int64_t> recv_offsets, int64_t row_bytes) override;
  void barrier() override;
  void allreduce_sum(std::span<int64_t> inout) override;
  void allreduce_max(std::span<double> inout) override;
  void gather_to_root(const void* send, int64_t bytes, void* recv) override;

  MPI_Comm comm() const { return comm_; }
  // Target bytes of one chunk of the point-to-point exchange (whole rows, at least one; default
  // kChunkBytes). Every rank must set the same value before the same post_receives.
  void set_chunk_bytes(int64_t bytes) { chunk_bytes_ = bytes; }
  static constexpr int64_t kChunkBytes = int64_t{256} << 10;

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
  int64_t chunk_bytes_ = kChunkBytes;
  int64_t chunk_rows_ = 1;  // rows per chunk of the posted exchange
  std::vector<int> done_;   // MPI_Testsome's indices
  // Sends every block in chunks (each packed first when `packer` is set), then waits.
  void send_and_wait(const void* send, std::span<const int64_t> send_counts,
                     std::span<const int64_t> send_offsets, void* recv, int64_t row_bytes,
                     SendPacker* packer);
  void progress();
};

}  // namespace moeb
