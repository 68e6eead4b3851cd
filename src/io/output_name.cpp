#include "io/output_name.hpp"

#include <filesystem>
#include <system_error>

#include "core/error.hpp"

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

namespace {

bool exists(const std::string& path) {
  std::error_code ec;
  return std::filesystem::exists(std::filesystem::path(path), ec) && !ec;
}

}  // namespace

std::string first_free_name(const std::string& stem, const std::string& ext) {
  if (!exists(stem + ext)) return stem + ext;
  for (int i = 1; i < 10000; ++i) {
    const std::string name = stem + "-" + std::to_string(i) + ext;
    if (!exists(name)) return name;
  }
  throw ConfigError(stem + ext + ": it and " + stem + "-1" + ext + " ... " + stem + "-9999" + ext +
                    " all exist; name the results file with -o");
}

void check_output_free(const std::string& path, bool force, const std::string& resume,
                       const std::string& hint) {
  if (force || !exists(path)) return;
  std::error_code ec;
  if (!resume.empty() && std::filesystem::equivalent(path, resume, ec) && !ec) return;
  throw ConfigError(path + ": already exists (pass --force to overwrite it, -o to name another " +
                    "file" + hint + ")");
}

}  // namespace moeb
