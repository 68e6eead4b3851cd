#include "core/error.hpp"

namespace moeb {

std::string source_location_prefix(const char* file, int line) {
  std::string f(file);
  auto pos = f.rfind("/src/");
  if (pos != std::string::npos) f = f.substr(pos + 1);
  return f + ":" + std::to_string(line) + ": ";
}

}  // namespace moeb
