// Suite files (TOML, suites/README.md) to the resolved RunConfig, and back.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "core/config.hpp"
#include "core/options.hpp"

namespace moeb {

class PlacementStrategy;

// Parses and checks a suite file. Every default is filled; "all" in placement.strategies is
// expanded to every registered strategy (the default when the key is absent); every listed
// strategy's [strategy.<name>] options are checked against its spec. Throws ConfigError with
// one line, `FILE:LINE: key 'table.key': expected ..., got ...`, on malformed TOML, unknown
// tables or keys, wrong types, out-of-range values and inconsistent models.
RunConfig load_suite(const std::string& path);
// The same from text; `path` names the source in messages and is stored as suite_path.
RunConfig parse_suite(std::string_view toml_text, const std::string& path);

// The resolved config as a suite file: every key with its value, strategies expanded, each
// listed strategy's options resolved against its spec. load_suite of the text gives back an
// equal RunConfig (suite_path aside).
std::string config_to_toml(const RunConfig& cfg);

struct ResolvedStrategy {
  std::string name;
  const PlacementStrategy* strategy = nullptr;  // from the registry
  Options options;                              // every option of the spec, typed
  std::string dispatch;                         // variant's own dispatch mode ("" = the run's)
  int dedup = -1;                               // variant's own dedup (-1 = the run's)
};

// Resolves the options of every strategy in cfg.strategies ("all" expands to every registered
// strategy, then every variant; a variant resolves against its strategy's spec) against its spec. Throws ConfigError `SUITE: [strategy.X]: unknown option 'y'
// (expected one of: ...)`, or naming 'placement.strategies' for an unregistered strategy.
std::vector<ResolvedStrategy> resolve_strategy_options(const RunConfig& cfg);

}  // namespace moeb
