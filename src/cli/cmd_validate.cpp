// moebench validate FILE...: checks results files against results_schema/README.md (v1).
#include <cstdio>

#include "cli/commands.hpp"
#include "core/error.hpp"
#include "io/validate.hpp"
#include "workload/trace_file.hpp"

namespace moeb::cli {

void register_validate(CLI::App& app, int& exit_code) {
  auto* sub = app.add_subcommand(
      "validate", "check results files against the schema (results_schema/README.md)");
  auto files = std::make_shared<std::vector<std::string>>();
  sub->add_option("files", *files, "results files (.h5)")->required()->check(CLI::ExistingFile);
  sub->callback([files, &exit_code] {
    // Unreadable files and unknown schema versions throw InputError: one line, exit 2 (main).
    int rc = 0;
    for (const auto& path : *files) {
      if (is_routing_trace_file(path))
        throw InputError(path +
                         ": a routing-trace file, not a results file; inspect it with "
                         "`moebench trace info " +
                         path + "`");
      const ValidationReport rep = validate_results(path);
      for (const auto& line : rep.failures) std::printf("%s: %s\n", path.c_str(), line.c_str());
      if (!rep.ok()) {
        rc = 1;
      } else if (rep.unfinished()) {
        // A killed run: not silently "valid" (results_schema/README.md, exit codes).
        std::printf(
            "%s: valid but unfinished (%d strategies, status 'running': the run was killed or is "
            "still writing; moebench run --resume %s completes it)\n",
            path.c_str(), rep.num_strategies, path.c_str());
        rc = 1;
      } else if (!rep.error.empty()) {
        // A run ended by an error on one of its ranks: its finished strategies are valid.
        std::printf(
            "%s: valid but unfinished (%d strategies, status '%s': the run ended on an error: "
            "%s; moebench run --resume %s completes it)\n",
            path.c_str(), rep.num_strategies, rep.status.c_str(), rep.error.c_str(), path.c_str());
        rc = 1;
      } else if (rep.status != "complete" && !rep.status.empty()) {
        std::printf("%s: valid (%d strategies, status '%s')\n", path.c_str(), rep.num_strategies,
                    rep.status.c_str());
      } else {
        std::printf("%s: valid (%d strategies)\n", path.c_str(), rep.num_strategies);
      }
    }
    exit_code = rc;
  });
}

}  // namespace moeb::cli
