// Like with like: the part of a results file's resolved configuration and provenance that the
// numbers depend on, as (key, value) pairs and a hash. Computed at report time from the stored
// `config_toml` and root attributes, so files of any earlier build work too. Which keys are in
// and which are out is documented in docs/REPORT.md ("Which files are repetitions").
#pragma once

#include <map>
#include <string>
#include <vector>

#include "core/results.hpp"

namespace moeb::report {

// Experiment keys describe what was measured (model, workload, topology, budget, dispatch...):
// columns of one table that differ in them do not compare like with like. System keys describe
// where (transport environment, library versions, hosts): they are expected to differ between
// system labels, never between repetitions.
enum class KeyKind { kExperiment, kSystem };

struct Fingerprint {
  std::map<std::string, std::string> keys;  // key -> canonical value text
  std::string hash;                         // 16 hex digits (FNV-1a 64 of "key=value\n", sorted)
  std::string short_hash() const { return hash.substr(0, 8); }
};

// Throws InputError naming `path` when config_toml is present but does not parse.
Fingerprint config_fingerprint(const RunResult& run, const std::string& path);

KeyKind key_kind(const std::string& key);

// Keys whose values differ (a key present on one side only counts, with value "(absent)").
struct KeyDiff {
  std::string key, a, b;
};
std::vector<KeyDiff> differing_keys(const Fingerprint& a, const Fingerprint& b);
// "model.hidden (512 vs 2048), env.UCX_TLS (rc vs tcp)"; at most `max` keys, then "and N more".
std::string describe_diffs(const std::vector<KeyDiff>& diffs, size_t max = 6);

// Rules, exposed for the tests and docs: is a config key (table.key) or environment variable
// part of the fingerprint?
bool config_key_counts(const std::string& dotted_key);
bool env_var_counts(const std::string& name);

}  // namespace moeb::report
