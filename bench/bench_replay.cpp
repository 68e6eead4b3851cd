// Workload benchmarks: import of the shared Mixtral trace (goal < 1 s) and replay of a large
// routing trace (goal: 1M tokens, 58 layers, top-8, peak resident memory per rank <= 1 GiB).
// The large trace (DeepSeek-V3 shape, zipf) is generated once into $TMPDIR and reused; its
// token count is MOEB_BENCH_REPLAY_TOKENS (default 1,048,576). Replay = what a run does on one
// rank: open_workload (calibration statistics streamed over the calibration part) then fetch
// evaluation batches. Counters: peak_rss_MiB (getrusage, whole process), tokens.
#include <benchmark/benchmark.h>
#include <sys/resource.h>

#include <cstdlib>
#include <filesystem>
#include <string>

#include "core/model.hpp"
#include "workload/importers.hpp"
#include "workload/synthetic_trace.hpp"
#include "workload/trace_file.hpp"
#include "workload/workload.hpp"

namespace fs = std::filesystem;
using namespace moeb;

namespace {

double peak_rss_mib() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return static_cast<double>(u.ru_maxrss) / 1024.0;  // ru_maxrss is KiB on Linux
}

int64_t replay_tokens() {
  const char* env = std::getenv("MOEB_BENCH_REPLAY_TOKENS");
  return env ? std::atoll(env) : (int64_t{1} << 20);
}

RunConfig large_config() {
  RunConfig cfg;
  cfg.seed = 1;
  cfg.model = model_preset("deepseek-v3");  // 58 layers, 256 experts, top-8
  cfg.workload.distribution = "zipf";
  cfg.workload.zipf_s = 1.0;
  cfg.workload.tokens = replay_tokens();
  cfg.workload.batch_tokens = 8192;
  return cfg;
}

std::string large_trace() {
  const RunConfig cfg = large_config();
  fs::path p = fs::temp_directory_path() /
               ("moeb_bench_replay_" + std::to_string(cfg.workload.tokens) + ".h5");
  if (!fs::exists(p)) write_synthetic_trace(cfg, p.string());
  return p.string();
}

void BM_ImportSharedMixtral(benchmark::State& state) {
  const char* env = std::getenv("MOEB_SHARED_TRACES");
  const std::string in =
      std::string(env ? env : "../shared/traces") + "/mixtral-8x7b/gsm8k_2_routing.jsonl";
  if (!fs::exists(in)) {
    state.SkipWithError(("shared traces absent: " + in).c_str());
    return;
  }
  const std::string out = (fs::temp_directory_path() / "moeb_bench_mixtral.h5").string();
  ImportOptions opt;
  opt.format = "jsonl-topk";
  opt.model = "mixtral-8x7b";
  int64_t tokens = 0;
  for (auto _ : state) tokens = import_trace({in}, out, opt).tokens;
  state.counters["tokens"] = static_cast<double>(tokens);
  fs::remove(out);
}
BENCHMARK(BM_ImportSharedMixtral)->Unit(benchmark::kMillisecond);

// Opens the large trace as a run would and replays `batches` evaluation batches.
void BM_ReplayLargeTrace(benchmark::State& state) {
  const std::string path = large_trace();
  RunConfig cfg = large_config();
  cfg.workload.kind = "trace";
  cfg.workload.traces = {path};
  const int64_t batches = state.range(0);
  int64_t tokens = 0;
  for (auto _ : state) {
    auto wl = open_workload(cfg, cfg.model);
    for (int64_t b = 0; b < batches && b < wl->num_batches(); ++b) {
      RoutingTrace batch = wl->batch(b);
      tokens += batch.num_tokens();
      benchmark::DoNotOptimize(batch.layer_experts(57).data());
    }
  }
  state.counters["peak_rss_MiB"] = peak_rss_mib();
  state.counters["trace_tokens"] = static_cast<double>(cfg.workload.tokens);
  state.counters["replayed_tokens"] = static_cast<double>(tokens);
}
BENCHMARK(BM_ReplayLargeTrace)->Arg(16)->Iterations(1)->Unit(benchmark::kSecond);

}  // namespace

BENCHMARK_MAIN();
