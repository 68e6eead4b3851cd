#include "cpu/ffn_library.hpp"

#include <stdexcept>

#include "cpu/expert_ffn.hpp"

namespace moeb::cpu {

void ExpertFfn::run_rows(const float* src, const int64_t* rows, int64_t n, const float* gate,
                         int hidden, float* x, float* h13, float* y, float* out) const {
  gather_rows(src, rows, n, hidden, x);
  run(x, hidden, n, gate, h13, y, hidden, false);
  scatter_add_rows(y, rows, n, hidden, out);
}

std::vector<std::string> built_ffn_libraries() {
  std::vector<std::string> names;
  if (make_avx2_ffn() != nullptr) names.push_back("avx2");
  if (make_libxsmm_ffn() != nullptr) names.push_back("libxsmm");
  names.push_back("openblas");
  return names;
}

std::unique_ptr<FfnLibrary> make_ffn_library(const std::string& name, int threads) {
  if (name == "auto") {  // one thread: the first built (avx2, else libxsmm); more: OpenBLAS
    if (threads <= 1) {
      if (auto lib = make_avx2_ffn()) return lib;
      if (auto lib = make_libxsmm_ffn()) return lib;
    }
    return make_openblas_ffn();
  }
  if (name == "openblas") return make_openblas_ffn();
  if (name == "libxsmm")
    if (auto lib = make_libxsmm_ffn()) return lib;
  if (name == "avx2")
    if (auto lib = make_avx2_ffn()) return lib;
  std::string built;
  for (const std::string& b : built_ffn_libraries()) built += (built.empty() ? "" : ", ") + b;
  throw std::invalid_argument("ffn library '" + name + "' is not built here (built: " + built +
                              "; or auto)");
}

}  // namespace moeb::cpu
