#include "runtime/cuda/cuda_options.hpp"

#include "core/error.hpp"

namespace moeb::cuda {

namespace {

bool parse_flag(const char* name, const char* v) {
  const std::string s(v);
  if (s == "1" || s == "on" || s == "true") return true;
  if (s == "0" || s == "off" || s == "false" || s.empty()) return false;
  throw ConfigError(std::string(name) + "=\"" + s + "\": expected 0 or 1");
}

}  // namespace

GemmMode parse_gemm_mode(const std::string& text, const std::string& where) {
  if (text == "grouped") return GemmMode::kGrouped;
  if (text == "loop") return GemmMode::kLoop;
  throw ConfigError(where + "=\"" + text + "\": expected grouped or loop");
}

const char* gemm_mode_name(GemmMode mode) {
  return mode == GemmMode::kGrouped ? "grouped" : "loop";
}

CudaBackendOptions cuda_options_from_env(const std::function<const char*(const char*)>& getenv_fn) {
  CudaBackendOptions o;
  if (const char* v = getenv_fn("MOEB_CUDA_GEMM")) o.gemm = parse_gemm_mode(v, "MOEB_CUDA_GEMM");
  if (const char* v = getenv_fn("MOEB_CUDA_L2_FLUSH"))
    o.l2_flush = parse_flag("MOEB_CUDA_L2_FLUSH", v);
  if (const char* v = getenv_fn("MOEB_CUDA_EXCHANGE_COUNTS"))
    o.exchange_counts = parse_flag("MOEB_CUDA_EXCHANGE_COUNTS", v);
  return o;
}

}  // namespace moeb::cuda
