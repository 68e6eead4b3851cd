// MOEB_CUDA_CHECK, MOEB_CUBLAS_CHECK, MOEB_NCCL_CHECK: every call of the CUDA backend goes
// through one of these; failures throw moeb::CudaError / moeb::NcclError with file:line, rank,
// host, the error's name and description, and for NCCL ncclGetLastError(comm).
#pragma once

#include <cublas_api.h>
#include <cuda_runtime_api.h>

#include "core/error.hpp"
#include "kernels/cuda/error_format.hpp"

namespace moeb::cuda {

[[noreturn]] void throw_cuda_error(cudaError_t code, const DeviceErrorSite& site);
[[noreturn]] void throw_cublas_error(cublasStatus_t code, const DeviceErrorSite& site);
// Throws CudaError naming `kernel` when cudaGetLastError reports a failed launch.
void check_launch(const char* kernel, const char* file, int line);

}  // namespace moeb::cuda

#define MOEB_CUDA_CHECK(call)                                                             \
  do {                                                                                    \
    const cudaError_t moeb_cuda_rc_ = (call);                                             \
    if (moeb_cuda_rc_ != cudaSuccess)                                                     \
      ::moeb::cuda::throw_cuda_error(moeb_cuda_rc_,                                       \
                                     ::moeb::DeviceErrorSite{#call, __FILE__, __LINE__}); \
  } while (0)

#define MOEB_CUBLAS_CHECK(call)                                                             \
  do {                                                                                      \
    const cublasStatus_t moeb_cublas_rc_ = (call);                                          \
    if (moeb_cublas_rc_ != CUBLAS_STATUS_SUCCESS)                                           \
      ::moeb::cuda::throw_cublas_error(moeb_cublas_rc_,                                     \
                                       ::moeb::DeviceErrorSite{#call, __FILE__, __LINE__}); \
  } while (0)

#define MOEB_CHECK_LAUNCH(name) ::moeb::cuda::check_launch(name, __FILE__, __LINE__)
