// moebench report, like with like: configuration fingerprints (repetitions only of equal
// configurations; separate column groups or refusal naming the keys), the reference strategy of
// the ratios, spreads and confidence intervals, "best" only without overlap, failed strategies,
// host-load warnings and the selectable columns.
#include <gtest/gtest.h>

#include "core/error.hpp"
#include "core/metrics.hpp"
#include "report/aggregate.hpp"
#include "report/columns.hpp"
#include "report/fingerprint.hpp"
#include "report/fixture.hpp"
#include "report/pivot.hpp"
#include "report/render.hpp"
#include "report/report.hpp"

namespace moeb::report {
namespace {

FixtureSpec two_strategies(const std::string& system = "sysA") {
  FixtureSpec spec;
  spec.system = system;
  FixtureStrategy base;
  base.name = "baseline";
  base.hot_rank_boost = 1.0;
  FixtureStrategy local;
  local.name = "local_first";
  local.self_share = 0.5;
  local.inter_weight = 0.25;
  local.time_scale = 0.8;
  spec.strategies = {base, local};
  return spec;
}

Report report_of(const std::vector<FixtureSpec>& specs, const ReportOptions& opt = {}) {
  std::vector<ReportInput> in;
  int k = 0;
  for (const auto& s : specs)
    in.push_back({"run" + std::to_string(k++) + ".h5", make_fixture_run(s)});
  return build_report(in, opt);
}

bool contains(const std::string& text, const std::string& what) {
  return text.find(what) != std::string::npos;
}

std::string all_notes(const Report& rep) {
  std::string s;
  for (const auto& g : rep.groups)
    for (const auto& n : g.notes) s += n + "\n";
  return s;
}

TEST(ReportFingerprint, HiddenSizesAreSeparateColumnGroupsNamingTheKey) {
  FixtureSpec a = two_strategies(), b = two_strategies();
  a.hidden = 512;
  b.hidden = 2048;
  const Report rep = report_of({a, b});
  ASSERT_EQ(rep.groups.size(), 1u);
  const auto& sys = rep.groups[0].systems;
  ASSERT_EQ(sys.size(), 2u) << "different hidden sizes must not be repetitions";
  EXPECT_EQ(sys[0].title, "sysA [model.hidden=512]");
  EXPECT_EQ(sys[1].title, "sysA [model.hidden=2048]");
  EXPECT_EQ(sys[0].paths.size(), 1u);
  EXPECT_NE(sys[0].fingerprint.hash, sys[1].fingerprint.hash);
  EXPECT_TRUE(contains(all_notes(rep), "run1.h5 (system sysA) differs from run0.h5 in "
                                       "model.hidden (512 vs 2048): not a repetition"))
      << all_notes(rep);
  const std::string md = render_markdown(rep);
  EXPECT_TRUE(contains(md, "| sysA [model.hidden=2048]: comm GB |")) << md;
}

TEST(ReportFingerprint, StrictRefusesNamingTheKey) {
  FixtureSpec a = two_strategies(), b = two_strategies();
  a.hidden = 512;
  b.hidden = 2048;
  ReportOptions opt;
  opt.strict = true;
  try {
    report_of({a, b}, opt);
    FAIL() << "expected InputError";
  } catch (const InputError& e) {
    EXPECT_TRUE(contains(e.what(), "run0.h5 and run1.h5 (system sysA) are not repetitions: they "
                                   "differ in model.hidden (512 vs 2048)"))
        << e.what();
  }
}

TEST(ReportFingerprint, IterationsAndLauncherBookkeepingDoNotSeparateRepetitions) {
  FixtureSpec a = two_strategies(), b = two_strategies();
  b.iterations = 5;
  a.env = {"OMPI_COMM_WORLD_RANK=0", "OMPI_MCA_orte_hnp_uri=1.0;tcp://127.0.0.1:4711",
           "UCX_TLS=rc"};
  b.env = {"OMPI_COMM_WORLD_RANK=0", "OMPI_MCA_orte_hnp_uri=9.0;tcp://127.0.0.1:9999",
           "UCX_TLS=rc"};
  const Report rep = report_of({a, b});
  ASSERT_EQ(rep.groups[0].systems.size(), 1u) << all_notes(rep);
  EXPECT_EQ(rep.groups[0].systems[0].paths.size(), 2u);
  // A transport setting does separate them.
  b.env.back() = "UCX_TLS=tcp";
  const Report rep2 = report_of({a, b});
  ASSERT_EQ(rep2.groups[0].systems.size(), 2u);
  EXPECT_EQ(rep2.groups[0].systems[1].title, "sysA [env.UCX_TLS=tcp]");
}

TEST(ReportFingerprint, KeysNewerThanAFileKeepItsHashAtTheValueTheyImply) {
  // workload.generator_version came after the first results files: a file without it reads as
  // version 1, hashes like an explicit version 1, and differs from version 2 in that key only.
  RunResult old_file, v1, v2;
  old_file.config_toml = "[workload]\nseed = 7\n";
  v1.config_toml = "[workload]\nseed = 7\ngenerator_version = 1\n";
  v2.config_toml = "[workload]\nseed = 7\ngenerator_version = 2\n";
  const Fingerprint a = config_fingerprint(old_file, "old.h5");
  const Fingerprint b = config_fingerprint(v1, "v1.h5");
  const Fingerprint c = config_fingerprint(v2, "v2.h5");
  EXPECT_EQ(a.hash, b.hash);
  EXPECT_NE(a.hash, c.hash);
  const auto diffs = differing_keys(a, c);
  ASSERT_EQ(diffs.size(), 1u) << describe_diffs(diffs, 8);
  EXPECT_EQ(diffs[0].key, "workload.generator_version");
  EXPECT_EQ(diffs[0].a, "1");
  EXPECT_EQ(diffs[0].b, "2");
}

TEST(ReportFingerprint, RulesOfKeysAndEnvironment) {
  EXPECT_TRUE(config_key_counts("model.hidden"));
  EXPECT_TRUE(config_key_counts("workload.batch_tokens"));
  EXPECT_TRUE(config_key_counts("run.dispatch"));
  EXPECT_FALSE(config_key_counts("run.iterations"));
  EXPECT_FALSE(config_key_counts("run.warmup"));
  EXPECT_FALSE(config_key_counts("placement.strategies"));
  EXPECT_FALSE(config_key_counts("suite.system"));
  EXPECT_FALSE(config_key_counts("strategy.tacg.alpha"));
  EXPECT_TRUE(env_var_counts("UCX_TLS"));
  EXPECT_TRUE(env_var_counts("NCCL_ALGO"));
  EXPECT_TRUE(env_var_counts("FI_PROVIDER"));
  EXPECT_TRUE(env_var_counts("OMPI_MCA_btl"));
  EXPECT_FALSE(env_var_counts("OMPI_MCA_orte_hnp_uri"));
  EXPECT_FALSE(env_var_counts("OMPI_COMM_WORLD_RANK"));
  EXPECT_FALSE(env_var_counts("CUDA_VISIBLE_DEVICES"));
  EXPECT_EQ(key_kind("env.UCX_TLS"), KeyKind::kSystem);
  EXPECT_EQ(key_kind("model.hidden"), KeyKind::kExperiment);
  // The stored config is read as TOML: a value in it wins over the attribute.
  RunResult run = make_fixture_run(two_strategies());
  run.config_toml += "\n[workload]\nbatch_tokens = 4096\ntraces = [\"a.h5\", \"b.h5\"]\n";
  const Fingerprint fp = config_fingerprint(run, "x.h5");
  EXPECT_EQ(fp.keys.at("workload.batch_tokens"), "4096");
  EXPECT_EQ(fp.keys.at("workload.traces"), "[a.h5, b.h5]");
  EXPECT_EQ(fp.keys.at("model.hidden"), "512");
  EXPECT_EQ(fp.keys.count("run.iterations"), 0u);
  EXPECT_EQ(fp.hash.size(), 16u);
  run.config_toml = "[model\nhidden = 1";
  EXPECT_THROW(config_fingerprint(run, "x.h5"), InputError);
}

TEST(ReportFingerprint, SystemsMeasuringDifferentExperimentsAreNotedOrRefused) {
  FixtureSpec a = two_strategies("sysA"), b = two_strategies("sysB");
  b.hidden = 2048;
  b.env = {"UCX_TLS=tcp"};  // a system key: expected to differ between systems
  const Report rep = report_of({a, b});
  EXPECT_TRUE(contains(all_notes(rep), "sysB and sysA differ in model.hidden (512 vs 2048): "
                                       "their columns do not compare like with like"))
      << all_notes(rep);
  EXPECT_FALSE(contains(all_notes(rep), "UCX_TLS"));
  ReportOptions opt;
  opt.strict = true;
  EXPECT_THROW(report_of({a, b}, opt), InputError);
  b.hidden = 0;  // same experiment, other transport: fine even with --strict
  EXPECT_NO_THROW(report_of({a, b}, opt));
}

TEST(ReportBaseline, RatiosAgainstANamedReference) {
  ReportOptions opt;
  opt.baseline = "local_first";
  const Report rep = report_of({two_strategies()}, opt);
  const ReportGroup& g = rep.groups[0];
  EXPECT_EQ(g.reference, "local_first");
  EXPECT_EQ(g.strategies.front(), "local_first");
  const auto& loc = g.systems[0].cells.at("local_first").whole;
  const auto& base = g.systems[0].cells.at("baseline").whole;
  EXPECT_DOUBLE_EQ(loc.at("speedup").median, 1.0);
  EXPECT_NEAR(base.at("speedup").median,
              base.at("throughput").median / loc.at("throughput").median, 1e-9);
  EXPECT_NEAR(base.at("comm_reduction").median,
              100.0 * (1.0 - base.at("comm_gb").median / loc.at("comm_gb").median), 1e-9);
  EXPECT_TRUE(contains(render_markdown(rep), "are against local_first in the same file"));
  opt.baseline = "nonesuch";
  try {
    report_of({two_strategies()}, opt);
    FAIL() << "expected ConfigError";
  } catch (const ConfigError& e) {
    EXPECT_STREQ(e.what(), "--baseline nonesuch: no input file has a strategy of that name");
  }
}

// Per-iteration batch throughput of a strategy, by hand from its cubes.
std::vector<double> iteration_throughput(const StrategyResult& s) {
  const auto& t = s.times.at("t_layer");
  std::vector<double> out;
  for (int i = 0; i < t.iterations; ++i) {
    double batch = 0;
    for (int l = 0; l < t.layers; ++l) {
      double mx = 0;
      for (int r = 0; r < t.ranks; ++r) mx = std::max(mx, t.at(i, l, r));
      batch += mx;
    }
    out.push_back(s.batch_tokens[i] / batch);
  }
  return out;
}

TEST(ReportSpread, MinMaxCoversIterationsAndRepetitions) {
  FixtureSpec a = two_strategies(), b = two_strategies();
  for (auto& st : b.strategies) st.time_scale *= 1.3;
  ReportOptions opt;
  opt.spread = Spread::kMinMax;
  const Report rep = report_of({a, b}, opt);
  ASSERT_EQ(rep.groups[0].systems.size(), 1u);
  const Stat& tp = rep.groups[0].systems[0].cells.at("baseline").whole.at("throughput");
  std::vector<double> all = iteration_throughput(make_fixture_run(a).strategies[0]);
  for (double v : iteration_throughput(make_fixture_run(b).strategies[0])) all.push_back(v);
  EXPECT_NEAR(tp.lo, *std::min_element(all.begin(), all.end()), 1e-9 * tp.lo);
  EXPECT_NEAR(tp.hi, *std::max_element(all.begin(), all.end()), 1e-9 * tp.hi);
  EXPECT_EQ(tp.samples, 6);  // 3 iterations x 2 files
  EXPECT_LT(tp.lo, tp.hi);
  // Byte counts do not vary: their interval is a point and shows nothing.
  const Stat& comm = rep.groups[0].systems[0].cells.at("baseline").whole.at("comm_gb");
  EXPECT_EQ(comm.lo, comm.hi);
  const std::string md = render_markdown(rep);
  EXPECT_TRUE(contains(md, "[min, max] over iterations and files")) << md;
  EXPECT_TRUE(contains(md, format_number(tp.median, NumberStyle::kFixed0) + " [" +
                               format_number(tp.lo, NumberStyle::kFixed0) + ", " +
                               format_number(tp.hi, NumberStyle::kFixed0) + "]"))
      << md;
}

TEST(ReportSpread, BootstrapIntervalIsDeterministicAndInsideTheRange) {
  ReportOptions opt;
  opt.spread = Spread::kCi;
  const Report r1 = report_of({two_strategies(), two_strategies()}, opt);
  const Report r2 = report_of({two_strategies(), two_strategies()}, opt);
  EXPECT_EQ(render_csv(r1), render_csv(r2));
  const Stat& ci = r1.groups[0].systems[0].cells.at("baseline").whole.at("throughput");
  opt.spread = Spread::kMinMax;
  const Report r3 = report_of({two_strategies(), two_strategies()}, opt);  // kept: mm refers into it
  const Stat& mm = r3.groups[0].systems[0].cells.at("baseline").whole.at("throughput");
  EXPECT_LE(ci.lo, ci.hi);
  EXPECT_GE(ci.lo, mm.lo - 1e-9);
  EXPECT_LE(ci.hi, mm.hi + 1e-9);
  // Known case: a constant sample has a point interval; two far groups span both.
  auto [lo, hi] = bootstrap_interval("throughput", {{5}, {5}, {5}}, 500);
  EXPECT_EQ(lo, 5);
  EXPECT_EQ(hi, 5);
  std::tie(lo, hi) = bootstrap_interval("throughput", {{1}, {100}}, 500);
  EXPECT_EQ(lo, 1);
  EXPECT_EQ(hi, 100);
}

TEST(ReportSpread, BestIsMarkedOnlyWithoutOverlap) {
  // Two noisy repetitions each; local_first's times overlap baseline's.
  FixtureSpec a = two_strategies(), b = two_strategies();
  // local_first alone runs ~2.1x baseline's throughput; these scales make their ranges overlap.
  a.strategies[1].time_scale = 2.0;
  b.strategies[0].time_scale = 0.5;
  b.strategies[1].time_scale = 1.0;
  Report rep = report_of({a, b});
  const ReportGroup& g = rep.groups[0];
  const ColumnSpec& tp = *find_column("throughput");
  EXPECT_TRUE(detail::best_strategies(g, g.systems[0], tp).empty());
  // Deterministic byte counts: the smaller one is best.
  EXPECT_EQ(detail::best_strategies(g, g.systems[0], *find_column("comm_gb")),
            std::vector<std::string>{"local_first"});
  // Far apart: marked.
  FixtureSpec c = two_strategies();
  c.strategies[1].time_scale = 0.3;
  const Report far = report_of({c});
  EXPECT_EQ(detail::best_strategies(far.groups[0], far.groups[0].systems[0], tp),
            std::vector<std::string>{"local_first"});
  const std::string tex = render_latex(rep);
  const size_t row = tex.find("\nlocal\\_first &");
  ASSERT_NE(row, std::string::npos) << tex;
  const std::string line = tex.substr(row, tex.find('\n', row + 1) - row);
  EXPECT_EQ(std::count(line.begin(), line.end(), '&'), 9) << line;
  EXPECT_TRUE(contains(line, "\\textbf{")) << line;  // comm GB
}

TEST(ReportStatus, FailedStrategiesShowTheirReasonAndDoneReadsAsComplete) {
  FixtureSpec spec = two_strategies();
  FixtureStrategy failed;
  failed.name = "tacg";
  failed.status = "failed";
  failed.skip_reason = "out of memory on rank 3";
  spec.strategies.push_back(failed);
  spec.strategies[1].status = "done";
  const Report rep = report_of({spec});
  const auto& cells = rep.groups[0].systems[0].cells;
  EXPECT_EQ(cells.at("tacg").status, "failed");
  EXPECT_EQ(cells.at("tacg").reason, "out of memory on rank 3");
  EXPECT_EQ(cells.at("local_first").status, "complete");
  const std::string md = render_markdown(rep);
  EXPECT_TRUE(contains(md, "| tacg        | failed (1) |")) << md;
  EXPECT_TRUE(contains(md, "(1) tacg on sysA: failed: out of memory on rank 3")) << md;
  EXPECT_TRUE(contains(render_csv(rep), ",tacg,failed,all,,,,,,0,tacg on sysA: failed: out of "
                                        "memory on rank 3,"))
      << render_csv(rep);
  EXPECT_TRUE(contains(render_latex(rep), "tacg & failed\\textsuperscript{1}"));
}

TEST(ReportWarnings, RanksOverCoresAndLoadedHostsGetOneLine) {
  FixtureSpec spec = two_strategies();
  EXPECT_FALSE(contains(all_notes(report_of({spec})), "noisy"));  // nothing recorded: silent
  // The fixture puts 2 ranks on each of 2 hosts: 2 ranks on 2 cores is fine.
  spec.attrs = {{"host_cores", 2}};
  EXPECT_FALSE(contains(all_notes(report_of({spec})), "noisy"));
  spec.attrs = {{"host_cores", 1}};
  EXPECT_TRUE(contains(all_notes(report_of({spec})),
                       "timings may be noisy: run0.h5 ran 2 ranks on a host with 1 cores"))
      << all_notes(report_of({spec}));
  spec.attrs = {{"host_cores", 16}, {"load_avg_start", 15.5}};
  EXPECT_TRUE(contains(all_notes(report_of({spec})),
                       "timings may be noisy: run0.h5: host load average 15.50 at start with 2 "
                       "ranks on 16 cores"))
      << all_notes(report_of({spec}));
  spec.attrs = {{"host_cores", 16}, {"load_avg_start", 0.5}, {"load_avg_end", 2.5}};
  EXPECT_FALSE(contains(all_notes(report_of({spec})), "noisy"));
}

TEST(ReportColumns, BandwidthPhaseAndPlacementColumns) {
  ReportOptions opt;
  opt.columns = {"algbw_gbps", "busbw_gbps", "dispatch_ms", "combine_ms", "ffn_ms", "batch_ms",
                 "p95_ms",     "replicas",   "expert_mem_gib"};
  const FixtureSpec spec = two_strategies();
  const Report rep = report_of({spec}, opt);
  const auto& w = rep.groups[0].systems[0].cells.at("baseline").whole;
  const int R = spec.nodes * spec.ranks_per_node;
  EXPECT_NEAR(w.at("busbw_gbps").median, w.at("algbw_gbps").median * (R - 1) / R, 1e-12);
  EXPECT_GT(w.at("algbw_gbps").median, 0);
  EXPECT_LE(w.at("p50_ms").median, w.at("p95_ms").median);
  EXPECT_LE(w.at("p95_ms").median, w.at("p99_ms").median);
  // One primary per expert, no replicas; 2 experts per rank per layer x 2 layers, each
  // 3 * 512 * 1024 bf16 values.
  EXPECT_DOUBLE_EQ(w.at("replicas").median, 0.0);
  EXPECT_DOUBLE_EQ(w.at("expert_mem_gib").median, 4.0 * 3 * 512 * 1024 * 2 / (1024.0 * 1024 * 1024));
  // algbw by hand: dispatch bytes of the busiest rank over the slowest dispatch, per iteration.
  const StrategyResult s = make_fixture_run(spec).strategies[0];
  std::vector<double> bytes, secs;
  const int I = spec.iterations, L = spec.layers;
  for (int i = 0; i < I; ++i) {
    double b = 0, t = 0;
    for (int l = 0; l < L; ++l) {
      double mb = 0, mt = 0;
      for (int r = 0; r < R; ++r) {
        mb = std::max({mb,
                       double(s.counts.at("bytes_sent_intra").at(i, l, r) +
                              s.counts.at("bytes_sent_inter").at(i, l, r)),
                       double(s.counts.at("bytes_recv_intra").at(i, l, r) +
                              s.counts.at("bytes_recv_inter").at(i, l, r))});
        mt = std::max(mt, s.times.at("t_dispatch").at(i, l, r));
      }
      b += mb;
      t += mt;
    }
    bytes.push_back(b);
    secs.push_back(t);
  }
  EXPECT_NEAR(w.at("algbw_gbps").median, median(bytes) / median(secs) / 1e9, 1e-9);
  const std::string md = render_markdown(rep);
  EXPECT_TRUE(contains(md, "| strategy    | algbw GB/s | busbw GB/s |")) << md;
}

size_t count_of(const std::string& text, const std::string& what) {
  size_t n = 0;
  for (size_t p = text.find(what); p != std::string::npos; p = text.find(what, p + what.size()))
    ++n;
  return n;
}

TEST(ReportPivot, ColumnsOverAConfigurationKey) {
  FixtureSpec a = two_strategies(), b = two_strategies();
  a.hidden = 512;
  b.hidden = 2048;
  ReportOptions opt;
  opt.columns = {"comm_gb", "throughput"};
  opt.pivot.cols = {"model.hidden"};
  const std::string md = render_markdown(report_of({a, b}, opt));
  EXPECT_TRUE(contains(md, "| strategy    | model.hidden=512: comm GB | model.hidden=512: tok/s | "
                           "model.hidden=2048: comm GB |"))
      << md;
  // Rows over strategy and the key, metrics as columns.
  opt.pivot.rows = {"strategy", "model.hidden"};
  opt.pivot.cols = {"metric"};
  const std::string md2 = render_markdown(report_of({a, b}, opt));
  EXPECT_TRUE(contains(md2, "| strategy    | model.hidden |  comm GB |")) << md2;
  EXPECT_TRUE(contains(md2, "| baseline    | 2048         |")) << md2;
}

TEST(ReportPivot, DimensionsLeftVaryingAreNamed) {
  ReportOptions opt;
  opt.pivot.cols = {"model.hidden"};  // equal in both files: sysA and sysB would share a cell
  try {
    report_of({two_strategies("sysA"), two_strategies("sysB")}, opt);
    render_markdown(report_of({two_strategies("sysA"), two_strategies("sysB")}, opt));
    FAIL() << "expected ConfigError";
  } catch (const ConfigError& e) {
    EXPECT_TRUE(contains(e.what(), "they differ in system: add one of these to --rows or --cols"))
        << e.what();
  }
  opt.pivot.cols = {"bogus.key"};
  EXPECT_THROW(render_markdown(report_of({two_strategies()}, opt)), ConfigError);
  opt.pivot.cols = {"strategy"};  // also a row
  EXPECT_THROW(render_markdown(report_of({two_strategies()}, opt)), ConfigError);
}

TEST(ReportPivot, LongAndTransposedLayouts) {
  ReportOptions opt;
  opt.columns = {"comm_gb", "speedup"};
  opt.pivot.layout = Layout::kLong;
  const Report rep = report_of({two_strategies("sysA"), two_strategies("sysB")}, opt);
  const std::string md = render_markdown(rep);
  EXPECT_TRUE(contains(md, "| strategy    | system | metric  |    value |")) << md;
  // 2 strategies x 2 systems x 2 metrics, one value per line.
  EXPECT_EQ(count_of(md, "\n| baseline "), 4u) << md;
  EXPECT_EQ(count_of(md, "\n| local_first "), 4u) << md;
  opt.pivot.layout = Layout::kTransposed;
  const std::string tr = render_markdown(report_of({two_strategies("sysA")}, opt));
  EXPECT_TRUE(contains(tr, "| system | metric  | baseline | local_first |")) << tr;
  EXPECT_TRUE(contains(tr, "| sysA   | speedup |    1.00x |")) << tr;
  EXPECT_TRUE(contains(render_latex(report_of({two_strategies("sysA")}, opt)),
                       "System & Metric & baseline & local\\_first \\\\"));
}

TEST(ReportPivot, RatioOfTwoSystems) {
  FixtureSpec a = two_strategies("sysA"), b = two_strategies("sysB");
  for (auto& st : b.strategies) st.time_scale *= 2;
  ReportOptions opt;
  opt.columns = {"throughput", "comm_gb"};
  opt.pivot.ratio = "sysB/sysA";
  const Report rep = report_of({a, b}, opt);
  const PivotTable t = build_pivot(rep, rep.groups[0]);
  ASSERT_EQ(t.columns.size(), 6u);
  EXPECT_EQ(t.columns[4].group, "sysB / sysA");
  const auto& ca = rep.groups[0].systems[0].cells.at("baseline").whole;
  const auto& cb = rep.groups[0].systems[1].cells.at("baseline").whole;
  EXPECT_DOUBLE_EQ(t.cells[0][4].ratio, cb.at("throughput").median / ca.at("throughput").median);
  EXPECT_NEAR(t.cells[0][4].ratio, 0.5, 0.01);
  EXPECT_DOUBLE_EQ(t.cells[0][5].ratio, 1.0);  // same bytes on both
  const std::string md = render_markdown(rep);
  EXPECT_TRUE(contains(md, "sysB / sysA: tok/s")) << md;
  EXPECT_TRUE(contains(md, "1.00x |\n")) << md;
  opt.pivot.ratio = "sysC/sysA";
  try {
    render_markdown(report_of({a, b}, opt));
    FAIL() << "expected ConfigError";
  } catch (const ConfigError& e) {
    EXPECT_TRUE(contains(e.what(), "--ratio sysC/sysA: no column group named 'sysC' (column "
                                   "groups: 'sysA', 'sysB')"))
        << e.what();
  }
  EXPECT_EQ(parse_ratio("a b / c"), (std::pair<std::string, std::string>{"a b", "c"}));
  EXPECT_THROW(parse_ratio("nothing"), ConfigError);
}

TEST(ReportLatexFit, WideTablesAreSplitAndScaledToTheLine) {
  std::vector<FixtureSpec> specs;
  for (const char* s : {"sysA", "sysB", "sysC", "sysD"}) specs.push_back(two_strategies(s));
  const std::string tex = render_latex(report_of(specs));
  // 4 systems x 9 default columns: four tabulars of one system each, one table, one caption.
  EXPECT_EQ(count_of(tex, "\\begin{tabular}{lrrrrrrrrr}"), 4u) << tex;
  EXPECT_EQ(count_of(tex, "\\resizebox{\\ifdim\\width>\\linewidth\\linewidth\\else\\width\\fi}"
                          "{!}{%"),
            4u);
  EXPECT_EQ(count_of(tex, "\\caption{"), 1u);
  ReportOptions opt;
  opt.pivot.latex_max_columns = 4;  // a column group wider than the limit is cut by metrics
  const std::string cut = render_latex(report_of({two_strategies()}, opt));
  EXPECT_EQ(count_of(cut, "\\begin{tabular}{lrrrr}"), 2u) << cut;
  EXPECT_EQ(count_of(cut, "\\begin{tabular}{lr}"), 1u) << cut;
}

}  // namespace
}  // namespace moeb::report
