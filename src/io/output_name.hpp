// Default output file names built from names read from input (a suite's [suite] name, a system
// file's name): never a path. Any character outside [A-Za-z0-9._+-] becomes '_', and a leading
// '.' becomes '_', so "../x" gives "_._x" and "a/b" gives "a_b": the file always lands in the
// working directory (issue 17, "Output paths from names are sanitized").
#pragma once

#include <string>
#include <string_view>

namespace moeb {

// `stem` made safe as one path component; "run" when it is empty.
std::string safe_file_stem(std::string_view stem);

// Results files are never overwritten by a default name (issue 15): STEM + EXT when no such
// file exists, else the first of STEM-1 + EXT, STEM-2 + EXT, ... that does not. Throws
// ConfigError when 10000 such names are taken.
std::string first_free_name(const std::string& stem, const std::string& ext);

// An explicit output path (-o) that already exists is refused unless `force`, or unless it is
// the file being resumed (`resume`, same file): throws ConfigError "PATH: already exists; ...".
// `hint` is appended to the advice (e.g. ", or --resume PATH to complete it").
void check_output_free(const std::string& path, bool force, const std::string& resume,
                       const std::string& hint);

}  // namespace moeb
