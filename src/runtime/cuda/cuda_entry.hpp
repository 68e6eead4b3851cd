// The CUDA backend as the rest of moebench sees it. No CUDA headers: the backend factory and
// the CLI include this in every build. cuda_loader.cpp implements it by loading the CUDA backend
// module (cuda_module.hpp, built when the CUDA toolkit and NCCL were found) on first use; without
// the module, every entry point but cuda_provenance is one clear error.
#pragma once

#include <mpi.h>

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "runtime/backend.hpp"
#include "runtime/transport.hpp"

namespace moeb {

// True when this build has the CUDA backend and the NCCL transport (its module; whether the
// module loads is known only when it is first used).
bool cuda_backend_built();

// Binds this rank to one GPU (core/device_binding over the ranks of its node: collective over
// MPI_COMM_WORLD's shared-memory split when MPI is initialized) and creates the backend, with
// the MOEB_CUDA_* environment options. Throws ConfigError with one line: "no CUDA device
// visible: ...", "N ranks on node h but only M GPUs visible: ...", or, in a build without CUDA,
// "backend cuda: this moebench was built without the CUDA backend (reason) ...", or, when the
// module cannot be loaded, "backend cuda: cannot load the CUDA backend module PATH: ...".
std::unique_ptr<Backend> make_cuda_backend(const BackendOptions& opt);

// The NCCL transport over `comm`, queued on the stream of `backend` (which must come from
// make_cuda_backend). Collective over `comm`.
std::unique_ptr<Transport> make_cuda_transport(Backend& backend, MPI_Comm comm);

// Provenance of the rank's GPU and libraries as name -> value pairs: cuda_runtime_version,
// cuda_driver_version, nccl_version, gpu_name, gpu_memory_bytes, gpu_pci_bus_id,
// gpu_compute_capability, cuda_gemm_mode, cuda_l2_flush, nvidia_smi_topo (when nvidia-smi runs).
// `backend` may be null (library versions only). Empty in a build without CUDA.
std::vector<std::pair<std::string, std::string>> cuda_provenance(const Backend* backend);

}  // namespace moeb
