#include "io/output_name.hpp"

namespace moeb {

std::string safe_file_stem(std::string_view stem) {
  std::string out;
  out.reserve(stem.size());
  for (const char c : stem) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '.' || c == '_' || c == '+' || c == '-';
    out.push_back(ok ? c : '_');
  }
  if (out.empty()) return "run";
  if (out.front() == '.') out.front() = '_';
  if (out.size() > 200) out.resize(200);  // one component stays under NAME_MAX with a suffix
  return out;
}

}  // namespace moeb
