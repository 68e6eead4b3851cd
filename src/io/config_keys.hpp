// The suite keys that map one-to-one onto RunConfig fields: one table, read by the loader
// (type and range checks), the writer (config_to_toml) and suites/README.md. A new key is one
// line in config_keys.cpp. Keys with structure of their own ([model] preset,
// [placement] strategies, [strategy.<name>] tables) are handled by the loader itself.
#pragma once

#include <cstdint>
#include <functional>
#include <limits>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include "core/config.hpp"

namespace moeb {

using ConfigField = std::variant<int*, int64_t*, uint64_t*, double*, bool*, std::string*,
                                 std::vector<std::string>*, std::vector<double>*>;

struct ConfigKey {
  std::string table;  // "workload"
  std::string key;    // "zipf_s"
  std::function<ConfigField(RunConfig&)> field;
  double min = -std::numeric_limits<double>::infinity();  // numbers (and list elements)
  double max = std::numeric_limits<double>::infinity();
  std::vector<std::string> choices;  // strings; empty = free text
  std::string description;
};

// Every plain key, grouped by table in suite order.
const std::vector<ConfigKey>& config_keys();
// Keys added after results files were written without them, with the value such a file's
// configuration implies ("workload.generator_version" -> "1"): resume and report read an
// absent key as this value, so an older file compares equal to a run that sets it.
const std::vector<std::pair<std::string, std::string>>& implied_config_values();
// The table names a suite may hold ("suite", "model", ..., "strategy").
const std::vector<std::string>& config_tables();

}  // namespace moeb
