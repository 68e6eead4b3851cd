#include "placement/registry.hpp"

#include "core/error.hpp"

namespace moeb {

// One factory per strategy file.
std::unique_ptr<PlacementStrategy> make_baseline();
std::unique_ptr<PlacementStrategy> make_round_robin();
std::unique_ptr<PlacementStrategy> make_eplb();
std::unique_ptr<PlacementStrategy> make_tacg();
std::unique_ptr<PlacementStrategy> make_grace();
std::unique_ptr<PlacementStrategy> make_craft();
std::unique_ptr<PlacementStrategy> make_c2r();
std::unique_ptr<PlacementStrategy> make_prefill();
std::unique_ptr<PlacementStrategy> make_optimal();
std::unique_ptr<PlacementStrategy> make_megablocks();
std::unique_ptr<PlacementStrategy> make_coact_uniform();
std::unique_ptr<PlacementStrategy> make_c2r_group();

namespace {
std::vector<std::unique_ptr<PlacementStrategy>> build_table() {
  std::vector<std::unique_ptr<PlacementStrategy>> t;
  t.push_back(make_baseline());
  t.push_back(make_round_robin());
  t.push_back(make_eplb());
  t.push_back(make_tacg());
  t.push_back(make_grace());
  t.push_back(make_craft());
  t.push_back(make_c2r());
  t.push_back(make_prefill());
  t.push_back(make_optimal());
  t.push_back(make_megablocks());
  t.push_back(make_coact_uniform());
  t.push_back(make_c2r_group());
  return t;
}
}  // namespace

const std::vector<std::unique_ptr<PlacementStrategy>>& strategies() {
  static const auto table = build_table();
  return table;
}

std::vector<std::string> strategy_names() {
  std::vector<std::string> names;
  for (const auto& s : strategies()) names.push_back(s->name());
  return names;
}

const PlacementStrategy& find_strategy(const std::string& name, const std::string& where) {
  for (const auto& s : strategies())
    if (s->name() == name) return *s;
  std::string known;
  for (const auto& n : strategy_names()) known += (known.empty() ? "" : ", ") + n;
  throw ConfigError(where + ": unknown strategy '" + name + "' (expected one of: " + known + ")");
}

OptionSpec replica_policy_option(const std::string& default_policy) {
  return OptionSpec{"replica_policy", OptionType::kString, default_policy,
                    "how a (token, expert) pair picks one of the expert's replicas: primary = "
                    "always the first; uniform = seeded random draw; locality = own rank, else "
                    "same node, else a draw; wrr = own rank, else weighted round robin over "
                    "same-node, else remote replicas; least_load = own rank, else same node, "
                    "else least predicted load",
                    {"primary", "uniform", "locality", "wrr", "least_load"}};
}

}  // namespace moeb
