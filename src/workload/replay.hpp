// Pieces of open_workload that involve trace files and the calibrated generator.
#pragma once

#include <map>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "core/config.hpp"
#include "core/stats.hpp"
#include "workload/synthetic.hpp"
#include "workload/token_source.hpp"

namespace moeb {

// The generator knobs a workload config names (distribution uniform | zipf | families).
SyntheticSpec synthetic_spec_of(const WorkloadConfig& w);

// Statistics of `ordered` tokens of `src`, added batch by batch (batches of batch_tokens).
RoutingStats stats_of_tokens(const TokenSource& src, std::span<const int64_t> ordered,
                             int num_layers, int64_t batch_tokens);

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

// The calibrated generator (distribution = "calibrated"): solves generator knobs for the
// targets in `w` (or its workload preset) and records targets and knobs in `prov`.
std::shared_ptr<const SyntheticGenerator> make_calibrated_generator(
    const WorkloadConfig& w, const ModelSpec& model, uint64_t seed,
    std::map<std::string, std::string>* prov);

}  // namespace moeb
