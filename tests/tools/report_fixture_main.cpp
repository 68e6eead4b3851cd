// Writes a synthetic, valid results file (src/report/fixture.hpp) through the io writer, shaped
// like the quickstart run (4 ranks on 2 nodes, 4 layers, 8 experts, top-2), for the tests of
// `moebench report` and tools/moebench_plot.py. Options can make it invalid on purpose.
//   moeb_report_fixture OUT.h5 [--system S] [--backend cpu|model] [--suite NAME] [--scale X]
//                       [--wrong-elements N] [--schema-version V] [--debug] [--hidden H]
//                       [--nodes N] [--ranks-per-node R] [--strategies K (extra measured ones)]
#include <hdf5.h>

#include <cstdio>
#include <cstdlib>
#include <exception>
#include <string>

#include "io/results_file.hpp"
#include "report/fixture.hpp"

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr,
                 "usage: %s OUT.h5 [--system S] [--backend B] [--suite N] [--scale X] "
                 "[--wrong-elements N] [--schema-version V] [--debug] [--hidden H] [--nodes N] [--ranks-per-node R] [--strategies K]\n",
                 argv[0]);
    return 2;
  }
  moeb::report::FixtureSpec spec;
  spec.suite = "quickstart";
  spec.system = "loopback";
  spec.layers = 4;
  spec.iterations = 8;
  spec.batch_tokens = 1024;
  spec.predicted = true;
  double scale = 1.0;
  long wrong = 0, version = 1;
  int extra_strategies = 0;  // more measured strategies (many series in one figure)
  for (int i = 2; i < argc; ++i) {
    const std::string a = argv[i];
    const bool has_value = i + 1 < argc;
    if (a == "--debug") {
      spec.build_type = "Debug";
    } else if (!has_value) {
      std::fprintf(stderr, "%s: option %s needs a value\n", argv[0], a.c_str());
      return 2;
    } else if (a == "--system") {
      spec.system = argv[++i];
    } else if (a == "--backend") {
      spec.backend = argv[++i];
    } else if (a == "--suite") {
      spec.suite = argv[++i];
    } else if (a == "--scale") {
      scale = std::atof(argv[++i]);
    } else if (a == "--wrong-elements") {
      wrong = std::atol(argv[++i]);
    } else if (a == "--nodes") {
      spec.nodes = std::atoi(argv[++i]);
    } else if (a == "--ranks-per-node") {
      spec.ranks_per_node = std::atoi(argv[++i]);
    } else if (a == "--strategies") {
      extra_strategies = std::atoi(argv[++i]);
    } else if (a == "--hidden") {
      spec.hidden = std::atoi(argv[++i]);
    } else if (a == "--schema-version") {
      version = std::atol(argv[++i]);
    } else {
      std::fprintf(stderr, "%s: unknown option %s\n", argv[0], a.c_str());
      return 2;
    }
  }
  moeb::report::FixtureStrategy base, local, skipped;
  base.name = "baseline";
  base.hot_rank_boost = 1.0;
  base.time_scale = scale;
  local.name = "round_robin";
  local.self_share = 0.4;
  local.inter_weight = 0.5;
  local.time_scale = 0.85 * scale;
  skipped.name = "eplb";
  skipped.status = "skipped";
  skipped.skip_reason = "needs slots_per_rank above experts / ranks";
  spec.strategies = {base, local, skipped};
  for (int k = 0; k < extra_strategies; ++k) {
    moeb::report::FixtureStrategy x = local;
    x.name = "variant_" + std::to_string(k);
    x.time_scale = scale * (0.7 + 0.02 * k);
    spec.strategies.push_back(x);
  }
  moeb::RunResult run = moeb::report::make_fixture_run(spec);
  for (auto& s : run.strategies) s.predicted_system_model = "fixture";
  run.strategies[1].wrong_elements = wrong;
  try {
    moeb::write_results(argv[1], run);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "%s: %s\n", argv[0], e.what());
    return 1;
  }
  if (version != 1) {  // the writer always stores version 1: overwrite it afterwards
    hid_t f = H5Fopen(argv[1], H5F_ACC_RDWR, H5P_DEFAULT);
    hid_t attr = f < 0 ? -1 : H5Aopen(f, "schema_version", H5P_DEFAULT);
    const long long v = version;
    const bool ok = attr >= 0 && H5Awrite(attr, H5T_NATIVE_LLONG, &v) >= 0;
    if (attr >= 0) H5Aclose(attr);
    if (f >= 0) H5Fclose(f);
    if (!ok) {
      std::fprintf(stderr, "%s: cannot rewrite schema_version\n", argv[1]);
      return 1;
    }
  }
  return 0;
}
