// Suite TOML -> RunConfig (io/config_loader): values, defaults, round trip, and one-line errors.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <regex>
#include <string>
#include <vector>

#include "core/error.hpp"
#include "io/config_keys.hpp"
#include "io/config_loader.hpp"
#include "placement/registry.hpp"

using namespace moeb;

namespace {

const std::string kData = std::string(MOEB_SOURCE_DIR) + "/tests/data/suites/";
const std::string kQuickstart = std::string(MOEB_SOURCE_DIR) + "/suites/quickstart.toml";

const char* kMinimal = R"(
[model]
preset = "mixtral-8x7b"
layers = 2
)";

// The ConfigError message of loading `text` (as file "bad.toml"), or "" when it loads.
std::string error_of(const std::string& text) {
  try {
    parse_suite(text, "bad.toml");
  } catch (const ConfigError& e) {
    return e.what();
  }
  return "";
}

void expect_same_config(const RunConfig& a, const RunConfig& b) {
  EXPECT_EQ(a.suite_name, b.suite_name);
  EXPECT_EQ(a.model_preset, b.model_preset);
  EXPECT_EQ(a.model.name, b.model.name);
  EXPECT_EQ(a.model.num_experts, b.model.num_experts);
  EXPECT_EQ(a.model.top_k, b.model.top_k);
  EXPECT_EQ(a.model.hidden, b.model.hidden);
  EXPECT_EQ(a.model.ffn_hidden, b.model.ffn_hidden);
  EXPECT_EQ(a.model.num_layers, b.model.num_layers);
  EXPECT_EQ(a.model.num_shared_experts, b.model.num_shared_experts);
  EXPECT_EQ(a.model.num_expert_groups, b.model.num_expert_groups);
  EXPECT_EQ(a.model.topk_groups, b.model.topk_groups);
  ASSERT_EQ(a.strategies.size(), b.strategies.size());
  for (size_t i = 0; i < a.strategies.size(); ++i)
    EXPECT_EQ(a.strategies[i].name, b.strategies[i].name);
  // Every plain key through the key table: the same value, as the writer prints it.
  RunConfig ma = a, mb = b;
  for (const auto& k : config_keys()) {
    const bool same = std::visit(
        [&](auto* pa) {
          auto* pb = std::get<std::remove_pointer_t<decltype(pa)>*>(k.field(mb));
          return *pa == *pb;
        },
        k.field(ma));
    EXPECT_TRUE(same) << k.table << "." << k.key;
  }
  // Resolved strategy options.
  const auto ra = resolve_strategy_options(a), rb = resolve_strategy_options(b);
  ASSERT_EQ(ra.size(), rb.size());
  for (size_t i = 0; i < ra.size(); ++i) EXPECT_EQ(ra[i].options.values(), rb[i].options.values());
}

}  // namespace

TEST(Config, LoadsQuickstartSuite) {
  const RunConfig c = load_suite(kQuickstart);
  EXPECT_EQ(c.suite_path, kQuickstart);
  EXPECT_EQ(c.suite_name, "quickstart");
  EXPECT_EQ(c.seed, 42u);
  EXPECT_EQ(c.system, "");  // the label comes from where it runs (resolve_experiment)
  EXPECT_EQ(c.model_preset, "mixtral-8x7b");
  EXPECT_EQ(c.model.num_experts, 8);  // from the preset
  EXPECT_EQ(c.model.top_k, 2);
  EXPECT_EQ(c.model.hidden, 512);  // overridden
  EXPECT_EQ(c.model.ffn_hidden, 1024);
  EXPECT_EQ(c.model.num_layers, 4);
  EXPECT_EQ(c.nodes, 2);
  EXPECT_EQ(c.ranks_per_node, 2);
  EXPECT_EQ(c.workload.distribution, "families");
  EXPECT_EQ(c.workload.num_families, 2);
  EXPECT_DOUBLE_EQ(c.workload.zipf_s, 1.1);
  EXPECT_EQ(c.workload.tokens, 8192);
  EXPECT_EQ(c.workload.batch_tokens, 1024);
  // ["all"] expands to every registered strategy, in table order.
  ASSERT_EQ(c.strategies.size(), strategy_names().size());
  for (size_t i = 0; i < c.strategies.size(); ++i)
    EXPECT_EQ(c.strategies[i].name, strategy_names()[i]);
  EXPECT_EQ(c.slots_per_rank, 0);  // relative budget: ceil(8 / 4) + 1 = 3 at 4 ranks
  EXPECT_EQ(c.spare_slots_per_rank, 1);
  EXPECT_EQ(c.iterations, 8);
  EXPECT_TRUE(c.sync_probe);
  EXPECT_TRUE(c.check);
  EXPECT_DOUBLE_EQ(c.check_rtol, 1e-3);
}

