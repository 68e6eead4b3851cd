// Builds without libxsmm (MOEB_FFN_LIBRARY=openblas, or libxsmm not found): no libxsmm FFN.
#include "cpu/ffn_library.hpp"

namespace moeb::cpu {
std::unique_ptr<FfnLibrary> make_libxsmm_ffn() { return nullptr; }
}  // namespace moeb::cpu
