#include "runtime/mpi_transport.hpp"

#include <limits>
#include <string>

#include "core/row_chunks.hpp"

#include "platform/mpi_env.hpp"

namespace moeb {

namespace {
void to_int(std::span<const int64_t> in, std::vector<int>& out, const char* what) {
  out.resize(in.size());
  for (size_t i = 0; i < in.size(); ++i) {
    if (in[i] < 0 || in[i] > std::numeric_limits<int>::max())
      throw MpiError(std::string("MpiTransport::alltoallv: ") + what + " " +
                     std::to_string(in[i]) + " (rows) does not fit in an MPI int count");
    out[i] = static_cast<int>(in[i]);
  }
}
// Tag of the point-to-point all-to-all (the only point-to-point traffic on the duplicated
// communicator; collectives never match it).
constexpr int kPostedTag = 16;
}  // namespace

MpiTransport::MpiTransport(MPI_Comm comm) {
  MOEB_MPI_CHECK(MPI_Comm_dup(comm, &comm_));
  MOEB_MPI_CHECK(MPI_Comm_set_errhandler(comm_, MPI_ERRORS_RETURN));
  MOEB_MPI_CHECK(MPI_Comm_rank(comm_, &rank_));
  MOEB_MPI_CHECK(MPI_Comm_size(comm_, &size_));
}

MpiTransport::~MpiTransport() {
  int finalized = 0;
  MPI_Finalized(&finalized);
  if (finalized) return;
  for (MPI_Request& r : requests_) {  // receives posted for an alltoallv that never ran
    MPI_Cancel(&r);
    MPI_Request_free(&r);
  }
  for (auto& [bytes, t] : row_types_) MPI_Type_free(&t);
  if (comm_ != MPI_COMM_NULL) MPI_Comm_free(&comm_);
}

MPI_Datatype MpiTransport::row_type(int64_t row_bytes) {
  auto it = row_types_.find(row_bytes);
  if (it != row_types_.end()) return it->second;
  if (row_bytes <= 0 || row_bytes > std::numeric_limits<int>::max())
    throw MpiError("MpiTransport: row size " + std::to_string(row_bytes) + " bytes out of range");
  MPI_Datatype t;
  MOEB_MPI_CHECK(MPI_Type_contiguous(static_cast<int>(row_bytes), MPI_BYTE, &t));
  MOEB_MPI_CHECK(MPI_Type_commit(&t));
  row_types_.emplace(row_bytes, t);
  return t;
}

void MpiTransport::alltoallv(const void* send, std::span<const int64_t> send_counts,
                             std::span<const int64_t> send_offsets, void* recv,
                             std::span<const int64_t> recv_counts,
                             std::span<const int64_t> recv_offsets, int64_t row_bytes) {
  const size_t R = static_cast<size_t>(size_);
  if (send_counts.size() != R || recv_counts.size() != R || send_offsets.size() < R ||
      recv_offsets.size() < R)
    throw MpiError("MpiTransport::alltoallv: counts/offsets do not have one entry per rank");
  if (posted_recv_ != nullptr)
    return send_and_wait(send, send_counts, send_offsets, recv, row_bytes, nullptr);
  to_int(send_counts, sc_, "send count");
  to_int(send_offsets.first(R), sd_, "send offset");
  to_int(recv_counts, rc_, "receive count");
  to_int(recv_offsets.first(R), rd_, "receive offset");
  const MPI_Datatype t = row_type(row_bytes);
  MOEB_MPI_CHECK(MPI_Alltoallv(send, sc_.data(), sd_.data(), t, recv, rc_.data(), rd_.data(), t,
                               comm_));
}

void MpiTransport::post_receives(void* recv, std::span<const int64_t> recv_counts,
                                 std::span<const int64_t> recv_offsets, int64_t row_bytes) {
  const size_t R = static_cast<size_t>(size_);
  if (posted_recv_ != nullptr)
    throw MpiError("MpiTransport::post_receives: the previous posted receives were never used");
  if (recv_counts.size() != R || recv_offsets.size() < R)
    throw MpiError("MpiTransport::post_receives: counts/offsets do not have one entry per rank");
  to_int(recv_counts, rc_, "receive count");
  to_int(recv_offsets.first(R), rd_, "receive offset");
  const MPI_Datatype t = row_type(row_bytes);
  requests_.clear();
  chunk_rows_ = chunk_rows_for(row_bytes, chunk_bytes_);
  for (int k = 0; k < size_; ++k) {  // sources me, me-1, ...: the order peers send in
    const int src = (rank_ - k + size_) % size_;
    char* block = static_cast<char*>(recv) + static_cast<int64_t>(rd_[src]) * row_bytes;
    const RowChunks c{rc_[src], chunk_rows_};
    for (int64_t i = 0; i < c.count(); ++i) {
      requests_.emplace_back();
      MOEB_MPI_CHECK(MPI_Irecv(block + c.begin(i) * row_bytes, static_cast<int>(c.end(i) - c.begin(i)),
                               t, src, kPostedTag, comm_, &requests_.back()));
    }
  }
  posted_recv_ = recv;
}

void MpiTransport::send_and_wait(const void* send, std::span<const int64_t> send_counts,
                                 std::span<const int64_t> send_offsets, void* recv,
                                 int64_t row_bytes, SendPacker* packer) {
  if (recv != posted_recv_)
    throw MpiError("MpiTransport::alltoallv: receives were posted for another buffer");
  posted_recv_ = nullptr;
  to_int(send_counts, sc_, "send count");
  to_int(send_offsets.first(static_cast<size_t>(size_)), sd_, "send offset");
  const MPI_Datatype t = row_type(row_bytes);
  for (int k = 1; k <= size_; ++k) {  // destinations me+1, me+2, ..., me: spreads the first sends
    const int dst = (rank_ + k) % size_;
    const RowChunks c{sc_[dst], chunk_rows_};
    for (int64_t i = 0; i < c.count(); ++i) {
      const int64_t begin = sd_[dst] + c.begin(i), rows = c.end(i) - c.begin(i);
      if (packer != nullptr) packer->pack(begin, begin + rows);
      requests_.emplace_back();
      MOEB_MPI_CHECK(MPI_Isend(static_cast<const char*>(send) + begin * row_bytes,
                               static_cast<int>(rows), t, dst, kPostedTag, comm_,
                               &requests_.back()));
      if (packer != nullptr) progress();
    }
  }
  if (packer != nullptr) packer->pack_rest();
  MOEB_MPI_CHECK(MPI_Waitall(static_cast<int>(requests_.size()), requests_.data(),
                             MPI_STATUSES_IGNORE));
  requests_.clear();
}

// Lets MPI move data between two packed chunks: peers' transfers into this rank (the copy of
// Open MPI's shared-memory single-copy path runs in the receiver's MPI calls) and this rank's
// sent chunks. Completed requests become MPI_REQUEST_NULL, which MPI_Waitall accepts.
void MpiTransport::progress() {
  int done = 0;
  done_.resize(requests_.size());
  MOEB_MPI_CHECK(MPI_Testsome(static_cast<int>(requests_.size()), requests_.data(), &done,
                              done_.data(), MPI_STATUSES_IGNORE));
}

void MpiTransport::packed_alltoallv(SendPacker& packer, const void* send,
                                    std::span<const int64_t> send_counts,
                                    std::span<const int64_t> send_offsets, void* recv,
                                    std::span<const int64_t> recv_counts,
                                    std::span<const int64_t> recv_offsets, int64_t row_bytes) {
  const size_t R = static_cast<size_t>(size_);
  if (send_counts.size() != R || recv_counts.size() != R || send_offsets.size() < R ||
      recv_offsets.size() < R)
    throw MpiError("MpiTransport::alltoallv: counts/offsets do not have one entry per rank");
  if (posted_recv_ == nullptr) post_receives(recv, recv_counts, recv_offsets, row_bytes);
  send_and_wait(send, send_counts, send_offsets, recv, row_bytes, &packer);
}

void MpiTransport::barrier() { MOEB_MPI_CHECK(MPI_Barrier(comm_)); }

void MpiTransport::allreduce_sum(std::span<int64_t> inout) {
  MOEB_MPI_CHECK(MPI_Allreduce(MPI_IN_PLACE, inout.data(), static_cast<int>(inout.size()),
                               MPI_INT64_T, MPI_SUM, comm_));
}

void MpiTransport::allreduce_max(std::span<double> inout) {
  MOEB_MPI_CHECK(MPI_Allreduce(MPI_IN_PLACE, inout.data(), static_cast<int>(inout.size()),
                               MPI_DOUBLE, MPI_MAX, comm_));
}

void MpiTransport::gather_to_root(const void* send, int64_t bytes, void* recv) {
  if (bytes < 0 || bytes > std::numeric_limits<int>::max())
    throw MpiError("MpiTransport::gather_to_root: " + std::to_string(bytes) +
                   " bytes per rank exceed an MPI int count");
  MOEB_MPI_CHECK(MPI_Gather(send, static_cast<int>(bytes), MPI_BYTE, recv,
                            static_cast<int>(bytes), MPI_BYTE, 0, comm_));
}

}  // namespace moeb
