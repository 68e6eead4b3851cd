// The checks of `moebench validate` (results_schema/README.md "What validate checks").
#pragma once

#include <string>
#include <vector>

namespace moeb {

struct ValidationReport {
  int num_strategies = 0;
  // One line per failure: "<dataset or attribute>: rule N (<rule>): <what>".
  std::vector<std::string> failures;
  // The root attribute `status` ("" when absent or not a string). "running" in a file that no
  // run is writing means the run was killed: its finished strategies are valid, the others are
  // missing. `moebench validate` says so and exits 1 (results_schema/README.md).
  std::string status;
  // The root attribute `error` of a run that ended on an error (status failed), else "".
  std::string error;
  bool ok() const { return failures.empty(); }
  bool unfinished() const { return status == "running"; }
};

// Checks every rule of schema version 1. A rule broken at many (iteration, layer) points is
// reported once with the first point and a count. Throws InputError (one line) when the file
// cannot be opened or its schema_version is absent or not 1 (rule 1). Every dataset's extent
// is checked against the root attributes and the documented limits before it is read, and a
// file that passes every rule is then read whole as `report` and `--resume` read it
// (read_results), so that validate accepts nothing they refuse.
ValidationReport validate_results(const std::string& path);

}  // namespace moeb
