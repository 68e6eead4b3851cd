// How the engine moves rows between ranks. The data plane is one all-to-all-v of fixed-size rows
// with per-peer counts and offsets (int64, from core's DispatchPlan) over buffers the Backend
// owns (host memory for the CPU backend, device memory for a device transport). The control
// plane (stop flag, check totals, gathering measurements) works on host memory, outside every
// timed region. Implementations: MpiTransport (always built), an NCCL transport on GPUs.
#pragma once

#include <cstdint>
#include <span>
#include <string>

namespace moeb {

// Writes the send rows of a dispatch on demand (Transport::packed_alltoallv): the engine's
// permute, cut into parts.
class SendPacker {
 public:
  virtual ~SendPacker() = default;
  // Writes send rows [begin, end) (send positions, inside one block the exchange carries).
  virtual void pack(int64_t begin, int64_t end) = 0;
  // Writes every row the exchange does not carry (the block a backend keeps for itself); called
  // once, after the last carried row was packed and handed to the exchange.
  virtual void pack_rest() = 0;
};

class Transport {
 public:
  virtual ~Transport() = default;
  virtual int rank() const = 0;
  virtual int size() const = 0;
  virtual std::string name() const = 0;

  // Sends rows [send_offsets[r], send_offsets[r] + send_counts[r]) of `send` to rank r and
  // receives rank r's rows into [recv_offsets[r], ...) of `recv`; a row is `row_bytes` bytes.
  // Offsets and counts are in rows. Collective.
  virtual void alltoallv(const void* send, std::span<const int64_t> send_counts,
                         std::span<const int64_t> send_offsets, void* recv,
                         std::span<const int64_t> recv_counts,
                         std::span<const int64_t> recv_offsets, int64_t row_bytes) = 0;
  // Optional early half of the next alltoallv: its receives posted now (the engine calls it
  // before the permute), so peers' rows can arrive while this rank is still permuting. The next
  // alltoallv must then name the same `recv`, counts and offsets. Default: nothing (alltoallv
  // posts its receives itself).
  virtual void post_receives(void* recv, std::span<const int64_t> recv_counts,
                             std::span<const int64_t> recv_offsets, int64_t row_bytes) {}
  // The next alltoallv with its send rows written by `packer` as it goes (same arguments and
  // result otherwise; receives posted before, as for alltoallv): a transport may send each part
  // as soon as it is packed, so the permute overlaps the exchange. It calls packer.pack exactly
  // once on every carried row ([send_offsets[r], send_offsets[r] + send_counts[r]) for every r),
  // each row before it is sent, then packer.pack_rest(). Default: packs every block, then the
  // rest, then alltoallv (the exchange after the whole permute).
  virtual void packed_alltoallv(SendPacker& packer, const void* send,
                                std::span<const int64_t> send_counts,
                                std::span<const int64_t> send_offsets, void* recv,
                                std::span<const int64_t> recv_counts,
                                std::span<const int64_t> recv_offsets, int64_t row_bytes) {
    for (size_t r = 0; r < send_counts.size(); ++r)
      if (send_counts[r] > 0) packer.pack(send_offsets[r], send_offsets[r] + send_counts[r]);
    packer.pack_rest();
    alltoallv(send, send_counts, send_offsets, recv, recv_counts, recv_offsets, row_bytes);
  }
  // True when alltoallv is ordered after the backend's queued work (a device stream); false
  // when it reads the buffers immediately, so the engine synchronizes the backend first.
  virtual bool stream_ordered() const { return false; }

  // The sync probe: returns when every rank has entered it.
  virtual void barrier() = 0;

  // Control plane, host memory, collective.
  virtual void allreduce_sum(std::span<int64_t> inout) = 0;
  virtual void allreduce_max(std::span<double> inout) = 0;
  // Rank 0 receives size() blocks of `bytes` bytes, block r from rank r (`recv` ignored elsewhere).
  virtual void gather_to_root(const void* send, int64_t bytes, void* recv) = 0;
};

}  // namespace moeb
