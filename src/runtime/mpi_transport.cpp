#include "runtime/mpi_transport.hpp"

#include <limits>
#include <string>

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
// A message's row count as MPI's int, or MpiError naming `what`.
int message_rows(int64_t rows, const char* what) {
  if (rows <= 0 || rows > std::numeric_limits<int>::max())
    throw MpiError(std::string("MpiTransport::") + what + ": " + std::to_string(rows) +
                   " rows do not fit in an MPI int count");
  return static_cast<int>(rows);
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
    return send_and_wait(send, send_counts, send_offsets, recv, row_bytes);
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
  for (int k = 0; k < size_; ++k) {  // sources me, me-1, ...: the order peers send in
    const int src = (rank_ - k + size_) % size_;
    if (rc_[src] == 0) continue;
    requests_.emplace_back();
    char* block = static_cast<char*>(recv) + static_cast<int64_t>(rd_[src]) * row_bytes;
    MOEB_MPI_CHECK(MPI_Irecv(block, rc_[src], t, src, kPostedTag, comm_, &requests_.back()));
  }
  posted_recv_ = recv;
}

void MpiTransport::send_and_wait(const void* send, std::span<const int64_t> send_counts,
                                 std::span<const int64_t> send_offsets, void* recv,
                                 int64_t row_bytes) {
  if (recv != posted_recv_)
    throw MpiError("MpiTransport::alltoallv: receives were posted for another buffer");
  posted_recv_ = nullptr;
  to_int(send_counts, sc_, "send count");
  to_int(send_offsets.first(static_cast<size_t>(size_)), sd_, "send offset");
  const MPI_Datatype t = row_type(row_bytes);
  for (int k = 0; k < size_; ++k) {  // destinations me, me+1, ...: spreads the first sends
    const int dst = (rank_ + k) % size_;
    if (sc_[dst] == 0) continue;
    requests_.emplace_back();
    const char* block =
        static_cast<const char*>(send) + static_cast<int64_t>(sd_[dst]) * row_bytes;
    MOEB_MPI_CHECK(MPI_Isend(block, sc_[dst], t, dst, kPostedTag, comm_, &requests_.back()));
  }
  MOEB_MPI_CHECK(MPI_Waitall(static_cast<int>(requests_.size()), requests_.data(),
                             MPI_STATUSES_IGNORE));
  requests_.clear();
}

void MpiTransport::post_messages(std::span<const RecvMessage> recv, int64_t row_bytes) {
  if (posted_recv_ != nullptr || !requests_.empty())
    throw MpiError("MpiTransport::post_messages: earlier posted receives were never used");
  const MPI_Datatype t = row_type(row_bytes);
  for (const RecvMessage& m : recv) {
    requests_.emplace_back();
    MOEB_MPI_CHECK(MPI_Irecv(m.data, message_rows(m.rows, "post_messages"), t, m.peer, kPostedTag,
                             comm_, &requests_.back()));
  }
}

void MpiTransport::send_messages(std::span<const SendMessage> send, int64_t row_bytes) {
  const MPI_Datatype t = row_type(row_bytes);
  for (const SendMessage& m : send) {
    requests_.emplace_back();
    MOEB_MPI_CHECK(MPI_Isend(m.data, message_rows(m.rows, "send_messages"), t, m.peer, kPostedTag,
                             comm_, &requests_.back()));
  }
  MOEB_MPI_CHECK(MPI_Waitall(static_cast<int>(requests_.size()), requests_.data(),
                             MPI_STATUSES_IGNORE));
  requests_.clear();
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
