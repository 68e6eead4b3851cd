// One-line messages for CUDA, cuBLAS and NCCL failures. Pure (no CUDA headers) so the wording
// is unit-tested on CPU; the MOEB_*_CHECK macros in cuda_check.hpp fill in the library's strings.
#pragma once

#include <string>

namespace moeb {

struct DeviceErrorSite {
  const char* call = "";  // the checked expression, as written
  const char* file = "";  // __FILE__
  int line = 0;           // __LINE__
};

// "src/runtime/cuda/x.cpp:12: rank 3 on node7: CUDA error cudaErrorInvalidValue (invalid
// argument) in cudaMemcpyAsync(...)[: detail]". `library` is "CUDA", "cuBLAS" or "NCCL";
// `detail` (e.g. ncclGetLastError) is appended when non-empty.
std::string format_device_error(const char* library, const DeviceErrorSite& site,
                                const std::string& code_name, const std::string& description,
                                const std::string& detail);

// Rank and host named in device error messages; set once by the CUDA backend (default: the rank
// from SLURM_PROCID / OMPI_COMM_WORLD_RANK / PMI_RANK when set, and gethostname()).
void set_device_error_identity(int rank, const std::string& host);
std::string device_error_identity();  // "rank 3 on node7", or "" when unknown

}  // namespace moeb
