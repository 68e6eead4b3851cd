// moebench: where should the experts of an MoE model live, and what does each choice cost?
#include <cstdio>
#include <exception>

#include "cli/commands.hpp"
#include "core/error.hpp"

namespace moeb::cli {
namespace {
std::vector<std::string>& command_line_storage() {
  static std::vector<std::string> v;
  return v;
}
}  // namespace
void set_command_line(int argc, char** argv) {
  command_line_storage().assign(argv, argv + argc);
}
const std::vector<std::string>& command_line() { return command_line_storage(); }
}  // namespace moeb::cli

int main(int argc, char** argv) {
  moeb::cli::set_command_line(argc, argv);
  CLI::App app{"moebench: expert-placement benchmark for Mixture-of-Experts layers"};
  app.require_subcommand(1);
  app.set_version_flag("--version", "moebench " MOEB_VERSION_STRING);
  int exit_code = 0;
  moeb::cli::register_run(app, exit_code);
  moeb::cli::register_simulate(app, exit_code);
  moeb::cli::register_place(app, exit_code);
  moeb::cli::register_report(app, exit_code);
  moeb::cli::register_validate(app, exit_code);
  moeb::cli::register_list(app, exit_code);
  moeb::cli::register_trace(app, exit_code);
  moeb::cli::register_calibrate(app, exit_code);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    int rc = app.exit(e);
    return rc == 0 ? 0 : 2;
  } catch (const moeb::ConfigError& e) {
    std::fprintf(stderr, "moebench: error: %s\n", e.what());
    return 2;
  } catch (const moeb::InputError& e) {
    std::fprintf(stderr, "moebench: error: %s\n", e.what());
    return 2;
  } catch (const moeb::Interrupted& e) {
    std::fprintf(stderr, "moebench: interrupted: %s\n", e.what());
    return 3;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "moebench: error: %s\n", e.what());
    return 1;
  }
  return exit_code;
}
