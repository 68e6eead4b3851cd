#include "runtime/cuda/nccl_transport.hpp"

#include <vector>

#include "kernels/cuda/cuda_check.hpp"
#include "runtime/cuda/nccl_check.hpp"
#include "platform/mpi_env.hpp"

namespace moeb::cuda {

NcclTransport::NcclTransport(MPI_Comm comm, cudaStream_t stream, bool exchange_counts)
    : control_(comm),
      stream_(stream),
      rank_(control_.rank()),
      size_(control_.size()),
      exchange_counts_(exchange_counts) {
  ncclUniqueId id{};
  if (rank_ == 0) MOEB_NCCL_CHECK(ncclGetUniqueId(&id), nullptr);
  MOEB_MPI_CHECK(MPI_Bcast(&id, sizeof(id), MPI_BYTE, 0, control_.comm()));
  MOEB_NCCL_CHECK(ncclCommInitRank(&nccl_, size_, id, rank_), nccl_);
}

NcclTransport::~NcclTransport() {
  if (nccl_ != nullptr) ncclCommDestroy(nccl_);
}

void NcclTransport::alltoallv(const void* send, std::span<const int64_t> send_counts,
                              std::span<const int64_t> send_offsets, void* recv,
                              std::span<const int64_t> recv_counts,
                              std::span<const int64_t> recv_offsets, int64_t row_bytes) {
  if (exchange_counts_) {
    peer_counts_.assign(static_cast<size_t>(size_), 0);
    MOEB_MPI_CHECK(MPI_Alltoall(send_counts.data(), 1, MPI_INT64_T, peer_counts_.data(), 1,
                                MPI_INT64_T, control_.comm()));
    for (int r = 0; r < size_; ++r)
      if (peer_counts_[r] != recv_counts[r])
        throw Error("nccl transport: rank " + std::to_string(r) + " sends " +
                    std::to_string(peer_counts_[r]) + " rows to rank " + std::to_string(rank_) +
                    " but the plan expects " + std::to_string(recv_counts[r]));
  }
  const auto* src = static_cast<const char*>(send);
  auto* dst = static_cast<char*>(recv);
  // Rows to ourselves never leave the device: one stream-ordered device copy.
  const int64_t self_rows = send_counts[rank_];
  if (self_rows != recv_counts[rank_])
    throw Error("nccl transport: rank " + std::to_string(rank_) + " sends " +
                std::to_string(self_rows) + " rows to itself but expects " +
                std::to_string(recv_counts[rank_]));
  if (self_rows > 0)
    MOEB_CUDA_CHECK(cudaMemcpyAsync(
        dst + recv_offsets[rank_] * row_bytes, src + send_offsets[rank_] * row_bytes,
        static_cast<size_t>(self_rows * row_bytes), cudaMemcpyDeviceToDevice, stream_));
  // One NCCL group: every peer's send and receive progress together (no ordering deadlock).
  MOEB_NCCL_CHECK(ncclGroupStart(), nccl_);
  for (int r = 0; r < size_; ++r) {
    if (r == rank_) continue;
    if (send_counts[r] > 0)
      MOEB_NCCL_CHECK(
          ncclSend(src + send_offsets[r] * row_bytes,
                   static_cast<size_t>(send_counts[r] * row_bytes), ncclUint8, r, nccl_, stream_),
          nccl_);
    if (recv_counts[r] > 0)
      MOEB_NCCL_CHECK(
          ncclRecv(dst + recv_offsets[r] * row_bytes,
                   static_cast<size_t>(recv_counts[r] * row_bytes), ncclUint8, r, nccl_, stream_),
          nccl_);
  }
  MOEB_NCCL_CHECK(ncclGroupEnd(), nccl_);
}

std::string nccl_version_string() {
  int v = 0;
  MOEB_NCCL_CHECK(ncclGetVersion(&v), nullptr);
  // NCCL >= 2.9 encodes major * 10000 + minor * 100 + patch.
  return std::to_string(v / 10000) + "." + std::to_string((v / 100) % 100) + "." +
         std::to_string(v % 100);
}

}  // namespace moeb::cuda
