// Transport over NCCL for the CUDA backend: the data plane (dispatch and combine) as grouped
// ncclSend/ncclRecv with the plan's per-peer row counts, queued on the backend's stream
// (stream_ordered); the control plane and the sync-probe barrier delegate to an MpiTransport
// on the same communicator. The NCCL communicator is bootstrapped over MPI: rank 0 creates the
// unique id and broadcasts it.
#pragma once

#include <cuda_runtime_api.h>
#include <mpi.h>
#include <nccl.h>

#include <string>
#include <vector>

#include "runtime/mpi_transport.hpp"
#include "runtime/transport.hpp"

namespace moeb::cuda {

class NcclTransport final : public Transport {
 public:
  // Collective over `comm`. The calling thread's current device must be the rank's GPU (the
  // CudaBackend constructor sets it); `stream` is the backend's stream. With `exchange_counts`
  // every alltoallv first exchanges the per-peer row counts (MPI_Alltoall on the host) and
  // throws Error when they differ from the receive counts the plan predicts: a debugging aid
  // that adds one host all-to-all to every dispatch and combine time.
  NcclTransport(MPI_Comm comm, cudaStream_t stream, bool exchange_counts = false);
  ~NcclTransport() override;
  NcclTransport(const NcclTransport&) = delete;
  NcclTransport& operator=(const NcclTransport&) = delete;

  int rank() const override { return rank_; }
  int size() const override { return size_; }
  std::string name() const override { return "nccl"; }
  void alltoallv(const void* send, std::span<const int64_t> send_counts,
                 std::span<const int64_t> send_offsets, void* recv,
                 std::span<const int64_t> recv_counts, std::span<const int64_t> recv_offsets,
                 int64_t row_bytes) override;
  bool stream_ordered() const override { return true; }
  void barrier() override { control_.barrier(); }
  void allreduce_sum(std::span<int64_t> inout) override { control_.allreduce_sum(inout); }
  void allreduce_max(std::span<double> inout) override { control_.allreduce_max(inout); }
  void gather_to_root(const void* send, int64_t bytes, void* recv) override {
    control_.gather_to_root(send, bytes, recv);
  }

  ncclComm_t nccl_comm() const { return nccl_; }

 private:
  MpiTransport control_;
  ncclComm_t nccl_ = nullptr;
  cudaStream_t stream_ = nullptr;
  int rank_ = 0, size_ = 1;
  bool exchange_counts_ = false;
  std::vector<int64_t> peer_counts_;
};

// NCCL's runtime version as "2.28.9" (ncclGetVersion).
std::string nccl_version_string();

}  // namespace moeb::cuda
