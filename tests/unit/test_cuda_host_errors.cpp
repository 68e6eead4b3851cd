// Wording of CUDA/cuBLAS/NCCL failures (kernels/cuda/error_format) and the CUDA entry point on
// a machine without a GPU or a build without CUDA: one clear line.
#include <gtest/gtest.h>

#include <string>

#include "core/error.hpp"
#include "runtime/backend_factory.hpp"
#include "runtime/cuda/cuda_entry.hpp"
#include "kernels/cuda/error_format.hpp"

namespace moeb {
namespace {

TEST(CudaHostErrors, MessageNamesSiteRankHostCodeAndDetail) {
  set_device_error_identity(3, "gpu12");
  const std::string msg = format_device_error(
      "NCCL",
      DeviceErrorSite{"ncclSend(buf, n, ncclUint8, 2, comm, s)", "/x/src/runtime/cuda/t.cpp", 41},
      "ncclSystemError", "unhandled system error", "socket closed\nby peer\n");
  EXPECT_EQ(msg,
            "src/runtime/cuda/t.cpp:41: rank 3 on gpu12: NCCL error ncclSystemError (unhandled "
            "system error) in ncclSend(buf, n, ncclUint8, 2, comm, s): socket closed by peer");
  EXPECT_EQ(msg.find('\n'), std::string::npos);
}

TEST(CudaHostErrors, DetailIsOptional) {
  set_device_error_identity(0, "h");
  const std::string msg =
      format_device_error("CUDA", DeviceErrorSite{"cudaMalloc(&p, n)", "a.cpp", 7},
                          "cudaErrorMemoryAllocation", "out of memory", "");
  EXPECT_EQ(msg,
            "a.cpp:7: rank 0 on h: CUDA error cudaErrorMemoryAllocation (out of memory) in "
            "cudaMalloc(&p, n)");
}

// With no GPU (this CI machine) or without CUDA in the build, the cuda backend refuses with
// one line that says which; on a GPU machine the backend comes up and the test skips.
TEST(CudaHostErrors, CudaBackendWithoutDeviceIsOneClearLine) {
  BackendOptions opt;
  opt.hidden = 64;
  opt.ffn_hidden = 32;
  std::unique_ptr<Backend> b;
  try {
    b = make_backend("cuda", opt);
  } catch (const ConfigError& e) {
    const std::string msg = e.what();
    EXPECT_EQ(msg.find('\n'), std::string::npos) << msg;
    if (cuda_backend_built())
      EXPECT_EQ(msg.rfind("no CUDA device visible: ", 0), 0u) << msg;
    else
      EXPECT_NE(msg.find("built without the CUDA backend"), std::string::npos) << msg;
    return;
  }
  ASSERT_TRUE(cuda_backend_built());
  GTEST_SKIP() << "a CUDA device is visible; the no-device path cannot be exercised here";
}

TEST(CudaHostErrors, CudaIsAKnownBackendName) {
  const auto names = backend_names();
  EXPECT_NE(std::find(names.begin(), names.end(), "cuda"), names.end());
}

}  // namespace
}  // namespace moeb
