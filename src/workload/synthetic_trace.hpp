// Writes a synthetic workload (any distribution, calibrated included) as a routing-trace file.
#pragma once

#include <map>
#include <string>

#include "core/config.hpp"

namespace moeb {

// Generates cfg.workload.tokens tokens of cfg.model with cfg.seed and writes them, streamed, to
// `out_path` (via out_path.tmp). Returns the generator's provenance (knobs, targets).
std::map<std::string, std::string> write_synthetic_trace(const RunConfig& cfg,
                                                         const std::string& out_path);

}  // namespace moeb
