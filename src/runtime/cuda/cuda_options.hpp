// Options of the CUDA backend and how they are read (environment, exported to every rank).
// Pure (no CUDA headers), unit-tested on CPU.
#pragma once

#include <functional>
#include <string>

namespace moeb::cuda {

// Expert FFN GEMMs: one cublasGemmGroupedBatchedEx call, or one cublasGemmEx per expert.
enum class GemmMode { kGrouped, kLoop };

// "grouped" | "loop"; throws ConfigError naming `where` otherwise.
GemmMode parse_gemm_mode(const std::string& text, const std::string& where);
const char* gemm_mode_name(GemmMode mode);

struct CudaBackendOptions {
  GemmMode gemm = GemmMode::kGrouped;
  bool l2_flush = false;         // flush L2 in set_input (before each layer's timed region)
  bool exchange_counts = false;  // NCCL transport: verify plan counts with a host exchange
};

// MOEB_CUDA_GEMM (grouped|loop), MOEB_CUDA_L2_FLUSH (0|1), MOEB_CUDA_EXCHANGE_COUNTS (0|1);
// unset -> defaults. Throws ConfigError naming the variable on any other value. `getenv_fn`
// returns nullptr for unset names (std::getenv in production, a map in tests).
CudaBackendOptions cuda_options_from_env(const std::function<const char*(const char*)>& getenv_fn);

}  // namespace moeb::cuda
