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

}  // namespace moeb
