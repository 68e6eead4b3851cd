#include "kernels/cuda/cuda_check.hpp"

#include <cublas_v2.h>

namespace moeb::cuda {

void throw_cuda_error(cudaError_t code, const DeviceErrorSite& site) {
  throw CudaError(
      format_device_error("CUDA", site, cudaGetErrorName(code), cudaGetErrorString(code), ""));
}

void throw_cublas_error(cublasStatus_t code, const DeviceErrorSite& site) {
  throw CudaError(format_device_error("cuBLAS", site, cublasGetStatusName(code),
                                      cublasGetStatusString(code), ""));
}

void check_launch(const char* kernel, const char* file, int line) {
  const cudaError_t code = cudaGetLastError();
  if (code != cudaSuccess) throw_cuda_error(code, DeviceErrorSite{kernel, file, line});
}

}  // namespace moeb::cuda
