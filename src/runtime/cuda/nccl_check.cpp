#include "runtime/cuda/nccl_check.hpp"

#include <string>

namespace moeb::cuda {

namespace {
const char* nccl_result_name(ncclResult_t code) {
  switch (code) {
    case ncclSuccess:
      return "ncclSuccess";
    case ncclUnhandledCudaError:
      return "ncclUnhandledCudaError";
    case ncclSystemError:
      return "ncclSystemError";
    case ncclInternalError:
      return "ncclInternalError";
    case ncclInvalidArgument:
      return "ncclInvalidArgument";
    case ncclInvalidUsage:
      return "ncclInvalidUsage";
    case ncclRemoteError:
      return "ncclRemoteError";
    case ncclInProgress:
      return "ncclInProgress";
    default:
      return "ncclResult";
  }
}
}  // namespace

void throw_nccl_error(ncclResult_t code, ncclComm_t comm, const DeviceErrorSite& site) {
  const char* last = ncclGetLastError(comm);
  std::string name = nccl_result_name(code);
  if (name == "ncclResult")
    name.append("(").append(std::to_string(static_cast<int>(code))).append(")");
  throw NcclError(format_device_error("NCCL", site, name, ncclGetErrorString(code),
                                      last != nullptr ? std::string(last) : std::string()));
}

}  // namespace moeb::cuda
