// Backend by name: "cpu" (always built); other backends add one branch in backend_factory.cpp.
#pragma once

#include <mpi.h>

#include <memory>
#include <string>
#include <vector>

#include "runtime/backend.hpp"
#include "runtime/transport.hpp"

namespace moeb {

// Throws ConfigError naming the known backends when `name` is not one of them.
std::unique_ptr<Backend> make_backend(const std::string& name, const BackendOptions& opt);
std::vector<std::string> backend_names();

// The transport that moves `backend`'s buffers: NCCL on the backend's stream for "cuda",
// MpiTransport otherwise. Collective over `comm`.
std::unique_ptr<Transport> make_transport(Backend& backend, MPI_Comm comm);

}  // namespace moeb
