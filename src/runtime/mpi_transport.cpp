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
  to_int(send_counts, sc_, "send count");
  to_int(send_offsets.first(R), sd_, "send offset");
  to_int(recv_counts, rc_, "receive count");
  to_int(recv_offsets.first(R), rd_, "receive offset");
  const MPI_Datatype t = row_type(row_bytes);
  MOEB_MPI_CHECK(MPI_Alltoallv(send, sc_.data(), sd_.data(), t, recv, rc_.data(), rd_.data(), t,
                               comm_));
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
