// Trace replay for open_workload: trace files (one or a weighted mix) as one token source, and
// calibration statistics from a separate trace.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "core/config.hpp"
#include "core/stats.hpp"
#include "workload/token_source.hpp"

namespace moeb {

// Opens one or several routing-trace files (results_schema/TRACE.md) as one source. With
// several, requests are drawn from each so that trace i contributes a share weights[i] of the
// tokens (all weights equal when `weights` is empty); request ids are renumbered and family
// names merged by name. Throws ConfigError / InputError naming the file.
std::shared_ptr<TokenSource> open_trace_mix(const std::vector<std::string>& paths,
                                            const std::vector<double>& weights, uint64_t seed);

// Calibration statistics from a whole separate trace (split = "trace"), which may be a
// statistics-only file. Fills the token and request counts (0 for statistics-only files).
RoutingStats calibration_stats_from_trace(const std::string& path, const ModelSpec& model,
                                          const std::string& order, int64_t batch_tokens,
                                          int64_t* tokens, int64_t* requests);

}  // namespace moeb
