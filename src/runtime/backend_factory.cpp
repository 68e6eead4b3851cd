#include "runtime/backend_factory.hpp"

#include "core/error.hpp"
#include "runtime/cpu_backend.hpp"
#include "runtime/cuda/cuda_entry.hpp"
#include "runtime/mpi_transport.hpp"

namespace moeb {

std::vector<std::string> backend_names() { return {"cpu", "cuda"}; }

std::unique_ptr<Backend> make_backend(const std::string& name, const BackendOptions& opt) {
  if (name == "cpu") return std::make_unique<CpuBackend>(opt);
  if (name == "cuda") return make_cuda_backend(opt);  // says so when built without CUDA
  std::string known;
  for (const auto& n : backend_names()) known += (known.empty() ? "" : ", ") + n;
  throw ConfigError("backend: unknown backend '" + name + "' (expected one of: " + known + ")");
}

std::unique_ptr<Transport> make_transport(Backend& backend, MPI_Comm comm) {
  if (backend.name() == "cuda") return make_cuda_transport(backend, comm);
  return std::make_unique<MpiTransport>(comm);
}

}  // namespace moeb