TEST(Config, LoadsEveryTableOfACustomModel) {
  const RunConfig c = load_suite(kData + "custom_model.toml");
  EXPECT_EQ(c.suite_name, "custom-fixture");
  EXPECT_EQ(c.model_preset, "");
  EXPECT_EQ(c.model.num_experts, 16);
  EXPECT_EQ(c.model.top_k, 4);
  EXPECT_EQ(c.model.num_shared_experts, 1);
  EXPECT_EQ(c.model.num_expert_groups, 4);
  EXPECT_EQ(c.model.topk_groups, 2);
  EXPECT_EQ(c.seed, 7u);
  EXPECT_EQ(c.slots_per_rank, 3);
  EXPECT_EQ(c.dispatch, "hierarchical");
  EXPECT_FALSE(c.dedup);
  EXPECT_FALSE(c.sync_probe);
  EXPECT_FALSE(c.check);
  EXPECT_EQ(c.check_samples, 2);
  EXPECT_EQ(c.threads_per_rank, 2);
  EXPECT_EQ(c.system_file, "loopback");
  ASSERT_EQ(c.strategies.size(), 2u);
  EXPECT_EQ(c.strategies[0].name, "round_robin");  // suite order kept
}

TEST(Config, DefaultsFillEveryUnsetKey) {
  const RunConfig c = parse_suite(kMinimal, "dir/minimal.toml");
  const RunConfig d;
  EXPECT_EQ(c.suite_name, "minimal");  // the file's stem
  EXPECT_EQ(c.seed, d.seed);
  EXPECT_EQ(c.iterations, d.iterations);
  EXPECT_EQ(c.workload.batch_tokens, d.workload.batch_tokens);
  EXPECT_EQ(c.backend, "cpu");
  // No strategies listed: every registered strategy.
  EXPECT_EQ(c.strategies.size(), strategy_names().size());
}

TEST(Config, AllExpandsToEveryRegisteredStrategy) {
  const RunConfig c =
      parse_suite(std::string(kMinimal) + "[placement]\nstrategies = [\"all\"]\n", "s.toml");
  ASSERT_EQ(c.strategies.size(), strategy_names().size());
  for (size_t i = 0; i < c.strategies.size(); ++i)
    EXPECT_EQ(c.strategies[i].name, strategy_names()[i]);
}

TEST(Config, RoundTripThroughConfigToToml) {
  for (const std::string& path : {kQuickstart, kData + "custom_model.toml"}) {
    const RunConfig a = load_suite(path);
    const std::string text = config_to_toml(a);
    const RunConfig b = parse_suite(text, path);
    expect_same_config(a, b);
    EXPECT_EQ(config_to_toml(b), text) << path;
  }
}

TEST(Config, RoundTripKeepsStrategyOptions) {
  // Any registered strategy with an option, set to a non-default value it accepts.
  for (const auto& s : strategies()) {
    const StrategySpec spec = s->spec();
    for (const auto& o : spec.options) {
      if (o.type != OptionType::kBool) continue;
      const bool flipped = !std::get<bool>(o.default_value);
      const std::string text = std::string(kMinimal) + "[placement]\nstrategies = [\"" + spec.name +
                               "\"]\n[strategy." + spec.name + "]\n" + o.name + " = " +
                               (flipped ? "true" : "false") + "\n";
      const RunConfig a = parse_suite(text, "s.toml");
      const auto ra = resolve_strategy_options(a);
      ASSERT_EQ(ra.size(), 1u);
      EXPECT_EQ(ra[0].options.get_bool(o.name), flipped);
      const auto rb = resolve_strategy_options(parse_suite(config_to_toml(a), "s.toml"));
      EXPECT_EQ(rb[0].options.get_bool(o.name), flipped);
      return;
    }
  }
  GTEST_SKIP() << "no registered strategy has a bool option yet";
}

TEST(Config, ErrorsAreOneLineWithFileLineAndKey) {
  const std::string msg = error_of(std::string(kMinimal) + "[run]\niterations = \"ten\"\n");
  EXPECT_EQ(msg, "bad.toml:6: key 'run.iterations': expected an integer in [1, 1048576], got \"ten\"");
}

