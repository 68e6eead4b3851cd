// Options shared by run, simulate and place: --force (overwrite an existing -o file), --quiet
// and --progress (experiment/progress.hpp).
#pragma once

#include <CLI/CLI.hpp>

#include "experiment/experiment.hpp"

namespace moeb::cli {

inline void add_experiment_ui_options(CLI::App* sub, ExperimentRequest& r) {
  sub->add_flag("--force", r.force, "overwrite the file -o names when it exists");
  auto* quiet = sub->add_flag_callback(
      "-q,--quiet", [&r] { r.progress = ProgressRequest::kQuiet; },
      "no progress lines and no line per strategy: errors, warnings and the final table");
  auto* progress = sub->add_flag_callback(
      "--progress", [&r] { r.progress = ProgressRequest::kForce; },
      "progress lines every few seconds even when stderr is not a terminal (batch logs)");
  quiet->excludes(progress);
}

}  // namespace moeb::cli
