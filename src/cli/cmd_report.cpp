// moebench report (placeholder until its issue lands; owned by the helper building it).
#include "cli/commands.hpp"

namespace moeb::cli {

void register_report(CLI::App& app, int& exit_code) {
  auto* sub = app.add_subcommand("report", "(not built yet)");
  sub->callback([&exit_code] { exit_code = 1; });
}

}  // namespace moeb::cli
