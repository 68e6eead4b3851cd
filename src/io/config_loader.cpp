// Suite TOML -> RunConfig (suites/README.md). Every failure is one ConfigError line naming the
// file, the line and the key.
#include "io/config_loader.hpp"

#include <toml++/toml.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <limits>
#include <map>
#include <optional>
#include <set>
#include <sstream>

#include "core/error.hpp"
#include "core/limits.hpp"
#include "core/memory_budget.hpp"
#include "core/model.hpp"
#include "core/run_types.hpp"
#include "io/config_format.hpp"
#include "io/config_keys.hpp"
#include "io/sweep.hpp"
#include "placement/registry.hpp"

namespace moeb {

namespace {

class Loader {
 public:
  Loader(const toml::table& root, const std::string& file) : root_(root), file_(file) {}
  RunConfig load();

 private:
  [[noreturn]] void fail(const toml::source_region& src, const std::string& msg) const {
    const auto line = src.begin.line;
    throw ConfigError(file_ + (line ? ":" + std::to_string(line) : "") + ": " + msg);
  }
  [[noreturn]] void fail_key(const std::string& k, const std::string& expected,
                             const std::string& got) const {
    fail(source_of(k), "key '" + k + "': expected " + expected + ", got " + got);
  }
  toml::source_region source_of(const std::string& dotted) const {
    auto it = where_.find(dotted);
    if (it != where_.end()) return it->second;
    auto dot = dotted.find('.');
    it = where_.find(dotted.substr(0, dot));
    return it != where_.end() ? it->second : toml::source_region{};
  }
  bool given(const std::string& dotted) const { return where_.count(dotted) != 0; }

  void load_model_preset(const toml::table& model);
  void load_key(const ConfigKey& k, const toml::node& v);
  void load_table(const std::string& name, const toml::table& t);
  void load_strategy_tables(const toml::table& t);
  void load_option(const std::string& where, const std::string& o, const toml::node& ov,
                   std::map<std::string, OptionValue>& out);
  void load_variant_tables(const toml::table& t);
  void load_sweep_table(const toml::table& t);
  void load_variant(const std::string& name, const toml::node& value);
  bool is_variant(const std::string& n) const;
  void load_strategy_list(const toml::node& v);
  void check_model();
  void check_workload();
  void check_placement();
  void check_limits();

