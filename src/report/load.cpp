#include "report/load.hpp"

#include "core/error.hpp"
#include "io/results_file.hpp"
#include "io/validate.hpp"

namespace moeb::report {

std::vector<ReportInput> load_report_inputs(const std::vector<std::string>& paths,
                                            std::ostream& err) {
  std::vector<ReportInput> inputs;
  std::string first_skip;  // named in the error when no file is left
  for (const auto& path : paths) {
    const ValidationReport v = validate_results(path);  // throws on open / schema version
    if (!v.ok()) {
      if (first_skip.empty()) first_skip = path + ": " + v.failures.front();
      err << "moebench report: skipping " << path << ": fails validation (" << v.failures.size()
          << (v.failures.size() == 1 ? " failure" : " failures")
          << ", first: " << v.failures.front() << "); see moebench validate " << path << "\n";
      continue;
    }
    ResultsReadOptions what;
    what.rows_matrix = false;  // no table or figure of report reads it
    inputs.push_back({path, read_results(path, what)});
  }
  if (inputs.empty())
    throw InputError("moebench report: no valid results file among the " +
                     std::to_string(paths.size()) + " given (first: " + first_skip + ")");
  return inputs;
}

}  // namespace moeb::report
