#include "cpu/ffn_library.hpp"

#include <stdexcept>

namespace moeb::cpu {

std::vector<std::string> built_ffn_libraries() {
  std::vector<std::string> names;
  if (make_libxsmm_ffn() != nullptr) names.push_back("libxsmm");
  names.push_back("openblas");
  return names;
}

std::unique_ptr<FfnLibrary> make_ffn_library(const std::string& name, int threads) {
  if (name == "auto") {
    if (threads <= 1)
      if (auto lib = make_libxsmm_ffn()) return lib;
    return make_openblas_ffn();
  }
  if (name == "openblas") return make_openblas_ffn();
  if (name == "libxsmm")
    if (auto lib = make_libxsmm_ffn()) return lib;
  std::string built;
  for (const std::string& b : built_ffn_libraries()) built += (built.empty() ? "" : ", ") + b;
  throw std::invalid_argument("ffn library '" + name + "' is not built here (built: " + built +
                              "; or auto)");
}

}  // namespace moeb::cpu