  const toml::table& root_;
  std::string file_;
  RunConfig cfg_;
  std::map<std::string, toml::source_region> where_;  // "table" / "table.key" -> source
  std::map<std::string, std::map<std::string, OptionValue>> strategy_options_;
};

std::string describe(const toml::node& n) {
  if (auto s = n.as_string()) return quote_toml(s->get());
  if (auto i = n.as_integer()) return std::to_string(i->get());
  if (auto f = n.as_floating_point()) return format_toml_float(f->get());
  if (auto b = n.as_boolean()) return b->get() ? "true" : "false";
  if (n.is_array()) return "an array";
  if (n.is_table()) return "a table";
  return "a date/time";
}

std::string range_text(const char* what, double min, double max) {
  auto num = [](double x) {
    return x == std::floor(x) && std::abs(x) < 1e15 ? std::to_string(static_cast<long long>(x))
                                                    : format_toml_float(x);
  };
  std::string s = what;
  if (max >= 2147483647.0) max = std::numeric_limits<double>::infinity();  // int's own limit
  if (std::isfinite(min) && std::isfinite(max))
    return s + " in [" + num(min) + ", " + num(max) + "]";
  if (std::isfinite(min)) return s + " >= " + num(min);
  if (std::isfinite(max)) return s + " <= " + num(max);
  return s;
}

std::string join(const std::vector<std::string>& v) {
  std::string s;
  for (const auto& x : v) s += (s.empty() ? "" : ", ") + x;
  return s;
}

void Loader::load_key(const ConfigKey& k, const toml::node& v) {
  const std::string dotted = k.table + "." + k.key;
  auto number = [&](const toml::node& n, bool integer, const char* what) -> double {
    double x;
    if (auto i = n.as_integer())
      x = static_cast<double>(i->get());
    else if (auto f = n.as_floating_point(); f && !integer)
      x = f->get();
    else
      fail_key(dotted, range_text(what, k.min, k.max), describe(n));
    if (!std::isfinite(x) || !(x >= k.min && x <= k.max))
      fail_key(dotted, range_text(what, k.min, k.max), describe(n));
    return x;
  };
  ConfigField field = k.field(cfg_);
  std::visit(
      [&](auto* p) {
        using T = std::remove_pointer_t<decltype(p)>;
        if constexpr (std::is_same_v<T, int>) {
          *p = static_cast<int>(number(v, true, "an integer"));
        } else if constexpr (std::is_same_v<T, int64_t>) {
          number(v, true, "an integer");  // type and range; throws otherwise
          *p = v.as_integer()->get();
        } else if constexpr (std::is_same_v<T, uint64_t>) {
          number(v, true, "an integer");
          *p = static_cast<uint64_t>(v.as_integer()->get());
        } else if constexpr (std::is_same_v<T, double>) {
          *p = number(v, false, "a number");
        } else if constexpr (std::is_same_v<T, bool>) {
          if (!v.as_boolean()) fail_key(dotted, "true or false", describe(v));
          *p = v.as_boolean()->get();
        } else if constexpr (std::is_same_v<T, std::string>) {
          const std::string expected = k.choices.empty() ? "a string" : "one of " + join(k.choices);
          if (!v.as_string()) fail_key(dotted, expected, describe(v));
          const std::string s = v.as_string()->get();
          if (!k.choices.empty() &&
              std::find(k.choices.begin(), k.choices.end(), s) == k.choices.end())
            fail_key(dotted, expected, describe(v));
          *p = s;
        } else if constexpr (std::is_same_v<T, std::vector<std::string>>) {
          const auto* a = v.as_array();
          if (!a) fail_key(dotted, "an array of strings", describe(v));
          p->clear();
          for (const auto& e : *a) {
            if (!e.as_string())
              fail_key(dotted, "an array of strings", "an element " + describe(e));
            p->push_back(e.as_string()->get());
          }
        } else if constexpr (std::is_same_v<T, std::vector<double>>) {
          const auto* a = v.as_array();
          if (!a) fail_key(dotted, range_text("an array of numbers", k.min, k.max), describe(v));
          p->clear();
          for (const auto& e : *a) p->push_back(number(e, false, "an array of numbers"));
        }
      },
      field);
}

void Loader::load_model_preset(const toml::table& model) {
  const toml::node* v = model.get("preset");
  if (!v) {
    cfg_.model = ModelSpec{};
    cfg_.model.name = "custom";
    cfg_.model.source = "suite " + file_;
    return;
  }
  if (!v->as_string()) fail_key("model.preset", "a preset name (moebench list)", describe(*v));
  try {
    cfg_.model = model_preset(v->as_string()->get());
  } catch (const ConfigError& e) {
    fail(v->source(), std::string("key 'model.preset': ") + e.what());
  }
  cfg_.model_preset = v->as_string()->get();
}

void Loader::load_table(const std::string& name, const toml::table& t) {
  if (name == "model") load_model_preset(t);
  for (auto&& [key, value] : t) {
    const std::string k(key.str());
    const std::string dotted = name + "." + k;
    where_[dotted] = value.source();
    if ((name == "model" && k == "preset")) continue;
    if (name == "placement" && k == "strategies") {
      load_strategy_list(value);
      continue;
    }
    const ConfigKey* spec = nullptr;
    std::vector<std::string> known;
    if (name == "model") known.push_back("preset");
    if (name == "placement") known.push_back("strategies");
    for (const auto& c : config_keys())
      if (c.table == name) {
        known.push_back(c.key);
        if (c.key == k) spec = &c;
      }
    if (!spec)
      fail(key.source(), "unknown key '" + dotted + "' (expected one of: " + join(known) + ")");
    load_key(*spec, value);
  }
}

void Loader::load_strategy_list(const toml::node& v) {
  const auto* a = v.as_array();
  const std::string expected = "an array of strategy names (or [\"all\"])";
  if (!a || a->empty()) fail_key("placement.strategies", expected, describe(v));
  const auto registered = strategy_names();
  std::vector<std::string> names;
  for (const auto& e : *a) {
    if (!e.as_string()) fail_key("placement.strategies", expected, "an element " + describe(e));
    const std::string n = e.as_string()->get();
    if (n == "all") {
      for (const auto& r : registered)
        if (std::find(names.begin(), names.end(), r) == names.end()) names.push_back(r);
      for (const auto& var : cfg_.variants)
        if (std::find(names.begin(), names.end(), var.name) == names.end())
          names.push_back(var.name);
      continue;
    }
    if (std::find(registered.begin(), registered.end(), n) == registered.end() && !is_variant(n))
      fail(e.source(), "key 'placement.strategies': unknown strategy or variant '" + n +
                           "' (expected one of: all, " + join(registered) +
                           (cfg_.variants.empty() ? "" : ", or a [variant.NAME] of this suite") +
                           ")");
    if (std::find(names.begin(), names.end(), n) != names.end())
      fail(e.source(), "key 'placement.strategies': strategy '" + n + "' listed twice");
    names.push_back(n);
  }
  cfg_.strategies.clear();
  for (const auto& n : names) cfg_.strategies.push_back(StrategyConfig{n, {}});
}

void Loader::load_strategy_tables(const toml::table& t) {
  const auto registered = strategy_names();
  for (auto&& [key, value] : t) {
    const std::string name(key.str());
    const std::string where = "[strategy." + name + "]";
    if (std::find(registered.begin(), registered.end(), name) == registered.end())
      fail(key.source(),
           where + ": unknown strategy '" + name + "' (expected one of: " + join(registered) + ")");
    const auto* opts = value.as_table();
    if (!opts)
      fail(value.source(), where + ": expected a table of options, got " + describe(value));
    auto& out = strategy_options_[name];
    for (auto&& [okey, ov] : *opts) load_option(where, std::string(okey.str()), ov, out);
  }
}

void Loader::load_option(const std::string& where, const std::string& o, const toml::node& ov,
                         std::map<std::string, OptionValue>& out) {
  if (auto i = ov.as_integer())
    out[o] = static_cast<int64_t>(i->get());
  else if (auto f = ov.as_floating_point())
    out[o] = f->get();
  else if (auto b = ov.as_boolean())
    out[o] = b->get();
  else if (auto str = ov.as_string())
    out[o] = str->get();
  else
    fail(ov.source(), where + ": option '" + o +
                          "': expected an integer, float, boolean or string, got " + describe(ov));
}

bool Loader::is_variant(const std::string& n) const {
  for (const auto& v : cfg_.variants)
    if (v.name == n) return true;
  return false;
}

// [variant.<name>]: strategy = "<registered id>", optional run-wide dispatch and dedup for this
// instance, every other key an option of that strategy.
void Loader::load_variant(const std::string& name, const toml::node& value) {
  const std::string where = "[variant." + name + "]";
  const auto registered = strategy_names();
  if (std::find(registered.begin(), registered.end(), name) != registered.end() || name == "all")
    fail(value.source(), where + ": a variant needs a name of its own, got the strategy name '" +
                             name + "'");
  for (char c : name)
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-' && c != '_' && c != '+')
      fail(value.source(), where + ": expected a name of letters, digits, '-', '_' or '+'");
  const auto* t = value.as_table();
  if (!t) fail(value.source(), where + ": expected a table, got " + describe(value));
  VariantConfig v;
  v.name = name;
  for (auto&& [okey, ov] : *t) {
    const std::string o(okey.str());
    if (o == "strategy" || o == "dispatch") {
      if (!ov.as_string()) fail(ov.source(), where + ": key '" + o + "': expected a string");
      (o == "strategy" ? v.strategy : v.dispatch) = ov.as_string()->get();
    } else if (o == "dedup") {
      if (!ov.as_boolean()) fail(ov.source(), where + ": key 'dedup': expected true or false");
      v.dedup = ov.as_boolean()->get() ? 1 : 0;
    } else {
      load_option(where, o, ov, v.options);
    }
  }
  if (v.strategy.empty())
    fail(value.source(), where + ": key 'strategy': expected a registered strategy (one of: " +
                             join(registered) + "), got nothing");
  if (std::find(registered.begin(), registered.end(), v.strategy) == registered.end())
    fail(t->get("strategy")->source(), where + ": key 'strategy': expected one of: " +
                                           join(registered) + ", got " + quote_toml(v.strategy));
  if (!v.dispatch.empty()) {
    const auto modes = dispatch_mode_names();
    if (std::find(modes.begin(), modes.end(), v.dispatch) == modes.end())
      fail(t->get("dispatch")->source(), where + ": key 'dispatch': expected one of: " +
                                             join(modes) + ", got " + quote_toml(v.dispatch));
  }
  cfg_.variants.push_back(std::move(v));
}

void Loader::load_variant_tables(const toml::table& t) {
  for (auto&& [key, value] : t) load_variant(std::string(key.str()), value);
}

// [sweep]: KEY = [values] for the keys of io/sweep.hpp; each value checked as its axis expects.
void Loader::load_sweep_table(const toml::table& t) {
  // Axes in file order (the first varies slowest), not toml++'s key order.
  std::vector<std::pair<const toml::key*, const toml::node*>> entries;
  for (auto&& [key, value] : t) entries.emplace_back(&key, &value);
  std::stable_sort(entries.begin(), entries.end(), [](const auto& a, const auto& b) {
    const auto &x = a.first->source().begin, &y = b.first->source().begin;
    return x.line != y.line ? x.line < y.line : x.column < y.column;
  });
  for (const auto& [kp, vp] : entries) {
    const toml::key& key = *kp;
    const toml::node& value = *vp;
    const std::string k(key.str());
    const std::string dotted = "sweep." + k;
    where_[dotted] = value.source();
    const std::string unknown = sweep_value_error(k, "");
    if (unknown.rfind("unknown", 0) == 0) fail(key.source(), unknown);
    const auto* a = value.as_array();
    if (!a || a->empty()) fail_key(dotted, "a non-empty array of values", describe(value));
    SweepAxis axis{k, {}};
    for (const auto& e : *a) {
      std::string v;
      if (k == "dedup" && e.as_boolean())
        v = e.as_boolean()->get() ? "true" : "false";
      else if ((k == "batch_tokens" || k == "slots") && e.as_integer())
        v = std::to_string(e.as_integer()->get());
      else if (k != "dedup" && k != "batch_tokens" && e.as_string())
        v = e.as_string()->get();
      else
        fail(e.source(), "key '" + dotted + "': expected " +
                             (k == "dedup"          ? std::string("true or false")
                              : k == "batch_tokens" ? std::string("integers")
                                                    : std::string("strings")) +
                             ", got " + describe(e));
      const std::string err = sweep_value_error(k, v);
      if (!err.empty()) fail(e.source(), "key '" + dotted + "': " + err);
      if (std::find(axis.values.begin(), axis.values.end(), v) != axis.values.end())
        fail(e.source(), "key '" + dotted + "': value " + quote_toml(v) + " repeats");
      axis.values.push_back(v);
    }
    cfg_.sweep.push_back(std::move(axis));
  }
}

void Loader::check_model() {
  if (!given("model"))
    fail({},
         "table [model]: expected a preset or experts, top_k, hidden, ffn_hidden and layers, "
         "got no [model] table");
  const ModelSpec& m = cfg_.model;
  if (cfg_.model_preset.empty()) {
    for (const char* k : {"experts", "top_k", "hidden", "ffn_hidden", "layers"})
      if (!given(std::string("model.") + k))
        fail(source_of("model"), std::string("key 'model.") + k +
                                     "': expected a value (required without model.preset), got "
                                     "nothing");
  } else {
    const ModelSpec& p = model_preset(cfg_.model_preset);
    if (m.num_layers > p.num_layers)
      fail_key("model.layers", "at most the preset's " + std::to_string(p.num_layers) + " layers",
               std::to_string(m.num_layers));
  }
  if (m.top_k > m.num_experts)
    fail_key(
        given("model.top_k") ? "model.top_k" : "model.experts", "top_k <= experts",
        "top_k " + std::to_string(m.top_k) + " with " + std::to_string(m.num_experts) + " experts");
  if (m.num_experts % m.num_expert_groups != 0)
    fail_key("model.expert_groups", "a divisor of experts (" + std::to_string(m.num_experts) + ")",
             std::to_string(m.num_expert_groups));
  if (m.topk_groups > m.num_expert_groups)
    fail_key("model.topk_groups",
             "at most expert_groups (" + std::to_string(m.num_expert_groups) + ")",
             std::to_string(m.topk_groups));
  const auto line = source_of("model").begin.line;
  validate_model(m, file_ + (line ? ":" + std::to_string(line) : "") + ": [model]");
}

void Loader::check_workload() {
  const WorkloadConfig& w = cfg_.workload;
  if (w.kind == "trace" && w.traces.empty())
    fail_key("workload.traces", "at least one trace file when workload.kind = \"trace\"",
             given("workload.traces") ? "an empty array" : "nothing");
  if (!w.trace_weights.empty() && w.trace_weights.size() != w.traces.size())
    fail_key("workload.trace_weights",
             "one weight per trace (" + std::to_string(w.traces.size()) + ")",
             std::to_string(w.trace_weights.size()) + " weights");
  if (w.split == "trace" && w.calibration_trace.empty())
    fail_key("workload.calibration_trace", "a trace file when workload.split = \"trace\"",
             "nothing");
  if (w.split == "fraction" && w.calibration_fraction >= 1.0)
    fail_key("workload.calibration_fraction", "a number in [0, 1) (1 leaves no evaluation tokens)",
             format_toml_float(w.calibration_fraction));
}

void Loader::check_placement() {
  const char* budgets[] = {"slots_per_rank", "expert_memory_gib", "spare_slots_per_rank",
                           "replicas_per_layer"};
  const bool set[] = {cfg_.slots_per_rank > 0, cfg_.expert_memory_gib > 0,
                      cfg_.spare_slots_per_rank > 0, cfg_.replicas_per_layer > 0};
  for (int i = 0; i < 4; ++i)
    for (int j = i + 1; j < 4; ++j)
      if (set[i] && set[j])
        fail_key(std::string("placement.") + budgets[j],
                 std::string("0 when placement.") + budgets[i] + " is set (one budget at a time)",
                 "a second budget");
  if (!given("placement.strategies")) {
    cfg_.strategies.clear();
    for (const auto& n : strategy_names()) cfg_.strategies.push_back(StrategyConfig{n, {}});
    for (const auto& v : cfg_.variants) cfg_.strategies.push_back(StrategyConfig{v.name, {}});
  }
  for (auto& s : cfg_.strategies) {
    auto it = strategy_options_.find(s.name);
    if (it != strategy_options_.end()) s.options = it->second;
  }
  cfg_.strategy_option_tables = strategy_options_;
}

// Sizes computed from several keys, against the documented limits (core/limits.hpp), so that
// nothing is allocated, no rank starts and no file is created from a suite that cannot run.
void Loader::check_limits() {
  const ModelSpec& m = cfg_.model;
  const WorkloadConfig& w = cfg_.workload;
  if (!product_within(w.batch_tokens, m.num_layers, m.top_k, limits::kMaxRoutingEntries))
    fail_key("workload.batch_tokens",
             "batch_tokens x layers x top_k <= " + std::to_string(limits::kMaxRoutingEntries) +
                 " routing entries (documented limit)",
             std::to_string(w.batch_tokens) + " x " + std::to_string(m.num_layers) + " x " +
                 std::to_string(m.top_k));
  if (!product_within(std::max(cfg_.nodes, 1), std::max(cfg_.ranks_per_node, 1), limits::kMaxRanks))
    fail_key(
        "topology.ranks_per_node",
        "nodes x ranks_per_node <= " + std::to_string(limits::kMaxRanks) + " (documented limit)",
        std::to_string(cfg_.nodes) + " x " + std::to_string(cfg_.ranks_per_node));
  if (int64_t{cfg_.warmup} + cfg_.iterations > limits::kMaxIterations)
    fail_key(
        "run.iterations",
        "warmup + iterations <= " + std::to_string(limits::kMaxIterations) + " (documented limit)",
        std::to_string(cfg_.warmup) + " + " + std::to_string(cfg_.iterations));
  if (cfg_.expert_memory_gib > 0) {
    const auto line = source_of("placement.expert_memory_gib").begin.line;
    const std::string where =
        file_ + (line ? ":" + std::to_string(line) : "") + ": key 'placement.expert_memory_gib'";
    slots_from_memory(m, cfg_.expert_memory_gib, cfg_.expert_dtype, where);  // throws past limits
  }
  if (cfg_.slots_per_rank > 0 && cfg_.nodes > 0 && cfg_.ranks_per_node > 0) {
    const auto line = source_of("placement.slots_per_rank").begin.line;
    check_slot_limits(cfg_.slots_per_rank, cfg_.nodes * cfg_.ranks_per_node,
                      file_ + (line ? ":" + std::to_string(line) : "") + ": [placement]");
  }
}

RunConfig Loader::load() {
  cfg_.suite_path = file_;
  cfg_.suite_name = std::filesystem::path(file_).stem().string();
  const auto& tables = config_tables();
  // The [model] preset comes before any other key, and [strategy.*] before the list that uses it.
  for (auto&& [key, value] : root_) {
    const std::string name(key.str());
    if (std::find(tables.begin(), tables.end(), name) == tables.end())
      fail(key.source(), "unknown table '[" + name + "]' (expected one of: " + join(tables) + ")");
    if (!value.is_table())
      fail(value.source(), "key '" + name + "': expected a table, got " + describe(value));
    where_[name] = value.source();
  }
  // Variants first: placement.strategies may name them.
  if (const toml::node* v = root_.get("variant")) load_variant_tables(*v->as_table());
  for (const auto& name : tables) {
    const toml::node* t = root_.get(name);
    if (!t || name == "variant") continue;
    if (name == "sweep")
      load_sweep_table(*t->as_table());
    else if (name == "strategy")
      load_strategy_tables(*t->as_table());
    else
      load_table(name, *t->as_table());
  }
  check_model();
  check_workload();
  check_placement();
  check_limits();
  resolve_strategy_options(cfg_);
  return cfg_;
}

}  // namespace

RunConfig parse_suite(std::string_view toml_text, const std::string& path) {
  toml::table root;
  try {
    root = toml::parse(toml_text, path);
  } catch (const toml::parse_error& e) {
    throw ConfigError(path + ":" + std::to_string(e.source().begin.line) +
                      ": malformed TOML: " + std::string(e.description()));
  }
  return Loader(root, path).load();
}

RunConfig load_suite(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw ConfigError(path + ": cannot open the suite file");
  std::ostringstream ss;
  ss << in.rdbuf();
  return parse_suite(ss.str(), path);
}

std::vector<ResolvedStrategy> resolve_strategy_options(const RunConfig& cfg) {
  auto variant = [&](const std::string& n) -> const VariantConfig* {
    for (const auto& v : cfg.variants)
      if (v.name == n) return &v;
    return nullptr;
  };
  std::vector<std::string> names;
  auto add = [&](const std::string& n) {
    if (std::find(names.begin(), names.end(), n) == names.end()) names.push_back(n);
  };
  for (const auto& s : cfg.strategies) {
    if (s.name != "all") {
      add(s.name);
      continue;
    }
    for (const auto& n : strategy_names()) add(n);
    for (const auto& v : cfg.variants) add(v.name);
  }
  std::vector<ResolvedStrategy> out;
  for (const auto& n : names) {
    if (const VariantConfig* v = variant(n)) {
      const std::string where = cfg.suite_path + ": [variant." + n + "]";
      const PlacementStrategy& st = find_strategy(v->strategy, where + ": key 'strategy'");
      out.push_back(ResolvedStrategy{n, &st, resolve_options(st.spec().options, v->options, where),
                                     v->dispatch, v->dedup});
      continue;
    }
    const PlacementStrategy& st = find_strategy(n, cfg.suite_path + ": key 'placement.strategies'");
    std::map<std::string, OptionValue> given;
    for (const auto& s : cfg.strategies)
      if (s.name == n) given = s.options;
    out.push_back(ResolvedStrategy{
        n, &st,
        resolve_options(st.spec().options, given, cfg.suite_path + ": [strategy." + n + "]"),
        "", -1});
  }
  return out;
}

}  // namespace moeb
