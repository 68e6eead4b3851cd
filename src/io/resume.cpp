#include "io/resume.hpp"

#include <algorithm>
#include <cmath>
#include <map>
#include <sstream>

#include <toml++/toml.h>

#include "core/error.hpp"
#include "platform/h5.hpp"
#include "io/config_keys.hpp"
#include "io/results_file.hpp"
#include "io/validate.hpp"

namespace moeb {

bool is_finished_status(const std::string& status) {
  const auto s = parse_strategy_status(status);
  return s && is_finished(*s);
}

std::set<std::string> completed_strategies(const RunResult& previous) {
  std::set<std::string> done;
  for (const auto& s : previous.strategies) {
    if (is_finished(s.status)) done.insert(result_key(s));
  }
  return done;
}

std::set<std::string> completed_strategies(const std::string& results_path) {
  h5::silence_errors();
  h5::Handle file = h5::open_file_read(results_path);
  const auto fail = [&](const std::string& what) -> InputError {
    return InputError(results_path + ": cannot resume: " + what);
  };
  if (!h5::has_attr(file, "schema_version")) throw fail("no schema_version attribute (not a moebench results file)");
  const int64_t version = h5::read_attr_int(file, "schema_version");
  if (version != kResultsSchemaVersion) {
    throw fail("schema_version is " + std::to_string(version) + ", expected " +
               std::to_string(kResultsSchemaVersion));
  }
  std::set<std::string> done;
  if (!h5::exists(file, "strategies")) return done;  // written before any strategy finished
  h5::Handle group = h5::open_group(file, "strategies");
  for (const auto& name : h5::child_names(group)) {
    h5::Handle s = h5::open_group(group, name);
    if (!h5::has_attr(s, "status")) throw fail("/strategies/" + name + " has no status attribute");
    if (is_finished_status(h5::read_attr_str(s, "status"))) done.insert(name);
  }
  return done;
}

RunResult load_for_resume(const std::string& results_path) {
  // Nothing is carried over from a file that validate would refuse (issue 17): a strategy with a
  // replica on rank 99 or a negative time would otherwise be copied into the new file.
  const ValidationReport v = validate_results(results_path);
  if (!v.ok())
    throw InputError(results_path + ": cannot resume: the file fails validation (" +
                     std::to_string(v.failures.size()) +
                     (v.failures.size() == 1 ? " failure" : " failures") +
                     ", first: " + v.failures.front() + "); see moebench validate");
  return read_results(results_path);
}

std::vector<std::string> strategies_to_run(const std::vector<std::string>& planned,
                                           const std::set<std::string>& finished) {
  std::vector<std::string> todo;
  for (const auto& name : planned) {
    if (!finished.count(name) && std::find(todo.begin(), todo.end(), name) == todo.end()) {
      todo.push_back(name);
    }
  }
  return todo;
}

const std::vector<std::string>& resume_identity_attributes() {
  static const std::vector<std::string> names = {
      "suite_name",   "system",         "backend",       "seed",        "num_ranks",
      "num_nodes",    "topology",       "model_preset",  "num_experts", "top_k",
      "hidden",       "ffn_hidden",     "num_layers",    "num_shared_experts",
      "act_dtype",    "dispatch",       "dedup",         "sync_probe",  "slots_per_rank",
      "trace_source", "trace_sha256",   "split",         "calibration_tokens",
      "evaluation_tokens"};
  return names;
}

namespace {

std::string format_number(double v) {
  std::ostringstream os;
  os.precision(17);
  os << v;
  return os.str();
}

// The attribute as text, or "" when absent. Numbers compare by value, so 4 and 4.0 agree.
bool lookup(const RunResult& r, const std::string& name, std::string& text, bool& is_number,
            double& number) {
  if (auto it = r.attrs_str.find(name); it != r.attrs_str.end()) {
    text = it->second;
    is_number = false;
    return true;
  }
  if (auto it = r.attrs_num.find(name); it != r.attrs_num.end()) {
    number = it->second;
    text = format_number(number);
    is_number = true;
    return true;
  }
  return false;
}

}  // namespace

namespace {

using FlatConfig = std::vector<std::pair<std::string, std::string>>;  // (dotted key, value)

// Leaves of a TOML table as (dotted key, value as TOML text), in document order where
// toml++ keeps it (it sorts keys within a table, which is all the order the message needs).
void flatten(const toml::table& t, const std::string& prefix, FlatConfig& out) {
  for (const auto& [key, node] : t) {
    const std::string name = prefix + std::string(key.str());
    if (const auto* sub = node.as_table()) {
      flatten(*sub, name + ".", out);
    } else {
      std::ostringstream os;
      node.visit([&os](const auto& v) { os << v; });
      out.emplace_back(name, os.str());
    }
  }
}

FlatConfig flat_config(const std::string& text, const char* which) {
  FlatConfig out;
  try {
    flatten(toml::parse(text), "", out);
  } catch (const toml::parse_error& e) {
    throw InputError(std::string("config_toml of ") + which + " is not TOML: " +
                     std::string(e.description()));
  }
  for (const auto& [key, value] : implied_config_values()) {  // keys newer than the file
    const bool present =
        std::any_of(out.begin(), out.end(), [&](const auto& kv) { return kv.first == key; });
    if (!present) out.emplace_back(key, value);
  }
  return out;
}

// "strategy.eplb" / "variant.x" of "strategy.eplb.policy", "" for other keys.
std::string instance_table(const std::string& key) {
  for (const char* t : {"strategy.", "variant."}) {
    const std::string p = t;
    if (key.rfind(p, 0) == 0) return key.substr(0, key.find('.', p.size()));
  }
  return "";
}

bool has_table(const FlatConfig& c, const std::string& table) {
  for (const auto& [k, v] : c)
    if (k.rfind(table + ".", 0) == 0 || k == table) return true;
  return false;
}

// toml++ prints an empty instance table as no key at all: its presence is the table line.
bool has_instance(const std::string& text, const std::string& table) {
  return text.find("[" + table + "]") != std::string::npos;
}

}  // namespace

std::vector<std::string> config_differences(const std::string& file_toml,
                                            const std::string& run_toml) {
  const FlatConfig a = flat_config(file_toml, "the file"), b = flat_config(run_toml, "this run");
  std::map<std::string, std::string> am(a.begin(), a.end()), bm(b.begin(), b.end());
  const auto compared = [&](const std::string& key) {
    if (key == "placement.strategies") return false;
    const std::string inst = instance_table(key);
    return inst.empty() || ((has_table(a, inst) || has_instance(file_toml, inst)) &&
                            (has_table(b, inst) || has_instance(run_toml, inst)));
  };
  std::vector<std::string> diffs;
  const auto add = [&](const std::string& key, const std::string* x, const std::string* y) {
    diffs.push_back(key + " (" + (x ? *x : "absent") + " in the file, " + (y ? *y : "absent") +
                    " in this run)");
  };
  for (const auto& [key, value] : a) {
    if (!compared(key)) continue;
    auto it = bm.find(key);
    if (it == bm.end())
      add(key, &value, nullptr);
    else if (it->second != value)
      add(key, &value, &it->second);
  }
  for (const auto& [key, value] : b)
    if (compared(key) && !am.count(key)) add(key, nullptr, &value);
  return diffs;
}

void check_resume_compatible(const RunResult& previous, const RunResult& current,
                             const std::string& results_path) {
  if (!previous.config_toml.empty() && !current.config_toml.empty()) {
    std::vector<std::string> diffs;
    try {
      diffs = config_differences(previous.config_toml, current.config_toml);
    } catch (const InputError& e) {
      throw InputError(results_path + ": cannot resume: " + e.what());
    }
    if (!diffs.empty()) {
      std::string list;
      for (size_t i = 0; i < diffs.size(); ++i) list += (i ? ", " : "") + diffs[i];
      throw ConfigError(results_path + ": cannot resume: the resolved configuration differs in " +
                        std::to_string(diffs.size()) + (diffs.size() == 1 ? " key: " : " keys: ") +
                        list + " (resume with the same suite and options, or run without " +
                        "--resume into a new file)");
    }
  }
  for (const auto& name : resume_identity_attributes()) {
    std::string a, b;
    bool a_num = false, b_num = false;
    double x = 0, y = 0;
    if (!lookup(previous, name, a, a_num, x) || !lookup(current, name, b, b_num, y)) continue;
    const bool same = (a_num && b_num) ? (x == y || (std::isnan(x) && std::isnan(y))) : a == b;
    if (!same) {
      throw ConfigError(results_path + ": cannot resume: attribute " + name + " is '" + a +
                        "' in the file, '" + b +
                        "' in this run (resume with the same suite, options and rank count)");
    }
  }
}

void mark_carried_over(StrategyResult& s, const RunResult& previous,
                       const std::string& results_path) {
  for (const auto& [key, value] : s.notes) {
    if (key == "carried_over_from") return;
  }
  s.notes.emplace_back("carried_over_from", results_path);
  const auto copy = [&](const char* attr, const char* note) {
    if (auto it = previous.attrs_str.find(attr); it != previous.attrs_str.end()) {
      s.notes.emplace_back(note, it->second);
    } else if (auto jt = previous.attrs_num.find(attr); jt != previous.attrs_num.end()) {
      s.notes.emplace_back(note, format_number(jt->second));
    }
  };
  copy("start_time", "measured_start_time");
  copy("slurm_job_id", "measured_slurm_job_id");
  copy("slurm_job_nodelist", "measured_slurm_job_nodelist");
}

std::vector<StrategyResult> merge_resumed(const std::vector<std::string>& planned,
                                          const std::vector<StrategyResult>& previous,
                                          const std::vector<StrategyResult>& fresh) {
  std::map<std::string, const StrategyResult*> from_fresh, from_previous;
  for (const auto& s : fresh) from_fresh.emplace(result_key(s), &s);  // first occurrence wins
  for (const auto& s : previous) from_previous.emplace(result_key(s), &s);

  std::vector<StrategyResult> merged;
  std::set<std::string> taken;
  const auto take = [&](const std::string& name) {
    if (taken.count(name)) return;
    if (auto it = from_fresh.find(name); it != from_fresh.end()) {
      merged.push_back(*it->second);
    } else if (auto jt = from_previous.find(name); jt != from_previous.end()) {
      merged.push_back(*jt->second);
    } else {
      return;  // planned, not run yet
    }
    taken.insert(name);
  };
  for (const auto& name : planned) take(name);
  for (const auto& s : previous) take(result_key(s));  // not planned this time: kept
  for (const auto& s : fresh) take(result_key(s));     // run though not planned (defensive)
  return merged;
}

}  // namespace moeb