TEST(Config, RejectsOutOfRangeValues) {
  EXPECT_EQ(error_of("[model]\npreset = \"mixtral-8x7b\"\ntop_k = 9\n"),
            "bad.toml:3: key 'model.top_k': expected top_k <= experts, got top_k 9 with 8 experts");
  EXPECT_EQ(error_of(std::string(kMinimal) + "[workload]\ntokens = -5\n"),
            "bad.toml:6: key 'workload.tokens': expected an integer in [1, 268435456], got -5");
  EXPECT_EQ(error_of(std::string(kMinimal) + "[workload]\nfamily_hot_share = 1.5\n"),
            "bad.toml:6: key 'workload.family_hot_share': expected a number in [0, 1], got 1.5");
  EXPECT_EQ(error_of(std::string(kMinimal) + "[run]\nwarmup = 2.5\n"),
            "bad.toml:6: key 'run.warmup': expected an integer in [0, 1048576], got 2.5");
  EXPECT_EQ(error_of(std::string(kMinimal) + "[run]\nbackend = \"tpu\"\n"),
            "bad.toml:6: key 'run.backend': expected one of cpu, cuda, got \"tpu\"");
  EXPECT_EQ(error_of(std::string(kMinimal) + "[suite]\nseed = -1\n"),
            "bad.toml:6: key 'suite.seed': expected an integer >= 0, got -1");
  EXPECT_EQ(error_of("[model]\npreset = \"mixtral-8x7b\"\nlayers = 33\n"),
            "bad.toml:3: key 'model.layers': expected at most the preset's 32 layers, got 33");
  EXPECT_EQ(error_of("[model]\npreset = \"deepseek-v3\"\nexpert_groups = 3\n"),
            "bad.toml:3: key 'model.expert_groups': expected a divisor of experts (256), got 3");
}

TEST(Config, RejectsUnknownTablesAndKeys) {
  EXPECT_EQ(error_of(std::string(kMinimal) + "[runn]\nx = 1\n"),
            "bad.toml:5: unknown table '[runn]' (expected one of: suite, model, topology, "
            "workload, placement, run, timing, check, system, strategy, variant, sweep, "
            "oracle)");
  const std::string k = error_of(std::string(kMinimal) + "[run]\niteration = 3\n");
  EXPECT_EQ(k.rfind("bad.toml:6: unknown key 'run.iteration' (expected one of: backend,", 0), 0u)
      << k;
  EXPECT_EQ(error_of("run = 3\n" + std::string(kMinimal)),
            "bad.toml:1: key 'run': expected a table, got 3");
}

TEST(Config, RejectsMalformedToml) {
  const std::string msg = error_of("[model]\npreset = \"mixtral-8x7b\"\nlayers = = 2\n");
  EXPECT_EQ(msg.rfind("bad.toml:3: malformed TOML: ", 0), 0u) << msg;
  EXPECT_EQ(msg.find('\n'), std::string::npos);
}

TEST(Config, RejectsIncompleteOrUnknownModels) {
  EXPECT_EQ(error_of("[model]\nexperts = 8\ntop_k = 2\nhidden = 64\nffn_hidden = 64\n"),
            "bad.toml:1: key 'model.layers': expected a value (required without model.preset), "
            "got nothing");
  const std::string p = error_of("[model]\npreset = \"gpt-5\"\n");
  EXPECT_EQ(p.rfind("bad.toml:2: key 'model.preset': unknown model preset 'gpt-5' (expected one "
                    "of: mixtral-8x7b",
                    0),
            0u)
      << p;
  EXPECT_EQ(error_of("[suite]\nname = \"x\"\n"),
            "bad.toml: table [model]: expected a preset or experts, top_k, hidden, ffn_hidden and "
            "layers, got no [model] table");
}

TEST(Config, RejectsInconsistentWorkloads) {
  EXPECT_EQ(error_of(std::string(kMinimal) + "[workload]\nkind = \"trace\"\n"),
            "bad.toml:5: key 'workload.traces': expected at least one trace file when "
            "workload.kind = \"trace\", got nothing");
  EXPECT_EQ(error_of(std::string(kMinimal) +
                     "[workload]\ntraces = [\"a.h5\", \"b.h5\"]\ntrace_weights = [1.0]\n"),
            "bad.toml:7: key 'workload.trace_weights': expected one weight per trace (2), got 1 "
            "weights");
  EXPECT_EQ(error_of(std::string(kMinimal) + "[workload]\ncalibration_fraction = 1.0\n"),
            "bad.toml:6: key 'workload.calibration_fraction': expected a number in [0, 1) (1 "
            "leaves no evaluation tokens), got 1.0");
}

