// Backend by kind (core/run_types BackendKind; names in backend_names()): "cpu" (always built),
// "cuda"; another backend is one enum entry and one branch in backend_factory.cpp.
#pragma once

#include <mpi.h>

#include <memory>
#include <string>
#include <vector>

#include "core/run_types.hpp"
#include "runtime/backend.hpp"
#include "runtime/transport.hpp"

namespace moeb {

std::unique_ptr<Backend> make_backend(BackendKind kind, const BackendOptions& opt);
// By name (tests): throws ConfigError naming the known backends when `name` is not one of them.
std::unique_ptr<Backend> make_backend(const std::string& name, const BackendOptions& opt);

// The transport that moves `backend`'s buffers: NCCL on the backend's stream for "cuda",
// MpiTransport otherwise. Collective over `comm`.
std::unique_ptr<Transport> make_transport(Backend& backend, MPI_Comm comm);

}  // namespace moeb
