// What the CUDA backend module (libmoebench_cuda.so, built from src/runtime/cuda and
// kernels/cuda) gives the binary that loads it (cuda_loader.cpp). No CUDA headers.
//
// The module holds the CUDA backend and the NCCL transport, and links the CUDA runtime, cuBLAS
// and NCCL; moebench loads it only when a run asks for backend cuda. So the other commands, and
// runs on the CPU backend, neither map those libraries (about 220 MB resident and 0.2 s per
// process with CUDA 13) nor need them installed on the node. The module's references to the
// rest of moebench resolve against the loading executable, which exports its symbols
// (ENABLE_EXPORTS): one copy of everything outside the module.
#pragma once

#include <mpi.h>

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "runtime/backend.hpp"
#include "runtime/transport.hpp"

namespace moeb {

// Raised whenever the table or the types it passes change shape.
inline constexpr int kCudaModuleAbi = 1;

struct CudaModuleEntry {
  int abi = kCudaModuleAbi;
  // Sizes of what crosses the boundary: a module built from other headers is refused.
  size_t backend_options_bytes = sizeof(BackendOptions);
  std::unique_ptr<Backend> (*make_backend)(const BackendOptions& opt) = nullptr;
  std::unique_ptr<Transport> (*make_transport)(Backend& backend, MPI_Comm comm) = nullptr;
  std::vector<std::pair<std::string, std::string>> (*provenance)(const Backend* backend) = nullptr;
};

}  // namespace moeb

// The module's one exported entry point.
extern "C" const moeb::CudaModuleEntry* moeb_cuda_module_entry();
