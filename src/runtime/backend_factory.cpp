#include "runtime/backend_factory.hpp"

#include "core/error.hpp"
#include "runtime/cpu_backend.hpp"
#include "runtime/cuda/cuda_entry.hpp"
#include "runtime/mpi_transport.hpp"

namespace moeb {

std::unique_ptr<Backend> make_backend(BackendKind kind, const BackendOptions& opt) {
  switch (kind) {
    case BackendKind::kCpu: return std::make_unique<CpuBackend>(opt);
    case BackendKind::kCuda: return make_cuda_backend(opt);  // says so when built without CUDA
  }
  throw Error("make_backend: unhandled backend kind");
}

std::unique_ptr<Backend> make_backend(const std::string& name, const BackendOptions& opt) {
  return make_backend(parse_backend(name, "backend"), opt);
}

std::unique_ptr<Transport> make_transport(Backend& backend, MPI_Comm comm) {
  if (backend.name() == "cuda") return make_cuda_transport(backend, comm);
  return std::make_unique<MpiTransport>(comm);
}

}  // namespace moeb
