#include "platform/mpi_env.hpp"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <thread>

#include "platform/host.hpp"

namespace moeb {

std::string mpi_where() {
  std::string host = host_name();
  if (host.empty()) host = "?";
  return "rank " + std::to_string(mpi::world_rank()) + " on host " + host;
}

void throw_mpi_error(int code, const char* call, const char* file, int line) {
  char msg[MPI_MAX_ERROR_STRING] = {0};
  int len = 0;
  if (MPI_Error_string(code, msg, &len) != MPI_SUCCESS) len = 0;
  throw MpiError(source_location_prefix(file, line) + mpi_where() + ": " + call +
                 " failed: " + std::string(msg, static_cast<size_t>(len)));
}

}  // namespace moeb

namespace moeb::mpi {

World::World(int required_thread_level) {
  int initialized = 0;
  MOEB_MPI_CHECK(MPI_Initialized(&initialized));
  if (!initialized) {
    int provided = 0;
    MOEB_MPI_CHECK(MPI_Init_thread(nullptr, nullptr, required_thread_level, &provided));
    owns_ = true;
  }
  MOEB_MPI_CHECK(MPI_Comm_rank(MPI_COMM_WORLD, &rank_));
  MOEB_MPI_CHECK(MPI_Comm_size(MPI_COMM_WORLD, &size_));
}

World::~World() {
  if (!owns_) return;
  int finalized = 0;
  MPI_Finalized(&finalized);
  if (!finalized) MPI_Finalize();
}

bool is_up() {
  int up = 0, down = 0;
  MPI_Initialized(&up);
  MPI_Finalized(&down);
  return up && !down;
}

int world_rank() {
  int r = -1;
  if (is_up()) MPI_Comm_rank(MPI_COMM_WORLD, &r);
  return r;
}

int rank(MPI_Comm comm) {
  int r = 0;
  MOEB_MPI_CHECK(MPI_Comm_rank(comm, &r));
  return r;
}

int size(MPI_Comm comm) {
  int s = 0;
  MOEB_MPI_CHECK(MPI_Comm_size(comm, &s));
  return s;
}

MPI_Comm node_comm(MPI_Comm comm) {
  MPI_Comm shm = MPI_COMM_NULL;
  MOEB_MPI_CHECK(MPI_Comm_split_type(comm, MPI_COMM_TYPE_SHARED, rank(comm), MPI_INFO_NULL, &shm));
  return shm;
}

std::vector<int> node_map(MPI_Comm comm) {
  const int me = rank(comm), n = size(comm);
  // Each rank learns its node's lowest rank (the leader: rank 0 of the split, keyed by rank).
  // Ranks share a node when they share memory and, under Slurm, the same SLURM_NODEID (so a test
  // cluster whose Slurm nodes run on one host still sees the allocation's nodes).
  MPI_Comm shm = node_comm(comm);
  const char* slurm_node = std::getenv("SLURM_NODEID");
  const int slurm_id = slurm_node && *slurm_node ? std::atoi(slurm_node) : 0;
  MPI_Comm node = MPI_COMM_NULL;
  MOEB_MPI_CHECK(MPI_Comm_split(shm, slurm_id < 0 ? 0 : slurm_id, me, &node));
  MOEB_MPI_CHECK(MPI_Comm_free(&shm));
  int leader = me;
  MOEB_MPI_CHECK(MPI_Bcast(&leader, 1, MPI_INT, 0, node));
  MOEB_MPI_CHECK(MPI_Comm_free(&node));
  std::vector<int> leaders(static_cast<size_t>(n));
  MOEB_MPI_CHECK(MPI_Allgather(&leader, 1, MPI_INT, leaders.data(), 1, MPI_INT, comm));
  // Node id = index of the node's leader among all leaders.
  std::vector<int> distinct = leaders;
  std::sort(distinct.begin(), distinct.end());
  distinct.erase(std::unique(distinct.begin(), distinct.end()), distinct.end());
  std::vector<int> node_of(static_cast<size_t>(n));
  for (size_t r = 0; r < node_of.size(); ++r)
    node_of[r] = static_cast<int>(std::lower_bound(distinct.begin(), distinct.end(), leaders[r]) -
                                  distinct.begin());
  return node_of;
}

int local_rank(MPI_Comm comm) {
  MPI_Comm shm = node_comm(comm);
  int local = 0;
  MOEB_MPI_CHECK(MPI_Comm_rank(shm, &local));
  MOEB_MPI_CHECK(MPI_Comm_free(&shm));
  return local;
}

std::vector<std::string> gather_hostnames(MPI_Comm comm) {
  constexpr int kBytes = 256;
  const int n = size(comm);
  char name[kBytes] = {};
  host_name().copy(name, kBytes - 1);
  std::vector<char> all(static_cast<size_t>(n) * kBytes);
  MOEB_MPI_CHECK(MPI_Allgather(name, kBytes, MPI_CHAR, all.data(), kBytes, MPI_CHAR, comm));
  std::vector<std::string> out;
  for (size_t r = 0; r < static_cast<size_t>(n); ++r) out.emplace_back(&all[r * kBytes]);
  return out;
}

AgreedError agree_on_error(MPI_Comm comm, const std::string& my_error) {
  const int me = rank(comm), n = size(comm);
  int mine = my_error.empty() ? n : me;
  int first = n;
  MOEB_MPI_CHECK(MPI_Allreduce(&mine, &first, 1, MPI_INT, MPI_MIN, comm));
  AgreedError out;
  if (first == n) return out;
  out.rank = first;
  out.message = my_error;
  broadcast_string(out.message, first, comm);
  return out;
}

BoundaryError agree_at_boundary(MPI_Comm comm, const std::string& my_error, double failing_wait_s) {
  const int me = rank(comm), n = size(comm);
  int mine = my_error.empty() ? n : me;
  int first = n;
  MPI_Request req = MPI_REQUEST_NULL;
  MOEB_MPI_CHECK(MPI_Iallreduce(&mine, &first, 1, MPI_INT, MPI_MIN, comm, &req));
  BoundaryError out;
  if (my_error.empty()) {
    MOEB_MPI_CHECK(MPI_Wait(&req, MPI_STATUS_IGNORE));
  } else {
    const auto deadline = std::chrono::steady_clock::now() +
                          std::chrono::duration<double>(std::max(0.0, failing_wait_s));
    int done = 0;
    for (;;) {
      MOEB_MPI_CHECK(MPI_Test(&req, &done, MPI_STATUS_IGNORE));
      if (done) break;
      if (std::chrono::steady_clock::now() >= deadline) {
        out.rank = me;  // the request stays pending: the caller aborts
        out.message = my_error;
        out.unanswered = true;
        return out;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
  }
  if (first == n) return out;
  out.rank = first;
  out.message = my_error;
  broadcast_string(out.message, first, comm);
  return out;
}

void abort_all(int code) {
  std::fflush(stdout);
  std::fflush(stderr);
  MPI_Abort(MPI_COMM_WORLD, code);
  std::_Exit(code);  // MPI_Abort does not return; in case it does
}

void broadcast_string(std::string& s, int root, MPI_Comm comm) {
  int len = static_cast<int>(s.size());
  MOEB_MPI_CHECK(MPI_Bcast(&len, 1, MPI_INT, root, comm));
  s.resize(static_cast<size_t>(len));
  MOEB_MPI_CHECK(MPI_Bcast(s.data(), len, MPI_CHAR, root, comm));
}

bool values_differ(MPI_Comm comm, uint64_t mine) {
  uint64_t lo = 0, hi = 0;
  MOEB_MPI_CHECK(MPI_Allreduce(&mine, &lo, 1, MPI_UINT64_T, MPI_MIN, comm));
  MOEB_MPI_CHECK(MPI_Allreduce(&mine, &hi, 1, MPI_UINT64_T, MPI_MAX, comm));
  return lo != hi;
}

bool any_rank(MPI_Comm comm, bool mine) {
  int in = mine ? 1 : 0, out = 0;
  MOEB_MPI_CHECK(MPI_Allreduce(&in, &out, 1, MPI_INT, MPI_MAX, comm));
  return out != 0;
}

}  // namespace moeb::mpi
