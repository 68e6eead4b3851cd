// moebench list: what a suite can name, printed from the specs themselves: strategies (registry
// specs with every option), model presets, replica policies, synthetic distributions, and the
// suite keys (io/config_keys.hpp).
#include <cmath>
#include <cstdio>
#include <string>

#include "cli/commands.hpp"
#include "core/model.hpp"
#include "core/placement.hpp"
#include "io/config_format.hpp"
#include "io/config_keys.hpp"
#include "io/sweep.hpp"
#include "io/config_loader.hpp"
#include "placement/registry.hpp"

namespace moeb::cli {

namespace {

const char* policy_description(ReplicaPolicyKind k) {
  switch (k) {
    case ReplicaPolicyKind::kPrimary:
      return "always the primary replica";
    case ReplicaPolicyKind::kUniform:
      return "uniform random per (token, expert), counter-based (SGLang \"dynamic\")";
    case ReplicaPolicyKind::kLocality:
      return "same rank, else same node, else a seeded draw (SGLang \"static\")";
    case ReplicaPolicyKind::kWeightedRR:
      return "own rank, else weighted round robin on the node, else remote (GRACE TAR+WRR)";
    case ReplicaPolicyKind::kLeastLoad:
      return "own rank, else same node, else the replica with the least predicted load";
  }
  return "";
}

std::string bound(double x) {
  if (x == std::floor(x) && std::abs(x) < 1e15) return std::to_string(static_cast<long long>(x));
  return format_toml_float(x);
}

std::string option_constraint(const OptionSpec& o) {
  if (o.type == OptionType::kString && !o.choices.empty()) {
    std::string s = "one of ";
    for (size_t i = 0; i < o.choices.size(); ++i) s += (i ? "|" : "") + o.choices[i];
    return s;
  }
  if (o.type == OptionType::kInt || o.type == OptionType::kFloat) {
    const bool lo = o.min > -1e299, hi = o.max < 2147483647.0;  // int's own limit: unbounded
    if (lo && hi) return "in [" + bound(o.min) + ", " + bound(o.max) + "]";
    if (lo) return ">= " + bound(o.min);
    if (hi) return "<= " + bound(o.max);
  }
  return "";
}

void print_strategies() {
  std::printf("Placement strategies ([placement] strategies, options in [strategy.<name>]):\n");
  for (const auto& s : strategies()) {
    const StrategySpec spec = s->spec();
    std::printf("\n  %s\n    %s\n", spec.name.c_str(), spec.description.c_str());
    if (!spec.source.empty()) std::printf("    source: %s\n", spec.source.c_str());
    if (spec.options.empty()) std::printf("    options: none\n");
    for (const auto& o : spec.options) {
      const std::string c = option_constraint(o);
      std::printf("    %-20s %-6s default %s%s%s\n        %s\n", o.name.c_str(), to_string(o.type),
                  format_toml_option(o.default_value).c_str(), c.empty() ? "" : ", ", c.c_str(),
                  o.description.c_str());
    }
  }
}

void print_models() {
  std::printf("\nModel presets ([model] preset):\n");
  std::printf("  %-20s %8s %5s %7s %10s %7s %7s %7s  %s\n", "name", "experts", "top_k", "hidden",
              "ffn_hidden", "layers", "shared", "groups", "source");
  for (const auto& m : model_presets())
    std::printf("  %-20s %8d %5d %7d %10d %7d %7d %4d/%-2d  %s\n", m.name.c_str(), m.num_experts,
                m.top_k, m.hidden, m.ffn_hidden, m.num_layers, m.num_shared_experts,
                m.num_expert_groups, m.topk_groups, m.source.c_str());
}

void print_policies() {
  std::printf("\nReplica policies (strategy option replica_policy):\n");
  for (const auto& name : replica_policy_option("primary").choices) {
    const ReplicaPolicyKind k = parse_replica_policy(name, "moebench list");
    std::printf("  %-12s %s\n", name.c_str(), policy_description(k));
  }
}

const ConfigKey* find_key(const std::string& table, const std::string& key) {
  for (const auto& k : config_keys())
    if (k.table == table && k.key == key) return &k;
  return nullptr;
}

void print_distributions() {
  std::printf("\nSynthetic distributions ([workload] distribution, with kind = \"synthetic\"):\n");
  if (const ConfigKey* k = find_key("workload", "distribution")) {
    for (const auto& c : k->choices) std::printf("  %s\n", c.c_str());
    std::printf("  (%s; keys: moebench list keys)\n", k->description.c_str());
  }
}

void print_keys() {
  std::printf("\nSuite keys (suites/README.md):\n");
  std::string table;
  RunConfig defaults;
  for (const auto& k : config_keys()) {
    if (k.table != table) {
      table = k.table;
      std::printf("  [%s]%s\n", table.c_str(),
                  table == "model"       ? "  preset = <model preset>, then overrides"
                  : table == "placement" ? "  strategies = [names] or [\"all\"]"
                                         : "");
    }
    std::string c;
    if (!k.choices.empty()) {
      c = "one of ";
      for (size_t i = 0; i < k.choices.size(); ++i) c += (i ? "|" : "") + k.choices[i];
    } else if (std::isfinite(k.min) || std::isfinite(k.max)) {
      OptionSpec o;
      o.type = OptionType::kFloat;
      o.min = std::isfinite(k.min) ? k.min : -1e300;
      o.max = std::isfinite(k.max) ? k.max : 1e300;
      c = option_constraint(o);
    }
    const std::string def = k.table == "model" ? "preset" : format_config_field(k.field(defaults));
    std::printf("    %-22s %-8s default %s%s%s\n        %s\n", k.key.c_str(),
                config_field_type(k.field(defaults)), def.c_str(), c.empty() ? "" : ", ", c.c_str(),
                k.description.c_str());
  }
  std::printf("  [sweep]  KEY = [values]: one cell per combination (suites/README.md \"Sweeps\"); "
              "--sweep KEY=V1,V2\n");
  for (const auto& k : sweep_keys())
    std::printf("    %-22s %-8s default none\n        %s\n", k.c_str(), "list",
                sweep_key_description(k).c_str());
}

// The variants a suite defines ([variant.<name>]): names usable wherever a strategy's is.
void print_variants(const std::string& suite) {
  const RunConfig cfg = load_suite(suite);
  std::printf("\nVariants of %s ([variant.<name>]; usable in placement.strategies and "
              "--strategies):\n",
              suite.c_str());
  if (cfg.variants.empty()) std::printf("  none\n");
  for (const auto& rs : resolve_strategy_options(RunConfig{cfg})) {
    if (rs.name == rs.strategy->name()) continue;
    std::string over;
    if (!rs.dispatch.empty()) over += " dispatch=" + rs.dispatch;
    if (rs.dedup >= 0) over += std::string(" dedup=") + (rs.dedup ? "true" : "false");
    std::printf("  %-20s strategy %s%s\n    %s\n", rs.name.c_str(), rs.strategy->name().c_str(),
                over.c_str(), rs.options.describe().c_str());
  }
}

}  // namespace

void register_list(CLI::App& app, int& exit_code) {
  auto* sub = app.add_subcommand(
      "list", "list strategies (with options), model presets, replica policies, distributions");
  auto what = std::make_shared<std::string>("all");
  sub->add_option("what", *what, "strategies | models | policies | distributions | keys | all")
      ->check(CLI::IsMember({"strategies", "models", "policies", "distributions", "keys", "all"}));
  auto suite = std::make_shared<std::string>();
  sub->add_option("--suite", *suite, "also list this suite's variants ([variant.<name>])")
      ->check(CLI::ExistingFile);
  sub->callback([what, suite, &exit_code] {
    const std::string& w = *what;
    if (w == "all" || w == "strategies") print_strategies();
    if (w == "all" || w == "models") print_models();
    if (w == "all" || w == "policies") print_policies();
    if (w == "all" || w == "distributions") print_distributions();
    if (w == "all" || w == "keys") print_keys();
    if (!suite->empty()) print_variants(*suite);
    exit_code = 0;
  });
}

}  // namespace moeb::cli
