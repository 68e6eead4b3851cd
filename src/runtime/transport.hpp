// How the engine moves rows between ranks. The data plane is one all-to-all-v of fixed-size rows
// with per-peer counts and offsets (int64, from core's DispatchPlan) over buffers the Backend
// owns (host memory for the CPU backend, device memory for a device transport). The control
// plane (stop flag, check totals, gathering measurements) works on host memory, outside every
// timed region. Implementations: MpiTransport (always built), an NCCL transport on GPUs.
#pragma once

#include <cstdint>
#include <span>
#include <stdexcept>
#include <string>

namespace moeb {

// One point-to-point message of whole rows (Transport::post_messages / send_messages).
struct SendMessage {
  int peer = 0;
  const void* data = nullptr;
  int64_t rows = 0;
};
struct RecvMessage {
  int peer = 0;
  void* data = nullptr;
  int64_t rows = 0;
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
  // Point to point instead of alltoallv, for transports that have it (has_messages) on host
  // memory: post_messages posts receives (early: before the sender's rows are ready), then
  // send_messages sends and returns when every posted and sent message is complete. Messages
  // between two ranks match in the order they are listed, so both sides list a pair's messages
  // in the same order and sizes. Lets a sender send rows from anywhere (the engine sends runs of
  // consecutive input rows without copying them first). Collective over the ranks that exchange.
  virtual bool has_messages() const { return false; }
  virtual void post_messages(std::span<const RecvMessage> recv, int64_t row_bytes) {
    throw std::logic_error("transport " + name() + " has no point-to-point messages");
  }
  virtual void send_messages(std::span<const SendMessage> send, int64_t row_bytes) {
    throw std::logic_error("transport " + name() + " has no point-to-point messages");
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
