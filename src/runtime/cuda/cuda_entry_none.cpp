// The CUDA entry points of a build without the CUDA backend: one clear error.
#include "core/error.hpp"
#include "runtime/cuda/cuda_entry.hpp"

#ifndef MOEB_CUDA_UNAVAILABLE_REASON
#define MOEB_CUDA_UNAVAILABLE_REASON "no CUDA toolkit was found at configure time"
#endif

namespace moeb {

namespace {
[[noreturn]] void unavailable() {
  throw ConfigError(
      "backend cuda: this moebench was built without the CUDA backend "
      "(" MOEB_CUDA_UNAVAILABLE_REASON
      "); rebuild with -DMOEB_WITH_CUDA=ON -DMOEB_WITH_NCCL=ON on a machine with the CUDA "
      "toolkit and NCCL, or use --backend cpu");
}
}  // namespace

bool cuda_backend_built() { return false; }

std::unique_ptr<Backend> make_cuda_backend(const BackendOptions&) { unavailable(); }

std::unique_ptr<Transport> make_cuda_transport(Backend&, MPI_Comm) { unavailable(); }

std::vector<std::pair<std::string, std::string>> cuda_provenance(const Backend*) { return {}; }

}  // namespace moeb