TEST(Config, RejectsUnknownStrategiesAndOptions) {
  const std::string s =
      error_of(std::string(kMinimal) + "[placement]\nstrategies = [\"baseline\", \"magic\"]\n");
  EXPECT_EQ(s.rfind("bad.toml:6: key 'placement.strategies': unknown strategy or variant 'magic' "
                    "(expected one of: all, baseline",
                    0),
            0u)
      << s;
  const std::string o = error_of(std::string(kMinimal) +
                                 "[placement]\nstrategies = [\"baseline\"]\n"
                                 "[strategy.baseline]\nbogus = 1\n");
  EXPECT_EQ(o.rfind("bad.toml: [strategy.baseline]: unknown option 'bogus' (expected one of", 0),
            0u)
      << o;
  // A table for a registered strategy that is not listed is ignored ...
  EXPECT_EQ(error_of(std::string(kMinimal) + "[placement]\nstrategies = [\"baseline\"]\n"
                                             "[strategy.round_robin]\nbogus = 1\n"),
            "");
  // ... but an unregistered name is an error.
  const std::string u = error_of(std::string(kMinimal) + "[strategy.magic]\nx = 1\n");
  EXPECT_EQ(u.rfind("bad.toml:5: [strategy.magic]: unknown strategy 'magic'", 0), 0u) << u;
  const std::string t = error_of(std::string(kMinimal) + "[strategy.baseline]\nx = [1]\n");
  EXPECT_EQ(t,
            "bad.toml:6: [strategy.baseline]: option 'x': expected an integer, float, boolean "
            "or string, got an array");
}

TEST(Config, ResolveStrategyOptionsExpandsAllAndNamesTheSuite) {
  RunConfig c;
  c.suite_path = "x.toml";
  c.strategies = {StrategyConfig{"all", {}}};
  EXPECT_EQ(resolve_strategy_options(c).size(), strategy_names().size());
  c.strategies = {StrategyConfig{"nope", {}}};
  try {
    resolve_strategy_options(c);
    FAIL();
  } catch (const ConfigError& e) {
    EXPECT_EQ(std::string(e.what()).rfind("x.toml: key 'placement.strategies': unknown strategy "
                                          "'nope'",
                                          0),
              0u)
        << e.what();
  }
}

TEST(Config, MissingFileIsOneLine) {
  try {
    load_suite("/nonexistent/suite.toml");
    FAIL();
  } catch (const ConfigError& e) {
    EXPECT_EQ(std::string(e.what()), "/nonexistent/suite.toml: cannot open the suite file");
  }
}

TEST(Config, EverySuiteInTheRepositoryLoads) {
  int n = 0;
  for (const auto& entry :
       std::filesystem::directory_iterator(std::string(MOEB_SOURCE_DIR) + "/suites")) {
    if (entry.path().extension() != ".toml") continue;
    ++n;
    EXPECT_NO_THROW(load_suite(entry.path().string())) << entry.path();
  }
  EXPECT_GE(n, 1);
}

TEST(Config, SuitesReadmeExampleLoads) {
  // Every ```toml block of suites/README.md loads; a block without a [model] table (a fragment
  // such as the variants example) loads after the minimal model.
  std::ifstream in(std::string(MOEB_SOURCE_DIR) + "/suites/README.md");
  ASSERT_TRUE(in) << "suites/README.md";
  std::string line, block;
  std::vector<std::string> blocks;
  bool inside = false;
  while (std::getline(in, line)) {
    if (!inside && line == "```toml") {
      inside = true;
      block.clear();
    } else if (inside && line == "```") {
      inside = false;
      blocks.push_back(block);
    } else if (inside) {
      block += line + "\n";
    }
  }
  ASSERT_GE(blocks.size(), 2u) << "suites/README.md has fewer than two ```toml blocks";
  bool example_seen = false;
  for (const std::string& b : blocks) {
    const bool whole = b.find("[model]") != std::string::npos;
    const std::string text = whole ? b : std::string(kMinimal) + b;
    EXPECT_EQ(error_of(text), "") << b;
    if (whole && b.find("\"eplb\"") != std::string::npos) {
      const RunConfig c = parse_suite(text, "README.md");
      EXPECT_EQ(c.model.num_layers, 4);
      ASSERT_EQ(c.strategies.size(), 2u);
      EXPECT_EQ(c.strategies[1].name, "eplb");
      example_seen = true;
    }
  }
  EXPECT_TRUE(example_seen) << "the deepseek-v3 baseline/eplb example block is gone";
}
