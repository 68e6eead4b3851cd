#include "io/sweep.hpp"

#include <algorithm>
#include <stdexcept>

#include "core/error.hpp"
#include "core/limits.hpp"
#include "core/run_types.hpp"
#include "core/topology.hpp"
#include "io/config_keys.hpp"

namespace moeb {

const std::vector<std::string>& sweep_keys() {
  static const std::vector<std::string> k = {"dispatch", "dedup",    "batch_tokens",
                                             "slots",    "topology", "system"};
  return k;
}

std::string sweep_key_description(const std::string& key) {
  if (key == "dispatch") return "dispatch modes (flat, hierarchical), as run.dispatch";
  if (key == "dedup") return "true and/or false, as run.dedup";
  if (key == "batch_tokens") return "tokens per batch, as workload.batch_tokens (simulate: --batch-tokens)";
  if (key == "slots") return "budgets as --slots: N, +N, N/layer, NGiB";
  if (key == "topology") return "simulate, place: NxG, as --topology";
  if (key == "system") return "simulate, place: cost-model system preset or file, as --system";
  return "";
}

namespace {

std::string quoted(const std::string& v) { return "\"" + v + "\""; }

const ConfigKey& batch_tokens_key() {
  for (const auto& k : config_keys())
    if (k.table == "workload" && k.key == "batch_tokens") return k;
  throw Error("config key workload.batch_tokens missing");
}

std::string batch_tokens_error(const std::string& v) {
  const ConfigKey& k = batch_tokens_key();
  const std::string expected = "an integer in [" + std::to_string(static_cast<long long>(k.min)) +
                               ", " + std::to_string(static_cast<long long>(k.max)) + "]";
  size_t used = 0;
  long long x = 0;
  try {
    x = std::stoll(v, &used);
  } catch (const std::exception&) {
    used = 0;
  }
  if (used == 0 || used != v.size() || static_cast<double>(x) < k.min ||
      static_cast<double>(x) > k.max)
    return "expected " + expected + ", got " + quoted(v);
  return "";
}

}  // namespace

std::string sweep_value_error(const std::string& key, const std::string& value) {
  if (key == "dispatch") {
    const auto modes = dispatch_mode_names();
    if (std::find(modes.begin(), modes.end(), value) == modes.end())
      return "expected flat or hierarchical, got " + quoted(value);
  } else if (key == "dedup") {
    if (value != "true" && value != "false") return "expected true or false, got " + quoted(value);
  } else if (key == "batch_tokens") {
    return batch_tokens_error(value);
  } else if (key == "slots") {
    try {
      RunConfig c;
      apply_budget_text(c, value, "slots");
    } catch (const ConfigError&) {
      return "expected N, +N, N/layer or NGiB, got " + quoted(value);
    }
  } else if (key == "topology") {
    try {
      parse_topology(value, "topology");
    } catch (const ConfigError&) {
      return "expected NxG (nodes x ranks per node), got " + quoted(value);
    }
  } else if (key == "system") {
    if (value.empty()) return "expected a system preset or file, got \"\"";
  } else {
    std::string keys;
    for (const auto& k : sweep_keys()) keys += (keys.empty() ? "" : ", ") + k;
    return "unknown sweep key '" + key + "' (expected one of: " + keys + ")";
  }
  return "";
}

SweepAxis parse_sweep_option(const std::string& text) {
  const auto eq = text.find('=');
  if (eq == std::string::npos || eq == 0 || eq + 1 >= text.size())
    throw ConfigError("--sweep: expected KEY=V1,V2,... got '" + text + "'");
  SweepAxis a;
  a.key = text.substr(0, eq);
  size_t start = eq + 1;
  while (start <= text.size()) {
    size_t end = text.find(',', start);
    if (end == std::string::npos) end = text.size();
    a.values.push_back(text.substr(start, end - start));
    start = end + 1;
  }
  for (const auto& v : a.values) {
    const std::string err = sweep_value_error(a.key, v);
    if (!err.empty()) throw ConfigError("--sweep " + a.key + ": " + err);
    if (std::count(a.values.begin(), a.values.end(), v) > 1)
      throw ConfigError("--sweep " + a.key + ": value '" + v + "' repeats");
  }
  return a;
}

void merge_sweep_axis(std::vector<SweepAxis>& axes, const SweepAxis& axis) {
  for (auto& a : axes)
    if (a.key == axis.key) {
      a.values = axis.values;
      return;
    }
  axes.push_back(axis);
}

std::vector<std::vector<std::pair<std::string, std::string>>> sweep_cells(
    const std::vector<SweepAxis>& axes) {
  std::vector<std::vector<std::pair<std::string, std::string>>> cells(1);
  for (const auto& a : axes) {
    std::vector<std::vector<std::pair<std::string, std::string>>> next;
    for (const auto& c : cells)
      for (const auto& v : a.values) {
        next.push_back(c);
        next.back().emplace_back(a.key, v);
      }
    cells = std::move(next);
  }
  return cells;
}

void apply_budget_text(RunConfig& cfg, const std::string& v, const std::string& where) {
  auto fail = [&]() {
    throw ConfigError(where + ": expected N (slots per rank), +N (spare slots per rank), N/layer "
                      "(replicas per layer) or NGiB (expert memory per rank), got '" + v + "'");
  };
  auto number = [&](const std::string& t) {
    size_t used = 0;
    double x = 0;
    try {
      x = std::stod(t, &used);
    } catch (const std::exception&) {
      fail();
    }
    if (used != t.size() || !(x >= 0) || x > 1e9) fail();
    return x;
  };
  auto integer = [&](const std::string& t) {
    const double x = number(t);
    if (x != static_cast<double>(static_cast<int>(x))) fail();
    return static_cast<int>(x);
  };
  if (v.empty()) fail();
  cfg.slots_per_rank = cfg.spare_slots_per_rank = cfg.replicas_per_layer = 0;
  cfg.expert_memory_gib = 0;
  const auto ends = [&](const std::string& suffix) {
    return v.size() > suffix.size() &&
           v.compare(v.size() - suffix.size(), suffix.size(), suffix) == 0;
  };
  if (v[0] == '+')
    cfg.spare_slots_per_rank = integer(v.substr(1));
  else if (ends("/layer"))
    cfg.replicas_per_layer = integer(v.substr(0, v.size() - 6));
  else if (ends("GiB"))
    cfg.expert_memory_gib = number(v.substr(0, v.size() - 3));
  else if ((cfg.slots_per_rank = integer(v)) < 1)
    fail();
}

}  // namespace moeb
