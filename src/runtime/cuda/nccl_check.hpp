// MOEB_NCCL_CHECK(call, comm): throws moeb::NcclError with the result name, ncclGetErrorString
// and ncclGetLastError(comm) (comm may be nullptr before the communicator exists).
#pragma once

#include <nccl.h>

#include "core/error.hpp"
#include "kernels/cuda/error_format.hpp"

namespace moeb::cuda {

[[noreturn]] void throw_nccl_error(ncclResult_t code, ncclComm_t comm, const DeviceErrorSite& site);

}  // namespace moeb::cuda

#define MOEB_NCCL_CHECK(call, comm)                                                       \
  do {                                                                                    \
    const ncclResult_t moeb_nccl_rc_ = (call);                                            \
    if (moeb_nccl_rc_ != ncclSuccess && moeb_nccl_rc_ != ncclInProgress)                  \
      ::moeb::cuda::throw_nccl_error(moeb_nccl_rc_, (comm),                               \
                                     ::moeb::DeviceErrorSite{#call, __FILE__, __LINE__}); \
  } while (0)
