#include "runtime/cuda/cuda_provenance.hpp"

#include <cuda_runtime_api.h>

#include <cstdio>

#include "runtime/cuda/cuda_backend.hpp"
#include "kernels/cuda/cuda_check.hpp"
#include "runtime/cuda/nccl_transport.hpp"

namespace moeb::cuda {

std::string cuda_version_string(int encoded) {
  return std::to_string(encoded / 1000) + "." + std::to_string((encoded % 1000) / 10);
}

std::string capture_command(const std::string& command) {
  FILE* pipe = popen(command.c_str(), "r");
  if (pipe == nullptr) return "";
  std::string out;
  char buf[4096];
  size_t n = 0;
  while ((n = fread(buf, 1, sizeof(buf), pipe)) > 0) out.append(buf, n);
  const int status = pclose(pipe);
  return status == 0 ? out : std::string();
}

std::vector<std::pair<std::string, std::string>> collect_provenance(const CudaBackend* backend) {
  std::vector<std::pair<std::string, std::string>> p;
  int runtime = 0, driver = 0;
  MOEB_CUDA_CHECK(cudaRuntimeGetVersion(&runtime));
  p.emplace_back("cuda_runtime_version", cuda_version_string(runtime));
  // The driver query works without a device; 0 means no driver is installed.
  if (cudaDriverGetVersion(&driver) == cudaSuccess && driver > 0)
    p.emplace_back("cuda_driver_version", cuda_version_string(driver));
  else
    p.emplace_back("cuda_driver_version", "none");
  p.emplace_back("nccl_version", nccl_version_string());
  if (backend == nullptr) return p;

  const int dev = backend->device();
  cudaDeviceProp prop{};
  MOEB_CUDA_CHECK(cudaGetDeviceProperties(&prop, dev));
  char bus[64] = {};
  MOEB_CUDA_CHECK(cudaDeviceGetPCIBusId(bus, sizeof(bus), dev));
  p.emplace_back("gpu_name", prop.name);
  p.emplace_back("gpu_memory_bytes", std::to_string(prop.totalGlobalMem));
  p.emplace_back("gpu_pci_bus_id", bus);
  p.emplace_back("gpu_compute_capability",
                 std::to_string(prop.major) + "." + std::to_string(prop.minor));
  p.emplace_back("cuda_gemm_mode", gemm_mode_name(backend->cuda_options().gemm));
  p.emplace_back("cuda_l2_flush", backend->cuda_options().l2_flush ? "true" : "false");
  const std::string topo = capture_command("nvidia-smi topo -m 2>/dev/null");
  if (!topo.empty()) p.emplace_back("nvidia_smi_topo", topo);
  return p;
}

}  // namespace moeb::cuda
