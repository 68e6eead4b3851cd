// Sweep axes (suites/README.md "Sweeps"): [sweep] in a suite and --sweep KEY=V1,V2 on the command
// line list values of run-wide knobs; the cells of an experiment are their cartesian product.
// Values are kept as canonical text; the experiment layer applies each cell's values as the
// matching command-line override would (dispatch, dedup, batch tokens, --slots, --topology,
// the system preset).
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "core/config.hpp"

namespace moeb {

// The keys a sweep may name, in documentation order.
const std::vector<std::string>& sweep_keys();
// One line per key for `moebench list keys`: "sweep.KEY  list  description".
std::string sweep_key_description(const std::string& key);

// Why `value` is not a valid value of axis `key` ("expected ..., got ..."), "" when it is.
// `value` is canonical text (dedup "true"/"false", batch_tokens an integer, slots as --slots).
std::string sweep_value_error(const std::string& key, const std::string& value);

// "KEY=V1,V2,..." (--sweep); throws ConfigError naming --sweep on a bad key or value.
SweepAxis parse_sweep_option(const std::string& text);
// Adds `axis` to `axes`, replacing an axis of the same key (a --sweep overrides the suite's).
void merge_sweep_axis(std::vector<SweepAxis>& axes, const SweepAxis& axis);

// The cells: one (key, value) list per combination, the first axis varying slowest. Axes with
// one value contribute that value to every cell; no axis gives one empty cell.
std::vector<std::vector<std::pair<std::string, std::string>>> sweep_cells(
    const std::vector<SweepAxis>& axes);

// --slots and the slots axis: "N" slots per rank, "+N" spare slots per rank, "N/layer" replicas
// per layer, "NGiB" expert memory per rank; replaces cfg's budget. Throws ConfigError naming
// `where` otherwise.
void apply_budget_text(RunConfig& cfg, const std::string& text, const std::string& where);

}  // namespace moeb
