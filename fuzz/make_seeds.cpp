// Writes the seed files of the HDF5 fuzz targets (scripts/fuzz.sh): small valid routing traces
// (tokens, statistics-only) and small valid results files, through the project's own writers.
//   moeb_fuzz_seeds TRACE_DIR RESULTS_DIR
#include <cstdio>
#include <exception>
#include <string>

#include "core/trace.hpp"
#include "io/results_file.hpp"
#include "report/fixture.hpp"
#include "workload/trace_file.hpp"

namespace {

void write_token_trace(const std::string& path, int layers, int experts, int top_k, int tokens) {
  moeb::TraceHeader h;
  h.num_layers = layers;
  h.num_experts = experts;
  h.top_k = top_k;
  h.family_names = {"default", "code"};
  h.source = "fuzz seed";
  h.import_format = "synthetic";
  moeb::RoutingTrace t(layers, top_k, experts, tokens);
  for (int64_t i = 0; i < tokens; ++i) {
    t.meta(i).request_id = i / 4;
    t.meta(i).position = static_cast<int32_t>(i % 4);
    t.meta(i).family = static_cast<int32_t>(i % 2);
    t.meta(i).phase = i % 4 == 0 ? moeb::Phase::kPrefill : moeb::Phase::kDecode;
    for (int l = 0; l < layers; ++l)
      for (int k = 0; k < top_k; ++k) {
        t.experts(l, i)[k] = static_cast<int32_t>((i + l + k * 3) % experts);
        t.weights(l, i)[k] = 1.0f / static_cast<float>(k + 2);
      }
  }
  moeb::TraceWriter w(path, h);
  w.append(t);
  w.finish();
}

void write_stats_trace(const std::string& path) {
  moeb::TraceHeader h;
  h.num_layers = 2;
  h.num_experts = 4;
  h.top_k = 2;
  h.source = "fuzz seed";
  h.import_format = "coact-csv";
  h.statistics_only = true;
  std::vector<std::vector<double>> load(2, std::vector<double>(4, 1.0));
  std::vector<std::vector<double>> coact(2, std::vector<double>(16, 0.0));
  for (auto& c : coact)
    for (int i = 0; i < 4; ++i)
      for (int j = 0; j < 4; ++j)
        if (i != j) c[i * 4 + j] = 1.0 + i + j;
  moeb::TraceWriter w(path, h);
  w.write_statistics(load, coact);
  w.finish();
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 3) {
    std::fprintf(stderr, "usage: %s TRACE_DIR RESULTS_DIR\n", argv[0]);
    return 2;
  }
  const std::string traces = argv[1], results = argv[2];
  try {
    write_token_trace(traces + "/tokens.h5", 2, 8, 2, 16);
    write_token_trace(traces + "/wide.h5", 1, 16, 4, 8);
    write_stats_trace(traces + "/stats.h5");
    moeb::report::FixtureSpec spec;
    spec.layers = 1;
    spec.iterations = 2;
    spec.nodes = 1;
    spec.strategies = {{"baseline"}, {"eplb"}};
    moeb::write_results(results + "/small.h5", moeb::report::make_fixture_run(spec));
    spec.predicted = true;
    spec.strategies = {{"baseline"}, {"x", "skipped", "needs more slots"}};
    spec.status = "running";
    moeb::write_results(results + "/predicted.h5", moeb::report::make_fixture_run(spec));
  } catch (const std::exception& e) {
    std::fprintf(stderr, "%s: %s\n", argv[0], e.what());
    return 1;
  }
  return 0;
}
