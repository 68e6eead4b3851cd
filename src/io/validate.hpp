// The checks of `moebench validate` (results_schema/README.md "What validate checks").
#pragma once

#include <string>
#include <vector>

namespace moeb {

struct ValidationReport {
  int num_strategies = 0;
  // One line per failure: "<dataset or attribute>: rule N (<rule>): <what>".
  std::vector<std::string> failures;
  bool ok() const { return failures.empty(); }
};

// Checks every rule of schema version 1. A rule broken at many (iteration, layer) points is
// reported once with the first point and a count. Throws InputError (one line) when the file
// cannot be opened or its schema_version is absent or not 1 (rule 1).
ValidationReport validate_results(const std::string& path);

}  // namespace moeb
