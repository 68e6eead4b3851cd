// moebench list: what a suite can name, printed from the specs themselves: strategies (registry
// specs with every option), model presets, replica policies, synthetic distributions, the
// suite keys (io/config_keys.hpp), and the system presets (suites/systems/*.toml, read from the
// files: their links, device and the sources their comments cite).
#include <cmath>
#include <cstdio>
#include <fstream>
#include <regex>
#include <sstream>
#include <string>

#include "cli/commands.hpp"
#include "core/model.hpp"
#include "core/placement.hpp"
#include "io/config_format.hpp"
#include "io/config_keys.hpp"
#include "io/sweep.hpp"
#include "io/config_loader.hpp"
#include "io/system_file.hpp"
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

// 450e9 B/s -> "450 GB/s"; 3e-6 s -> "3 us".
std::string si(double v, const char* unit) {
  const char* prefixes[] = {"", "k", "M", "G", "T", "P"};
  int p = 0;
  while (std::abs(v) >= 1000 && p < 5) {
    v /= 1000;
    ++p;
  }
  char buf[48];
  std::snprintf(buf, sizeof buf, "%.3g %s%s", v, prefixes[p], unit);
  return buf;
}

std::string link_text(const LinkModel& l) {
  std::string s = si(l.bandwidth_Bps, "B/s") + " per rank and direction, alpha " +
                  (l.alpha_s < 1e-3 ? si(l.alpha_s * 1e6, "us") : si(l.alpha_s, "s"));
  if (l.node_bandwidth_Bps > 0) s += ", " + si(l.node_bandwidth_Bps, "B/s") + " per node (shared)";
  return s;
}

// "table.key: comment" for every figure of the file with a trailing comment (its source or
// why it is an assumption), in file order. String values are skipped (a '#' may be inside).
std::vector<std::string> figure_sources(const std::string& path) {
  std::ifstream in(path);
  std::vector<std::string> out;
  const std::regex table(R"(^\s*\[([A-Za-z0-9_.]+)\]\s*(#.*)?$)");
  const std::regex figure(R"(^\s*([A-Za-z0-9_]+)\s*=\s*[^"'#]*#\s*(.*\S)\s*$)");
  std::string line, current;
  std::smatch m;
  while (std::getline(in, line)) {
    if (std::regex_match(line, m, table))
      current = m[1].str() + ".";
    else if (std::regex_match(line, m, figure))
      out.push_back(current + m[1].str() + ": " + m[2].str());
  }
  return out;
}

void print_systems() {
  std::printf("\nSystem presets (--system NAME, [system] model = \"NAME\"; a file path works too):\n");
  const auto names = system_preset_names();
  if (names.empty()) std::printf("  none found (searched suites/systems; set MOEB_SYSTEMS_DIR)\n");
  for (const auto& name : names) {
    const std::string path = resolve_system_path(name);
    const SystemModel s = load_system_file(path);
    std::printf("\n  %s  (%s)\n    %s\n", name.c_str(), path.c_str(), s.description.c_str());
    std::printf("    intra-node  %s\n", link_text(s.intra).c_str());
    std::printf("    inter-node  %s\n", link_text(s.inter).c_str());
    std::printf("    device      %s: %s %s, memory %s%s\n", s.device.name.c_str(),
                si(s.device.flops, "FLOP/s").c_str(), s.device.flops_dtype.c_str(),
                si(s.device.mem_bandwidth_Bps, "B/s").c_str(),
                s.device.memory_bytes > 0 ? (", " + si(s.device.memory_bytes, "B")).c_str() : "");
    const auto sources = figure_sources(path);
    if (sources.empty()) std::printf("    sources     none given in the file\n");
    for (size_t i = 0; i < sources.size(); ++i)
      std::printf("    %-11s %s\n", i == 0 ? "sources" : "", sources[i].c_str());
  }
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
      "list", "list strategies (with options), model presets, replica policies, distributions, "
              "suite keys, system presets");
  auto what = std::make_shared<std::string>("all");
  sub->add_option("what", *what,
                  "strategies | models | policies | distributions | keys | systems | all")
      ->check(CLI::IsMember(
          {"strategies", "models", "policies", "distributions", "keys", "systems", "all"}));
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
    if (w == "all" || w == "systems") print_systems();
    if (!suite->empty()) print_variants(*suite);
    exit_code = 0;
  });
}

}  // namespace moeb::cli
