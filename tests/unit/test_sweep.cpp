// Sweep axes ([sweep] in a suite, --sweep on the command line): the cells of one experiment are
// the cartesian product of the axes' values; one results file holds one group per (cell,
// strategy), each equal to the single run with that knob set (counts, placements); resume
// skips finished cells; a sweep with one value per axis is a plain run.
#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>
#include <string>

#include "core/error.hpp"
#include "experiment_test_util.hpp"
#include "io/config_loader.hpp"
#include "io/results_file.hpp"
#include "platform/h5.hpp"
#include "io/sweep.hpp"
#include "io/validate.hpp"
#include "report/pivot.hpp"
#include "report/render.hpp"
#include "report/report.hpp"

namespace moeb {
namespace {

const std::string kSuite = test::small_suite_head("sweep", 11) + R"(
[placement]
strategies = ["baseline", "tacg-agnostic", "c2r-nodedup", "grace-hier"]
spare_slots_per_rank = 1
[variant.tacg-agnostic]
strategy = "tacg"
family_boost = 0.0
[variant.c2r-nodedup]
strategy = "c2r"
dedup = false
[variant.grace-hier]
strategy = "grace"
dispatch = "hierarchical"
[run]
dispatch = "flat"
dedup = true
[system]
model = "h100-ndr400"
[sweep]
dispatch = ["flat", "hierarchical"]
slots = ["+0", "+2"]
)";

const std::filesystem::path kDir = test::test_dir("sweep");

std::string write_suite(const std::string& name, const std::string& text) {
  return test::write_suite(kDir, name, text);
}

std::string without_sweep(std::string text) { return text.substr(0, text.find("[sweep]")); }

using test::expect_same_counts;
using test::expect_same_strategies;
using test::find;
using test::simulate;
using test::simulate_into;
using test::simulate_to_file;

TEST(Sweep, SuiteTableLoadsChecksAndRoundTrips) {
  const RunConfig cfg = parse_suite(kSuite, "s.toml");
  ASSERT_EQ(cfg.sweep.size(), 2u);
  EXPECT_EQ(cfg.sweep[0].key, "dispatch");
  EXPECT_EQ(cfg.sweep[1].values, (std::vector<std::string>{"+0", "+2"}));
  const RunConfig again = parse_suite(config_to_toml(cfg), "again.toml");
  ASSERT_EQ(again.sweep.size(), 2u);
  EXPECT_EQ(again.sweep[1].values, cfg.sweep[1].values);
  EXPECT_EQ(config_to_toml(again), config_to_toml(cfg));
  // Typed values: dedup booleans, batch_tokens integers, slots integers or strings.
  const std::string base = without_sweep(kSuite) + "[sweep]\n";
  const RunConfig typed = parse_suite(
      base + "dedup = [true, false]\nbatch_tokens = [256, 1024]\nslots = [6, \"16/layer\"]\n"
             "topology = [\"2x4\"]\nsystem = [\"h100-ndr400\"]\n",
      "t.toml");
  EXPECT_EQ(typed.sweep[0].values, (std::vector<std::string>{"true", "false"}));
  EXPECT_EQ(typed.sweep[2].values, (std::vector<std::string>{"6", "16/layer"}));
  auto err = [&](const std::string& body) {
    try {
      parse_suite(base + body, "bad.toml");
    } catch (const ConfigError& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  EXPECT_EQ(err("dispatch = [\"flat\", \"ring\"]\n"),
            "bad.toml:36: key 'sweep.dispatch': expected flat or hierarchical, got \"ring\"");
  EXPECT_NE(err("nodes = [1, 2]\n").find("unknown sweep key 'nodes'"), std::string::npos);
  EXPECT_NE(err("slots = [\"+x\"]\n").find("expected N, +N, N/layer or NGiB"), std::string::npos);
  EXPECT_NE(err("batch_tokens = [0]\n").find("expected an integer in [1"), std::string::npos);
  EXPECT_NE(err("dedup = [\"yes\"]\n").find("expected true or false"), std::string::npos);
  EXPECT_NE(err("dispatch = []\n").find("non-empty array"), std::string::npos);
  EXPECT_NE(err("topology = [\"2x2\", \"2x2\"]\n").find("repeats"), std::string::npos);
}

TEST(Sweep, CommandLineAxesReplaceTheSuitesAndAreChecked) {
  std::vector<SweepAxis> axes{{"dispatch", {"flat"}}};
  merge_sweep_axis(axes, parse_sweep_option("dispatch=flat,hierarchical"));
  merge_sweep_axis(axes, parse_sweep_option("topology=2x4,4x8"));
  ASSERT_EQ(axes.size(), 2u);
  EXPECT_EQ(axes[0].values.size(), 2u);
  EXPECT_EQ(sweep_cells(axes).size(), 4u);
  EXPECT_EQ(sweep_cells(axes)[1], (std::vector<std::pair<std::string, std::string>>{
                                      {"dispatch", "flat"}, {"topology", "4x8"}}));
  EXPECT_THROW(parse_sweep_option("dispatch"), ConfigError);
  EXPECT_THROW(parse_sweep_option("dedup=maybe"), ConfigError);
  EXPECT_THROW(parse_sweep_option("colour=red"), ConfigError);
  // A run measures on its own ranks and system: topology and system axes are refused.
  ExperimentRequest r;
  r.suite = write_suite("sweep", kSuite);
  r.mode = ExperimentMode::kRun;
  r.sweep = {"topology=2x4,4x8"};
  EXPECT_THROW(resolve_experiment(r), ConfigError);
}

// Two axes (dispatch x slots) and three variants beside baseline (one with its own dispatch,
// which wins over the cell's, and one without dedup): one valid file
// whose cells equal separate single runs, counts and placements.
TEST(Sweep, CellsEqualSeparateSingleRunsInOneValidFile) {
  ExperimentRequest r;
  r.suite = write_suite("sweep", kSuite);
  r.output = (kDir / "sweep.h5").string();
  const RunResult all = simulate_to_file(r);
  ASSERT_EQ(all.cells.size(), 4u);
  ASSERT_EQ(all.strategies.size(), 16u);
  EXPECT_NE(all.config_toml.find("[sweep]"), std::string::npos);
  const std::string single = write_suite("single", without_sweep(kSuite));
  for (const auto& cell : all.cells) {
    ExperimentRequest one;
    one.suite = single;
    one.dispatch = cell.axes.at(0).second;
    one.slots = cell.axes.at(1).second;
    const RunResult alone = simulate(one);
    EXPECT_TRUE(alone.cells.empty());
    EXPECT_EQ(cell.attrs_num.at("slots_per_rank"), alone.attrs_num.at("slots_per_rank"));
    for (const auto& s : alone.strategies) expect_same_counts(find(all, s.name, cell.id), s);
  }
  // The hierarchical cells record their dispatch; the budgets their slots (4 ranks, 16 experts).
  EXPECT_EQ(all.cells[2].attrs_str.at("dispatch"), "hierarchical");
  EXPECT_EQ(all.cells[0].attrs_num.at("slots_per_rank"), 4);
  EXPECT_EQ(all.cells[1].attrs_num.at("slots_per_rank"), 6);
  // The same sweep from the command line gives the same file contents.
  ExperimentRequest cli;
  cli.suite = single;
  cli.sweep = {"dispatch=flat,hierarchical", "slots=+0,+2"};
  expect_same_strategies(simulate(cli), all);
}

TEST(Sweep, OneValuePerAxisIsAPlainRun) {
  ExperimentRequest r;
  r.suite = write_suite("single", without_sweep(kSuite));
  r.sweep = {"dispatch=hierarchical", "slots=+2"};
  const RunResult swept = simulate(r);
  EXPECT_TRUE(swept.cells.empty());
  for (const auto& s : swept.strategies) EXPECT_EQ(s.cell, "");
  EXPECT_EQ(swept.config_toml.find("[sweep]"), std::string::npos);
  ExperimentRequest plain;
  plain.suite = r.suite;
  plain.dispatch = "hierarchical";
  plain.slots = "+2";
  expect_same_strategies(swept, simulate(plain));
}

// Topology, system and batch size as axes: each cell has its own ranks, slots, rows and tokens.
TEST(Sweep, TopologySystemAndBatchAxesGiveEachCellItsOwnShape) {
  ExperimentRequest r;
  r.suite = write_suite("single", without_sweep(kSuite));
  r.strategies = "baseline,c2r-nodedup";
  r.sweep = {"topology=2x2,2x4", "batch_tokens=256,512"};
  r.output = (kDir / "shapes.h5").string();
  const RunResult all = simulate_to_file(r);
  ASSERT_EQ(all.cells.size(), 4u);
  EXPECT_EQ(all.cells[3].attrs_num.at("num_ranks"), 8);
  EXPECT_EQ(all.cells[3].attrs_num.at("slots_per_rank"), 3);  // ceil(16 / 8) + 1 spare
  const StrategyResult& s = find(all, "baseline", "cell3");
  EXPECT_EQ(s.counts.at("rows_computed").ranks, 8);
  EXPECT_EQ(s.batch_tokens.front(), 512);
  EXPECT_EQ(find(all, "baseline", "cell0").batch_tokens.front(), 256);
  // The cell equals the single simulate with --topology 2x4 --batch-tokens 512.
  ExperimentRequest one;
  one.suite = r.suite;
  one.strategies = r.strategies;
  one.topology = "2x4";
  one.batch_tokens = 512;
  const RunResult alone = simulate(one);
  for (const auto& a : alone.strategies) expect_same_counts(find(all, a.name, "cell3"), a);
}

// System and topology axes: the cells share the workload, so simulate measures them in one pass
// (each batch layer drawn once), and a cell that differs from an earlier one only by its system
// (another row size: loopback's fp32 against h100's bf16; a100's bf16 the same row size, whose
// cost input h100's prices once) takes that cell's placements (but optimal's, which reads the
// system) and counts, and runs only its own cost model. Every cell still equals its single run:
// placements, counts, rows matrix and times.
TEST(Sweep, CellsSharingTheWorkloadEqualTheirSingleRunsCountsAndTimes) {
  ExperimentRequest r;
  r.suite = write_suite("systems", without_sweep(kSuite) + R"(
[variant.optimal-short]
strategy = "optimal"
iterations = 200
)");
  r.strategies = "baseline,c2r,c2r-nodedup,grace-hier,eplb,optimal-short";
  r.sweep = {"system=h100-ndr400,loopback,a100-hdr200", "topology=2x2,1x4"};
  r.output = (kDir / "systems.h5").string();
  const RunResult all = simulate_to_file(r);
  ASSERT_EQ(all.cells.size(), 6u);
  for (const auto& cell : all.cells) {
    ExperimentRequest one;
    one.suite = r.suite;
    one.strategies = r.strategies;
    one.system_model = cell.axes.at(0).second;
    one.topology = cell.axes.at(1).second;
    const RunResult alone = simulate(one);
    for (const auto& a : alone.strategies) {
      const StrategyResult& s = find(all, a.name, cell.id);
      expect_same_counts(s, a);
      EXPECT_EQ(s.rows_matrix, a.rows_matrix) << a.name << "@" << cell.id;
      for (const auto& [k, cube] : a.times) EXPECT_EQ(s.times.at(k).data, cube.data) << k;
      EXPECT_EQ(s.predicted, a.predicted) << a.name << "@" << cell.id;
      EXPECT_EQ(s.predicted_system_model, a.predicted_system_model);
    }
  }
  // Placed once for both systems, but optimal (its objective is the system's layer time).
  auto note = [](const StrategyResult& s) {
    for (const auto& [k, v] : s.notes)
      if (k == "placement_reused_from") return v;
    return std::string();
  };
  for (const char* name : {"baseline", "c2r", "grace-hier", "eplb"}) {
    EXPECT_EQ(note(find(all, name, "cell0")), "");
    for (const char* cell : {"cell2", "cell4"}) {
      EXPECT_EQ(note(find(all, name, cell)), std::string(name) + "@cell0");
      EXPECT_EQ(find(all, name, cell).placement_time_s,
                find(all, name, "cell0").placement_time_s);
    }
  }
  // c2r without dedup is c2r's placement (the strategy does not see dedup): placed once.
  EXPECT_EQ(note(find(all, "c2r-nodedup", "cell0")), "c2r@cell0");
  EXPECT_EQ(note(find(all, "c2r-nodedup", "cell2")), "c2r@cell0");
  EXPECT_EQ(note(find(all, "optimal-short", "cell0")), "");
  EXPECT_EQ(note(find(all, "optimal-short", "cell2")), "");
  // The two systems move different bytes for the same rows (fp32 against bf16 rows).
  const StrategyResult& h100 = find(all, "baseline", "cell0");
  const StrategyResult& loop = find(all, "baseline", "cell2");
  EXPECT_EQ(h100.rows_matrix, loop.rows_matrix);
  EXPECT_NE(h100.times.at("t_dispatch").data, loop.times.at("t_dispatch").data);
  // The system is the sweep's first axis, yet the cells that differ only by it are measured
  // next to each other (cell0, cell2, cell4, then cell1, cell3, cell5), so they are placed and
  // counted once.
  std::vector<std::string> cells_in_file;
  for (const auto& s : all.strategies)
    if (cells_in_file.empty() || cells_in_file.back() != s.cell) cells_in_file.push_back(s.cell);
  EXPECT_EQ(cells_in_file,
            (std::vector<std::string>{"cell0", "cell2", "cell4", "cell1", "cell3", "cell5"}));
  // A rows matrix that counts as an earlier cell's is stored once: cell2's and cell4's are hard
  // links to cell0's (three names, one dataset); cell1's, cell3's and cell5's, another topology,
  // are their own three. c2r without dedup counts otherwise than c2r, but as itself in the other
  // systems. grace-hier's hierarchical dispatch is counted per cell: its rows are its own.
  h5::Handle f = h5::open_file_read(r.output);
  auto links = [&](const std::string& key) {
    return h5::hard_links(f, "/strategies/" + key + "/measured/rows_matrix");
  };
  const std::vector<std::string> cells = {"cell0", "cell1", "cell2", "cell3", "cell4", "cell5"};
  for (const char* name : {"baseline", "c2r", "c2r-nodedup", "eplb"})
    for (const auto& cell : cells)
      EXPECT_EQ(links(std::string(name) + "@" + cell), 3u) << name << "@" << cell;
  for (const auto& cell : cells) EXPECT_EQ(links("grace-hier@" + cell), 1u) << cell;
}

// Resume: the finished (cell, strategy) groups of an interrupted file are carried over and not
// run again; the result equals an uninterrupted run.
TEST(Sweep, ResumeSkipsFinishedCells) {
  ExperimentRequest r;
  r.suite = write_suite("sweep", kSuite);
  const RunResult full = simulate(r);
  // The first five groups finished (cell0 whole, cell1 partly): an interrupted file.
  RunResult partial = full;
  partial.strategies.resize(5);
  partial.attrs_str["status"] = "interrupted";
  const std::string path = (kDir / "partial.h5").string();
  write_results(path, partial);
  ASSERT_TRUE(validate_results(path).ok());
  r.resume = path;
  r.output = (kDir / "resumed.h5").string();
  std::filesystem::remove(r.output);
  MemoryResultSink mem;
  ASSERT_EQ(simulate_into(r, mem), 0);
  const RunResult resumed = mem.result();
  ASSERT_EQ(resumed.strategies.size(), full.strategies.size());
  int carried = 0;
  for (const auto& s : resumed.strategies) {
    for (const auto& [k, v] : s.notes) carried += k == "carried_over_from";
    expect_same_counts(s, find(full, s.name, s.cell));
  }
  EXPECT_EQ(carried, 5);
}

// The report of a sweep file: one row per (cell, strategy) by default, the axes as dimensions
// of --rows/--cols, ratios against each cell's own baseline, and a repetition of the file in
// the same column group (the cells do not split the fingerprint).
TEST(SweepReport, CellAxesArePivotDimensions) {
  ExperimentRequest r;
  r.suite = write_suite("sweep", kSuite);
  const RunResult run = simulate(r);
  report::ReportOptions opt;
  opt.spread = report::Spread::kNone;
  const std::vector<report::ReportInput> two = {{"a.h5", run}, {"b.h5", run}};
  report::Report rep = report::build_report(two, opt);
  ASSERT_EQ(rep.groups.size(), 1u);
  const report::ReportGroup& g = rep.groups[0];
  ASSERT_EQ(g.systems.size(), 1u) << "the cells of one file split its column group";
  EXPECT_EQ(g.systems[0].paths.size(), 2u);
  EXPECT_EQ(g.cell_dims, (std::vector<std::string>{"sweep.dispatch", "sweep.slots"}));
  // Default: strategy and every axis as rows, 16 rows; baselines first, each ratio 1.0x.
  report::PivotTable t = report::build_pivot(rep, g);
  EXPECT_EQ(t.row_dims, (std::vector<std::string>{"strategy", "sweep.dispatch", "sweep.slots"}));
  ASSERT_EQ(t.row_keys.size(), 16u);
  EXPECT_EQ(t.row_keys[0], (std::vector<std::string>{"baseline", "flat", "+0"}));
  EXPECT_EQ(t.row_keys[3], (std::vector<std::string>{"baseline", "hierarchical", "+2"}));
  const auto& baseline_cell = g.systems[0].cells.at("baseline [dispatch=hierarchical, slots=+2]");
  EXPECT_DOUBLE_EQ(baseline_cell.whole.at("speedup").median, 1.0);
  const std::string md = report::render_markdown(rep);
  EXPECT_NE(md.find("| sweep.dispatch |"), std::string::npos) << md;
  const std::string csv = report::render_csv(rep);
  EXPECT_NE(csv.find(",config,sweep.dispatch,sweep.slots\n"), std::string::npos) << csv;
  EXPECT_NE(csv.find(",hierarchical,+2\n"), std::string::npos) << csv;
  EXPECT_NE(report::render_json(rep).find("\"sweep\": {"), std::string::npos);
  // Dispatch as column groups, the budget and strategy as rows; a ratio between the groups.
  rep.pivot.rows = {"strategy", "sweep.slots"};
  rep.pivot.cols = {"sweep.dispatch"};
  rep.pivot.ratio = "sweep.dispatch=hierarchical/sweep.dispatch=flat";
  t = report::build_pivot(rep, g);
  ASSERT_EQ(t.row_keys.size(), 8u);
  EXPECT_EQ(t.columns.front().group, "sweep.dispatch=flat");
  bool ratio = false;
  for (const auto& c : t.columns) ratio = ratio || c.group == rep.pivot.ratio.substr(0, 27) + " / sweep.dispatch=flat";
  EXPECT_TRUE(ratio);
  // The cell's configuration keys are dimensions too: slots_per_rank differs between budgets.
  rep.pivot.ratio.clear();
  rep.pivot.rows = {"strategy", "slots_per_rank"};
  t = report::build_pivot(rep, g);
  EXPECT_EQ(t.row_keys[0], (std::vector<std::string>{"baseline", "4"}));
  EXPECT_EQ(t.row_keys[1], (std::vector<std::string>{"baseline", "6"}));
  // Leaving an axis out of both is refused, naming it.
  rep.pivot.rows = {"strategy"};
  try {
    report::build_pivot(rep, g);
    ADD_FAILURE() << "no error";
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("sweep.slots"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace moeb
