// Strategy variants ([variant.<name>]) and budgets that scale with the topology: a variant is
// an instance of a registered strategy with its own name, options and run-wide dispatch/dedup;
// its results equal those of the plain strategy run with the same options and knobs. Relative
// budgets (spare slots per rank, replicas per layer, --slots) give the slots a topology needs.
#include <gtest/gtest.h>

#include <cstdio>
#include <string>

#include "core/error.hpp"
#include "experiment_test_util.hpp"
#include "io/config_loader.hpp"

namespace moeb {
namespace {

const std::string kSuite = test::small_suite_head("variants", 7) + R"(
[placement]
strategies = ["baseline", "tacg", "tacg-agnostic", "c2r-nodedup-hier"]
spare_slots_per_rank = 1
[strategy.tacg]
family_boost = 2.0
[variant.tacg-agnostic]
strategy = "tacg"
family_boost = 0.0
[variant.c2r-nodedup-hier]
strategy = "c2r"
dispatch = "hierarchical"
dedup = false
[run]
dispatch = "flat"
dedup = true
[system]
model = "h100-ndr400"
)";

std::string write_suite(const std::string& name, const std::string& text) {
  return test::write_suite(test::test_dir("variants"), name, text);
}

using test::expect_same_counts;
using test::find;
using test::simulate;

TEST(Variants, LoadedWithTheirStrategyOptionsAndOverrides) {
  const RunConfig cfg = parse_suite(kSuite, "v.toml");
  const auto rs = resolve_strategy_options(cfg);
  ASSERT_EQ(rs.size(), 4u);
  EXPECT_EQ(rs[2].name, "tacg-agnostic");
  EXPECT_EQ(rs[2].strategy->name(), "tacg");
  EXPECT_EQ(rs[2].options.get_float("family_boost"), 0.0);
  EXPECT_EQ(rs[1].options.get_float("family_boost"), 2.0);
  EXPECT_EQ(rs[3].dispatch, "hierarchical");
  EXPECT_EQ(rs[3].dedup, 0);
  // The resolved config written back loads to the same instances.
  const RunConfig again = parse_suite(config_to_toml(cfg), "again.toml");
  const auto rs2 = resolve_strategy_options(again);
  ASSERT_EQ(rs2.size(), rs.size());
  for (size_t i = 0; i < rs.size(); ++i) {
    EXPECT_EQ(rs2[i].name, rs[i].name);
    EXPECT_EQ(rs2[i].options.describe(), rs[i].options.describe());
    EXPECT_EQ(rs2[i].dispatch, rs[i].dispatch);
    EXPECT_EQ(rs2[i].dedup, rs[i].dedup);
  }
  EXPECT_EQ(again.spare_slots_per_rank, 1);
}

TEST(Variants, BadVariantsAreOneLineErrors) {
  auto err = [](const std::string& text) {
    try {
      parse_suite(text, "bad.toml");
    } catch (const ConfigError& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  const std::string model = "[model]\nexperts = 8\ntop_k = 2\nhidden = 8\nffn_hidden = 8\nlayers = 1\n";
  EXPECT_NE(err(model + "[variant.x]\nfamily_boost = 1.0\n").find("key 'strategy'"),
            std::string::npos);
  EXPECT_NE(err(model + "[variant.x]\nstrategy = \"nope\"\n").find("expected one of"),
            std::string::npos);
  EXPECT_NE(err(model + "[variant.tacg]\nstrategy = \"tacg\"\n").find("name of its own"),
            std::string::npos);
  EXPECT_NE(err(model + "[variant.x]\nstrategy = \"tacg\"\nno_such = 1\n").find("no_such"),
            std::string::npos);
  EXPECT_NE(err(model + "[placement]\nstrategies = [\"y\"]\n").find("unknown strategy or variant"),
            std::string::npos);
  EXPECT_NE(err(model + "[placement]\nslots_per_rank = 3\nspare_slots_per_rank = 1\n")
                .find("one budget at a time"),
            std::string::npos);
}

TEST(Variants, EqualThePlainStrategyWithTheSameOptionsAndKnobs) {
  ExperimentRequest r;
  r.suite = write_suite("variants", kSuite);
  const RunResult all = simulate(r);
  ASSERT_EQ(all.strategies.size(), 4u);
  const StrategyResult& agn = find(all, "tacg-agnostic");
  EXPECT_EQ(agn.strategy, "tacg");
  EXPECT_NE(agn.options.find("family_boost=0"), std::string::npos) << agn.options;
  const StrategyResult& c2r = find(all, "c2r-nodedup-hier");
  EXPECT_EQ(c2r.strategy, "c2r");
  EXPECT_EQ(c2r.run_overrides, "dispatch=hierarchical, dedup=false");

  // tacg with family_boost = 0 as the plain strategy.
  std::string text = kSuite;
  text.replace(text.find("family_boost = 2.0"), 18, "family_boost = 0.0");
  ExperimentRequest r2;
  r2.suite = write_suite("plain-tacg", text);
  r2.strategies = "tacg";
  expect_same_counts(agn, find(simulate(r2), "tacg"));

  // c2r under hierarchical dispatch without dedup, run-wide.
  ExperimentRequest r3;
  r3.suite = r.suite;
  r3.strategies = "c2r";
  r3.dispatch = "hierarchical";
  std::string nodedup = kSuite;
  nodedup.replace(nodedup.find("dedup = true"), 12, "dedup = false");
  r3.suite = write_suite("plain-c2r", nodedup);
  expect_same_counts(c2r, find(simulate(r3), "c2r"));
}

TEST(Budgets, SpareSlotsRescaleWithTheTopology) {
  ExperimentRequest r;
  r.suite = write_suite("variants", kSuite);
  r.strategies = "baseline,tacg-agnostic";
  for (const auto& [topo, slots] : {std::pair<std::string, int>{"2x2", 5}, {"2x4", 3}, {"4x8", 2}}) {
    r.topology = topo;
    Experiment e;
    const RunResult res = simulate(r, &e);
    EXPECT_EQ(e.slots_per_rank, slots) << topo;
    EXPECT_EQ(res.attrs_num.at("slots_per_rank"), slots) << topo;
    for (const auto& s : res.strategies) EXPECT_EQ(s.status, StrategyStatus::kComplete) << topo;
  }
}

TEST(Budgets, SlotsOptionForms) {
  ExperimentRequest r;
  r.suite = write_suite("variants", kSuite);
  r.strategies = "baseline";
  r.topology = "2x4";
  const std::pair<std::string, int> cases[] = {{"6", 6}, {"+2", 4}, {"8/layer", 3}, {"24/layer", 5}};
  for (const auto& [opt, slots] : cases) {
    r.slots = opt;
    r.mode = ExperimentMode::kSimulate;
    EXPECT_EQ(resolve_experiment(r).slots_per_rank, slots) << opt;
  }
  for (const char* bad : {"x", "+", "-1", "0", "1.5", "3/lay"}) {
    r.slots = bad;
    EXPECT_THROW(resolve_experiment(r), ConfigError) << bad;
  }
  // Too few absolute slots for the topology: the error points at the relative budget.
  r.slots = "1";
  try {
    resolve_experiment(r);
    ADD_FAILURE() << "no error";
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("scale with the topology"), std::string::npos);
  }
}

}  // namespace
}  // namespace moeb
