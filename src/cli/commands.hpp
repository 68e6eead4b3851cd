// Each subcommand lives in its own cmd_<name>.cpp and registers itself on the CLI11 app here.
// main.cpp holds the explicit list.
#pragma once

#include <CLI/CLI.hpp>
#include <string>
#include <vector>

namespace moeb::cli {

// The process's command line, recorded by main() for provenance.
void set_command_line(int argc, char** argv);
const std::vector<std::string>& command_line();

// Each register_* adds a subcommand whose callback sets `exit_code`.
void register_run(CLI::App& app, int& exit_code);
void register_list(CLI::App& app, int& exit_code);
void register_validate(CLI::App& app, int& exit_code);
void register_place(CLI::App& app, int& exit_code);
void register_trace(CLI::App& app, int& exit_code);
void register_simulate(CLI::App& app, int& exit_code);
void register_calibrate(CLI::App& app, int& exit_code);
void register_report(CLI::App& app, int& exit_code);

}  // namespace moeb::cli
