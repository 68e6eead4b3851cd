// moebench report: tables from in-memory results (no HDF5), golden Markdown and CSV, column
// groups per system, repetitions, mixed suites, LaTeX well-formedness.
#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "core/error.hpp"
#include "report/columns.hpp"
#include "report/fixture.hpp"
#include "report/render.hpp"
#include "report/report.hpp"

namespace moeb::report {
namespace {

const std::string kGoldenDir = std::string(MOEB_SOURCE_DIR) + "/tests/data/report/";

// Compares with a golden file; MOEB_UPDATE_GOLDEN=1 rewrites it (then review the diff).
void expect_golden(const std::string& name, const std::string& text) {
  const std::string path = kGoldenDir + name;
  if (std::getenv("MOEB_UPDATE_GOLDEN")) {
    std::ofstream(path) << text;
    GTEST_SKIP() << "rewrote " << path;
  }
  std::ifstream in(path);
  ASSERT_TRUE(in) << "missing golden file " << path << " (run with MOEB_UPDATE_GOLDEN=1)";
  std::stringstream ss;
  ss << in.rdbuf();
  EXPECT_EQ(ss.str(), text) << "output differs from " << path;
}

FixtureSpec three_strategies(const std::string& system) {
  FixtureSpec spec;
  spec.system = system;
  spec.predicted = true;
  FixtureStrategy base;
  base.name = "baseline";
  base.hot_rank_boost = 1.0;
  FixtureStrategy local;
  local.name = "local_first";
  local.self_share = 0.5;
  local.inter_weight = 0.25;
  local.time_scale = 0.8;
  FixtureStrategy skipped;
  skipped.name = "eplb";
  skipped.status = "skipped";
  skipped.skip_reason = "needs slots_per_rank > experts/ranks";
  spec.strategies = {base, local, skipped};
  return spec;
}

Report report_of(const std::vector<FixtureSpec>& specs, const ReportOptions& opt = {}) {
  std::vector<ReportInput> in;
  int k = 0;
  for (const auto& s : specs)
    in.push_back({"run" + std::to_string(k++) + ".h5", make_fixture_run(s)});
  return build_report(in, opt);
}

size_t count(const std::string& text, const std::string& what) {
  size_t n = 0;
  for (size_t p = text.find(what); p != std::string::npos; p = text.find(what, p + what.size()))
    ++n;
  return n;
}

TEST(ReportGolden, MarkdownOfOneSystem) {
  expect_golden("one_system.md", render_markdown(report_of({three_strategies("sysA")})));
}

TEST(ReportGolden, CsvOfOneSystem) {
  expect_golden("one_system.csv", render_csv(report_of({three_strategies("sysA")})));
}

TEST(ReportGolden, MarkdownPerLayer) {
  ReportOptions opt;
  opt.columns = {"comm_gb", "speedup"};
  opt.per_layer = true;
  expect_golden("per_layer.md", render_markdown(report_of({three_strategies("sysA")}, opt)));
}

TEST(ReportTables, BaselineFirstAndRatiosAgainstItsOwnFile) {
  FixtureSpec spec = three_strategies("sysA");
  std::swap(spec.strategies[0], spec.strategies[1]);  // baseline second in the file
  const Report rep = report_of({spec});
  ASSERT_EQ(rep.groups.size(), 1u);
  const ReportGroup& g = rep.groups[0];
  EXPECT_EQ(g.strategies, (std::vector<std::string>{"baseline", "local_first", "eplb"}));
  const SystemColumn& sys = g.systems.at(0);
  const auto& base = sys.cells.at("baseline").whole;
  const auto& loc = sys.cells.at("local_first").whole;
  EXPECT_DOUBLE_EQ(base.at("comm_reduction").median, 0.0);
  EXPECT_DOUBLE_EQ(base.at("speedup").median, 1.0);
  EXPECT_NEAR(loc.at("comm_reduction").median,
              100.0 * (1.0 - loc.at("comm_gb").median / base.at("comm_gb").median), 1e-9);
  // Same batches in one file: speedup equals the throughput ratio.
  EXPECT_NEAR(loc.at("speedup").median, loc.at("throughput").median / base.at("throughput").median,
              1e-9);
  EXPECT_EQ(sys.cells.at("eplb").status, "skipped");
  EXPECT_EQ(sys.cells.at("eplb").whole.at("comm_gb").n, 0);
}

// One iteration, one layer, two ranks on two nodes, values small enough to check by hand.
TEST(ReportTables, FiguresMatchHandComputedValues) {
  StrategyResult s;
  s.name = "baseline";
  for (const auto& n : count_metric_names()) s.counts[n].resize(1, 1, 2);
  for (const auto& n : time_metric_names()) s.times[n].resize(1, 1, 2);
  s.batch_tokens = {10};
  s.batch_index = {0};
  s.counts["tokens_owned"].at(0, 0, 0) = 5;
  s.counts["tokens_owned"].at(0, 0, 1) = 5;
  s.counts["rows_computed"].at(0, 0, 0) = 15;  // k = 2: 20 rows, 15 and 5
  s.counts["rows_computed"].at(0, 0, 1) = 5;
  s.counts["bytes_sent_inter"].at(0, 0, 0) = 1000;
  s.counts["bytes_recv_inter"].at(0, 0, 1) = 1000;
  s.counts["bytes_sent_inter_combine"].at(0, 0, 1) = 1000;
  s.counts["bytes_recv_inter_combine"].at(0, 0, 0) = 1000;
  s.times["t_layer"].at(0, 0, 0) = 0.004;
  s.times["t_layer"].at(0, 0, 1) = 0.005;
  s.times["t_wait_combine"].at(0, 0, 1) = 0.0018;  // idle = 1.8 ms of 9 ms = 20 %
  RunResult run;
  run.attrs_num["schema_version"] = 1;
  run.attrs_str["system"] = "hand";
  run.strategies = {s};
  const Report rep = build_report({{"hand.h5", run}}, {});
  const auto& w = rep.groups.at(0).systems.at(0).cells.at("baseline").whole;
  EXPECT_DOUBLE_EQ(w.at("comm_gb").median, 2000 / 1e9);
  EXPECT_DOUBLE_EQ(w.at("inter_share").median, 100.0);
  EXPECT_NEAR(w.at("idle_pct").median, 20.0, 1e-12);
  EXPECT_DOUBLE_EQ(w.at("throughput").median, 10 / 0.005);
  EXPECT_DOUBLE_EQ(w.at("jain").median, 400.0 / (2 * 250.0));  // (15+5)^2 / (2 (225+25))
  EXPECT_DOUBLE_EQ(w.at("p99_ms").median, 5.0);
  EXPECT_EQ(w.at("meas_pred").n, 0);  // no predicted times in this file
}

TEST(ReportTables, TwoSystemLabelsGiveTwoColumnGroups) {
  FixtureSpec b = three_strategies("sysB");
  b.backend = "model";  // a simulated file
  const Report rep = report_of({three_strategies("sysA"), b});
  ASSERT_EQ(rep.groups.size(), 1u);
  ASSERT_EQ(rep.groups[0].systems.size(), 2u);
  EXPECT_FALSE(rep.groups[0].systems[0].simulated);
  EXPECT_TRUE(rep.groups[0].systems[1].simulated);
  const std::string md = render_markdown(rep);
  EXPECT_NE(md.find("sysA: comm GB |"), std::string::npos) << md;
  EXPECT_NE(md.find("sysB: comm GB |"), std::string::npos) << md;
  EXPECT_NE(md.find("sysB: simulated (cost model"), std::string::npos) << md;
  // The header has the strategy column plus every default column once per system.
  const std::string header = md.substr(
      md.find("| strategy"), md.find('\n', md.find("| strategy")) - md.find("| strategy"));
  EXPECT_EQ(count(header, "|"), 2 * default_column_ids().size() + 2) << header;
  const std::string tex = render_latex(rep);
  EXPECT_EQ(count(tex, "\\multicolumn{9}{c}{sysA}"), 1u) << tex;
  EXPECT_EQ(count(tex, "\\multicolumn{9}{c}{sysB (simulated)}"), 1u) << tex;
  // 18 data columns do not fit one page-wide tabular: one tabular per system, in one table.
  EXPECT_EQ(count(tex, "\\cmidrule(lr){2-10}\n"), 2u) << tex;
  EXPECT_EQ(count(tex, "\\begin{tabular}"), 2u) << tex;
  EXPECT_EQ(count(tex, "\\begin{table}"), 1u) << tex;
  ReportOptions wide;
  wide.pivot.latex_max_columns = 18;
  const std::string one = render_latex(report_of({three_strategies("sysA"), b}, wide));
  EXPECT_NE(one.find("\\cmidrule(lr){2-10}\\cmidrule(lr){11-19}"), std::string::npos) << one;
  // Simulated times are the model's own: no measured / predicted there.
  EXPECT_EQ(rep.groups[0].systems[1].cells.at("baseline").whole.at("meas_pred").n, 0);
}

TEST(ReportTables, RepetitionsGiveMedianAndSpread) {
  std::vector<FixtureSpec> reps;
  for (double scale : {1.0, 1.5, 0.9}) {
    FixtureSpec s = three_strategies("sysA");
    for (auto& st : s.strategies) st.time_scale *= scale;
    reps.push_back(s);
  }
  const Report rep = report_of(reps);
  const SystemColumn& sys = rep.groups.at(0).systems.at(0);
  EXPECT_EQ(sys.paths.size(), 3u);
  const Stat& tput = sys.cells.at("baseline").whole.at("throughput");
  EXPECT_EQ(tput.n, 3);
  const Report one = report_of({reps[0]});
  const double t1 = one.groups[0].systems[0].cells.at("baseline").whole.at("throughput").median;
  EXPECT_NEAR(tput.median, t1, 1e-6 * t1);  // the middle scale is 1.0
  EXPECT_NEAR(tput.max, t1 / 0.9, 1e-6 * t1);
  EXPECT_NEAR(tput.min, t1 / 1.5, 1e-6 * t1);
  const std::string md = render_markdown(rep);
  EXPECT_NE(md.find("[min, max]"), std::string::npos);
  EXPECT_NE(md.find(format_number(tput.median, NumberStyle::kFixed0) + " [" +
                    format_number(tput.min, NumberStyle::kFixed0) + ", " +
                    format_number(tput.max, NumberStyle::kFixed0) + "]"),
            std::string::npos)
      << md;
  EXPECT_NE(render_csv(rep).find(",throughput,tokens/s,"), std::string::npos);
}

TEST(ReportTables, DifferentSuitesGetSeparateTablesWithANote) {
  FixtureSpec other = three_strategies("sysA");
  other.suite = "other_suite";
  const Report rep = report_of({three_strategies("sysA"), other});
  ASSERT_EQ(rep.groups.size(), 2u);
  ASSERT_EQ(rep.notes.size(), 1u);
  const std::string md = render_markdown(rep);
  EXPECT_NE(md.find("## fixture (mixtral-8x7b)"), std::string::npos);
  EXPECT_NE(md.find("## other_suite (mixtral-8x7b)"), std::string::npos);
  EXPECT_EQ(md.rfind("Note: the inputs hold 2 different (suite, model) pairs", 0), 0u) << md;
}

TEST(ReportTables, UnknownSchemaVersionIsRefusedNamingTheFile) {
  FixtureSpec spec = three_strategies("sysA");
  spec.schema_version = 2;
  try {
    report_of({three_strategies("sysA"), spec});
    FAIL() << "expected InputError";
  } catch (const InputError& e) {
    EXPECT_STREQ(e.what(), "run1.h5: schema_version 2 is not supported (expected 1)");
  }
}

TEST(ReportTables, DebugBuildAndIncompleteRunAreFlagged) {
  FixtureSpec spec = three_strategies("sysA");
  spec.build_type = "Debug";
  spec.status = "interrupted";
  spec.strategies[1].status = "interrupted";
  spec.strategies[1].iterations = 1;
  const std::string md = render_markdown(report_of({spec}));
  EXPECT_NE(md.find("Note: run0.h5 (system sysA): Debug build; its timings are not representative"),
            std::string::npos)
      << md;
  EXPECT_NE(md.find("run status 'interrupted'"), std::string::npos) << md;
  EXPECT_NE(md.find("local_first on sysA: interrupted in run0.h5; its figures use the 1 "
                    "iterations measured"),
            std::string::npos)
      << md;
}

TEST(ReportTables, SystemsWithDifferentRowSizesAreNoted) {
  FixtureSpec b = three_strategies("sysB");
  b.row_bytes = 2048;
  const std::string md = render_markdown(report_of({three_strategies("sysA"), b}));
  EXPECT_NE(md.find("Note: the systems move rows of different sizes (sysA bf16 1024 B, sysB bf16 "
                    "2048 B)"),
            std::string::npos)
      << md;
  EXPECT_EQ(render_markdown(report_of({three_strategies("sysA"), three_strategies("sysB")}))
                .find("rows of different sizes"),
            std::string::npos);
}

TEST(ReportTables, OracleAndRoutingChangesAreMarked) {
  FixtureSpec spec = three_strategies("sysA");
  spec.strategies[1].oracle = true;
  spec.strategies[1].routing_deviation = 0.125;
  const std::string md = render_markdown(report_of({spec}));
  EXPECT_NE(md.find("| local_first (oracle)"), std::string::npos) << md;
  EXPECT_NE(md.find("local_first on sysA changes routing: 12.5% of (token, expert) choices"),
            std::string::npos)
      << md;
}

TEST(ReportTables, MissingBaselineLeavesRatiosEmpty) {
  FixtureSpec spec = three_strategies("sysA");
  spec.strategies.erase(spec.strategies.begin());
  const Report rep = report_of({spec});
  const auto& w = rep.groups[0].systems[0].cells.at("local_first").whole;
  EXPECT_EQ(w.at("speedup").n, 0);
  EXPECT_EQ(w.at("comm_reduction").n, 0);
  EXPECT_GT(w.at("comm_gb").n, 0);
  EXPECT_NE(render_markdown(rep).find("no measured baseline; ratio columns are n/a"),
            std::string::npos);
}

TEST(ReportLatex, IsWellFormedWithEscapedNamesAndBoldBest) {
  FixtureSpec spec = three_strategies("cluster_1 & co");
  spec.suite = "my_suite#1";
  spec.strategies[1].name = "tacg_50%{x}$";
  spec.strategies[2].skip_reason = "needs 100% of ~slots";
  FixtureSpec b = three_strategies("sysB");
  b.suite = spec.suite;
  ReportOptions opt;
  opt.per_layer = true;
  opt.pivot.latex_max_columns = 100;  // one tabular
  const std::string tex = render_latex(report_of({spec, b}, opt));
  EXPECT_EQ(count(tex, "\\begin{table}"), count(tex, "\\end{table}"));
  EXPECT_EQ(count(tex, "\\begin{tabular}"), count(tex, "\\end{tabular}"));
  EXPECT_EQ(count(tex, "\\toprule"), count(tex, "\\bottomrule"));
  EXPECT_GE(count(tex, "\\begin{table}"), 2u);
  // Braces balance outside escaped ones, and no raw special is left in text.
  int depth = 0;
  for (size_t i = 0; i < tex.size(); ++i) {
    if (tex[i] == '%' && (i == 0 || tex[i - 1] == '\n')) {  // comment line
      i = tex.find('\n', i);
      continue;
    }
    if (tex[i] == '\\' && i + 1 < tex.size() &&
        std::string("{}%$&#_").find(tex[i + 1]) != std::string::npos) {
      ++i;
      continue;
    }
    if (tex[i] == '{') ++depth;
    if (tex[i] == '}') --depth;
    EXPECT_GE(depth, 0) << "at " << i;
  }
  EXPECT_EQ(depth, 0);
  EXPECT_NE(tex.find("tacg\\_50\\%\\{x\\}\\$"), std::string::npos) << tex;
  EXPECT_NE(tex.find("cluster\\_1 \\& co"), std::string::npos) << tex;
  EXPECT_NE(tex.find("my\\_suite\\#1"), std::string::npos) << tex;
  EXPECT_NE(tex.find("needs 100\\% of \\textasciitilde{}slots"), std::string::npos) << tex;
  EXPECT_EQ(tex.find("tacg_50"), std::string::npos);
  // Each row ends with \\ and has 1 + 2 * 9 cells.
  const size_t row = tex.find("\nbaseline &");
  ASSERT_NE(row, std::string::npos);
  const std::string line = tex.substr(row + 1, tex.find('\n', row + 1) - row - 1);
  EXPECT_EQ(count(line, " & "), 18u) << line;
  EXPECT_NE(tex.find("\\textbf{"), std::string::npos);
  EXPECT_NE(tex.find("\\textsuperscript{1}"), std::string::npos);
}

TEST(ReportData, JsonHasOneRowPerSystemStrategyMetric) {
  ReportOptions opt;
  opt.columns = {"comm_gb", "speedup", "jain"};
  const Report rep = report_of({three_strategies("sysA"), three_strategies("sysB")}, opt);
  const auto doc = nlohmann::json::parse(render_json(rep));
  // 2 systems x (2 measured strategies x 3 metrics + 1 skipped row).
  ASSERT_EQ(doc.at("rows").size(), 2u * (2 * 3 + 1));
  const auto& r0 = doc["rows"][0];
  EXPECT_EQ(r0["system"], "sysA");
  EXPECT_EQ(r0["strategy"], "baseline");
  EXPECT_EQ(r0["metric"], "comm_gb");
  EXPECT_EQ(r0["unit"], "GB");
  EXPECT_EQ(r0["layer"], "all");
  EXPECT_TRUE(r0["value"].is_number());
  EXPECT_EQ(doc["rows"][6]["status"], "skipped");
  EXPECT_TRUE(doc["rows"][6]["value"].is_null());
  EXPECT_EQ(doc["groups"][0]["systems"].size(), 2u);
}

TEST(ReportColumns, ParsesListsAndRejectsUnknownNames) {
  EXPECT_EQ(parse_column_list("comm_gb, jain"), (std::vector<std::string>{"comm_gb", "jain"}));
  try {
    parse_column_list("comm_gb,bogus");
    FAIL() << "expected ConfigError";
  } catch (const ConfigError& e) {
    EXPECT_EQ(std::string(e.what()).rfind(
                  "--metrics: unknown metric 'bogus' (expected one of comm_gb,", 0),
              0u)
        << e.what();
  }
  EXPECT_THROW(parse_column_list(""), ConfigError);
  EXPECT_THROW(parse_format("html"), ConfigError);
  EXPECT_EQ(parse_format("tex"), Format::kLatex);
}

TEST(ReportColumns, NumbersAreFormattedDeterministically) {
  EXPECT_EQ(format_number(0.000368640, NumberStyle::kSig4), "0.000369");
  EXPECT_EQ(format_number(12.3456, NumberStyle::kSig4), "12.35");
  EXPECT_EQ(format_number(123456.7, NumberStyle::kSig4), "123457");
  EXPECT_EQ(format_number(0, NumberStyle::kSig4), "0");
  EXPECT_EQ(format_number(-0.01, NumberStyle::kFixed1), "0.0");
  EXPECT_EQ(format_number(2.0938, NumberStyle::kSpeedup), "2.09x");
  EXPECT_EQ(format_number(std::nan(""), NumberStyle::kFixed2), "n/a");
}

}  // namespace
}  // namespace moeb::report
