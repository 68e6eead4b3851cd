// Provenance of one rank's GPU and the CUDA/NCCL libraries it runs with.
#pragma once

#include <string>
#include <utility>
#include <vector>

namespace moeb::cuda {

class CudaBackend;

// See cuda_entry.hpp for the names. `backend` may be null: library versions only.
std::vector<std::pair<std::string, std::string>> collect_provenance(const CudaBackend* backend);

// "12.4" from CUDA's 12040 encoding.
std::string cuda_version_string(int encoded);

// Standard output of `command` (via /bin/sh), or "" when it cannot run or exits non-zero.
std::string capture_command(const std::string& command);

}  // namespace moeb::cuda
