// The NCCL transport over MPI: every rank sends a distinct number of tagged rows to every rank
// (itself included); every received row must carry its sender's tag. Runs on one rank
// (ctest) or more (mpirun -np N on a node with N GPUs). Skips without a device.
#include <mpi.h>

#include "core/device_binding.hpp"
#include "gpu_test_util.hpp"
#include "runtime/cuda/nccl_transport.hpp"

namespace moeb {
namespace {

int64_t rows_between(int src, int dst) { return 1 + (src * 3 + dst * 5) % 7; }

TEST(GpuNccl, AlltoallvDeliversEveryPeersRows) {
  MOEB_SKIP_WITHOUT_GPU();
  MPI_Comm node;
  MPI_Comm_split_type(MPI_COMM_WORLD, MPI_COMM_TYPE_SHARED, 0, MPI_INFO_NULL, &node);
  int local = 0, local_size = 1, count = 0;
  MPI_Comm_rank(node, &local);
  MPI_Comm_size(node, &local_size);
  MPI_Comm_free(&node);
  ASSERT_EQ(cudaGetDeviceCount(&count), cudaSuccess);
  if (local_size > count)
    GTEST_SKIP() << local_size << " ranks on this node but " << count << " GPUs";
  ASSERT_EQ(cudaSetDevice(local), cudaSuccess);
  cudaStream_t stream;
  ASSERT_EQ(cudaStreamCreate(&stream), cudaSuccess);
  cuda::NcclTransport tr(MPI_COMM_WORLD, stream);
  const int R = tr.size(), me = tr.rank();
  const int64_t row_elems = 12;  // int32 per row: (src, dst, i, ...)
  std::vector<int64_t> sc(R), so(R + 1, 0), rc(R), ro(R + 1, 0);
  for (int r = 0; r < R; ++r) {
    sc[r] = rows_between(me, r);
    rc[r] = rows_between(r, me);
    so[r + 1] = so[r] + sc[r];
    ro[r + 1] = ro[r] + rc[r];
  }
  std::vector<int32_t> send(so[R] * row_elems);
  for (int r = 0; r < R; ++r)
    for (int64_t i = 0; i < sc[r]; ++i)
      for (int64_t c = 0; c < row_elems; ++c)
        send[(so[r] + i) * row_elems + c] =
            static_cast<int32_t>(me * 1000000 + r * 1000 + i * 10 + c % 10);
  int32_t* d_send = gputest::to_device(send);
  int32_t* d_recv = gputest::to_device(std::vector<int32_t>(ro[R] * row_elems, -1));
  tr.alltoallv(d_send, sc, so, d_recv, rc, ro, row_elems * static_cast<int64_t>(sizeof(int32_t)));
  ASSERT_EQ(cudaStreamSynchronize(stream), cudaSuccess);
  const auto recv = gputest::to_host(d_recv, ro[R] * row_elems);
  for (int r = 0; r < R; ++r)
    for (int64_t i = 0; i < rc[r]; ++i)
      for (int64_t c = 0; c < row_elems; ++c)
        ASSERT_EQ(recv[(ro[r] + i) * row_elems + c], r * 1000000 + me * 1000 + i * 10 + c % 10)
            << "from rank " << r << " row " << i;
  tr.barrier();
  cudaFree(d_send);
  cudaFree(d_recv);
  cudaStreamDestroy(stream);
}

}  // namespace
}  // namespace moeb

int main(int argc, char** argv) {
  ::testing::InitGoogleTest(&argc, argv);
  MPI_Init(&argc, &argv);
  const int rc = RUN_ALL_TESTS();
  MPI_Finalize();
  return rc;
}
