// System files (suites/systems/*.toml): the interconnect and device figures the cost model uses.
// Strict keys: an unknown table or key, a wrong type or a missing figure is one ConfigError line
// naming the file, the line and the key.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "core/cost_model.hpp"

namespace moeb {

// Parses TOML text; `path` is used in error messages and stored as SystemModel::source.
SystemModel parse_system_toml(const std::string& text, const std::string& path);
// Reads and parses a file; throws ConfigError when it cannot be read.
SystemModel load_system_file(const std::string& path);

// Directories searched for presets, in order: $MOEB_SYSTEMS_DIR, ./suites/systems, and
// suites/systems in the parents (up to six levels) of the running executable's directory.
std::vector<std::string> system_search_dirs();
// Names of the presets found in the search directories (file stems, sorted, deduplicated).
std::vector<std::string> system_preset_names();
// A path to a system file (anything containing '/' or ending in ".toml") or a preset name.
// Throws ConfigError listing the known presets when `name_or_path` resolves to nothing.
std::string resolve_system_path(const std::string& name_or_path);
// resolve_system_path + load_system_file.
SystemModel find_system(const std::string& name_or_path);

// A system file for `s`, loadable by parse_system_toml. `header` lines become leading comments
// and `notes` (key -> text) comments next to the figures they explain (keys such as
// "intra.alpha_s").
std::string format_system_toml(const SystemModel& s, const std::vector<std::string>& header,
                               const std::map<std::string, std::string>& notes);

}  // namespace moeb
