// The calibrated synthetic generator: the families generator with its knobs (Zipf exponent,
// family hot share, prefill/decode ranking drift, recurrence) solved by bisection on a fixed
// sample so that `trace info` statistics hit chosen targets: per-layer skew, top-10% pair
// share, prefill/decode Spearman, adjacent-token recurrence. Workload presets carry published
// figures for deepseek-v3, qwen3-235b-a22b and kimi-k2.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "core/config.hpp"
#include "core/model.hpp"
#include "workload/synthetic.hpp"

namespace moeb {

struct CalibrationTargets {
  double skew = 16.0;           // mean over layers of hottest / mean expert load
  double pair_share = 0.7;      // top 10% of expert pairs' share of co-activations
  double phase_spearman = 0.8;  // Spearman(prefill loads, decode loads)
  double recurrence = 0.3;      // adjacent-token expert recurrence
  int num_families = 4;
};

struct WorkloadPreset {
  std::string name;  // model preset it belongs to
  CalibrationTargets targets;
  std::string source;  // where the figures come from
};

const std::vector<WorkloadPreset>& workload_presets();
// Throws ConfigError listing the known names.
const WorkloadPreset& workload_preset(const std::string& name);

struct CalibrationResult {
  SyntheticSpec spec;          // solved knobs
  CalibrationTargets targets;  // as asked (skew clamped to what top-k allows, see below)
  double achieved_skew = 0, achieved_pair_share = 0, achieved_phase_spearman = 0,
         achieved_recurrence = 0;  // measured on the calibration sample
  int64_t sample_tokens = 0;
};

// Solves the knobs. Skew above 0.95 * E / k is unreachable (an expert is in at most every
// token's top-k) and is clamped there. `base` supplies request_tokens and prefill_share.
// Deterministic in (targets, model shape, seed, sample_tokens).
CalibrationResult calibrate_generator(const CalibrationTargets& targets, const ModelSpec& model,
                                      const SyntheticSpec& base, uint64_t seed,
                                      int64_t sample_tokens);

// calibrate_generator, memoized in this process per (targets, model shape, base, seed, sample):
// the cells and strategies of one process that share a workload preset and seed solve it once.
CalibrationResult calibrate_generator_cached(const CalibrationTargets& targets,
                                             const ModelSpec& model, const SyntheticSpec& base,
                                             uint64_t seed, int64_t sample_tokens);

// The calibrated generator (distribution = "calibrated"): solves knobs, starting from `base`
// (the knobs `w` names), for the targets in `w` or its workload preset, and records targets and
// knobs in `prov` when given.
std::shared_ptr<const SyntheticGenerator> make_calibrated_generator(
    const WorkloadConfig& w, const SyntheticSpec& base, const ModelSpec& model, uint64_t seed,
    std::map<std::string, std::string>* prov);

}  // namespace moeb
