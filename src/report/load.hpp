// Reading the inputs of `moebench report`: every file is validated (io's validate_results)
// before it is read, so no table is ever built from a file that breaks the schema's rules.
#pragma once

#include <ostream>
#include <string>
#include <vector>

#include "report/report.hpp"

namespace moeb::report {

// Reads the files in order. A file that cannot be opened or has another schema version throws
// InputError (one line naming it): the report is refused. A file that fails validation is named
// on `err` with its first failure and skipped. Throws InputError when no file is left.
std::vector<ReportInput> load_report_inputs(const std::vector<std::string>& paths,
                                            std::ostream& err);

}  // namespace moeb::report
