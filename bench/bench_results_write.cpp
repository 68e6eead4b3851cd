// Cost of the results file's write after each strategy: Hdf5ResultSink::write_strategy timed for
// strategies 1..N of one file, each of the same realistic size, so a cost that grows with the
// file (rather than with the strategy's own data) shows as a rising column. Data: a simulate of
// `layers` x `ranks` over `iterations` batches (every count and time cube, the rows matrix up to
// 256 ranks, a replicated placement, predicted phase times), filled from a seeded RNG with
// magnitudes like simulate's (row counts, bytes as rows x row bytes, times in seconds).
// Two writers side by side, each appending to its own file, in alternating order per strategy:
// `plain`, every chunk through HDF5's filter pipeline on one thread (the writer before issue 16),
// and `direct`, chunks shuffled and deflated on --threads threads (default: default_threads(),
// i.e. MOEB_THREADS or every core) and stored with H5Dwrite_chunk (the default writer).
// Run: bench_results_write [--strategies N] [--ranks R] [--layers L] [--iterations I]
//                          [--deflate D] [--shuffle 0|1] [--threads T] [--out PATH]
// Prints one line per strategy (index; wall ms and process CPU ms of each writer, the calling
// thread's CPU ms of the direct one; plain wall / direct wall, plain CPU / direct calling-thread
// CPU; file MB), the means of the first and last quarter of each column (a cost that grows with
// the file shows as a ratio above 1), and the medians over all writes.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <random>
#include <string>
#include <vector>

#include "core/parallel.hpp"
#include "core/results.hpp"
#include "io/results_file.hpp"
#include "platform/h5.hpp"

namespace {

struct Shape {
  int strategies = 16, ranks = 256, layers = 58, iterations = 8, experts = 256;
};

moeb::StrategyResult make_strategy(const Shape& sh, int index) {
  std::mt19937_64 rng(1000 + index);
  moeb::StrategyResult s;
  s.name = "s" + std::to_string(index);
  s.strategy = "baseline";
  s.description = "synthetic strategy for the write benchmark";
  s.options = "replica_policy=\"primary\"";
  s.replica_policy = "primary";
  const int L = sh.layers, R = sh.ranks, E = sh.experts, I = sh.iterations;
  s.replicas.assign(L, std::vector<std::vector<int>>(E));
  s.slots_used.assign(L, std::vector<int>(R, 0));
  for (int l = 0; l < L; ++l)
    for (int e = 0; e < E; ++e) {
      s.replicas[l][e] = {e * R / E};
      if (rng() % 4 == 0) s.replicas[l][e].push_back(static_cast<int>(rng() % R));
      for (int r : s.replicas[l][e]) ++s.slots_used[l][r];
    }
  s.resize_measurements(I, L, R);
  std::poisson_distribution<int64_t> rows(4096 * 8 / R);
  std::lognormal_distribution<double> secs(-7.0, 0.4);
  const int64_t row_bytes = 14336;
  for (int i = 0; i < I; ++i) {
    s.batch_index.push_back(i);
    s.batch_tokens.push_back(131072);
    for (int l = 0; l < L; ++l)
      for (int r = 0; r < R; ++r) {
        moeb::CountRow c{};
        c[moeb::kTokensOwned] = 131072 / R;
        for (int m = 1; m < moeb::kNumCountMetrics; ++m)
          c[m] = rows(rng) * (m == moeb::kRowsComputed ? 1 : row_bytes);
        moeb::TimeRow t{};
        for (auto& v : t) v = secs(rng);
        s.store(i, l, r, c);
        s.store(i, l, r, t);
      }
  }
  if (R <= 256) {
    std::poisson_distribution<int64_t> pair(4096.0 * 8 * I / (static_cast<double>(R) * R));
    s.rows_matrix.assign(L, std::vector<int64_t>(static_cast<size_t>(R) * R));
    for (auto& row : s.rows_matrix)
      for (auto& v : row) v = pair(rng);
  }
  for (const char* k : {"t_dispatch", "t_ffn", "t_combine", "t_layer"}) {
    auto& v = s.predicted[k];
    for (int l = 0; l < L; ++l) v.push_back(secs(rng));
  }
  s.predicted_system_model = "h100-ndr400";
  return s;
}

int arg_int(int argc, char** argv, const char* key, int def) {
  for (int i = 1; i + 1 < argc; ++i)
    if (std::strcmp(argv[i], key) == 0) return std::atoi(argv[i + 1]);
  return def;
}

std::string arg_str(int argc, char** argv, const char* key, const std::string& def) {
  for (int i = 1; i + 1 < argc; ++i)
    if (std::strcmp(argv[i], key) == 0) return argv[i + 1];
  return def;
}

double cpu_now_ms(clockid_t clock = CLOCK_PROCESS_CPUTIME_ID) {
  timespec ts{};
  clock_gettime(clock, &ts);
  return static_cast<double>(ts.tv_sec) * 1e3 + static_cast<double>(ts.tv_nsec) / 1e6;
}

// Wall, process CPU and calling-thread CPU milliseconds of one write_strategy. The calling
// thread does the serial work and its share of the chunks, so its CPU time is what the write's
// wall time would be on idle cores (on a shared machine, where the kernel gives this session a
// fixed share of the cores however many threads it runs, wall time cannot show the threads).
struct Timed {
  double wall_ms = 0, cpu_ms = 0, main_ms = 0;
};
Timed timed_write(moeb::Hdf5ResultSink& sink, const moeb::StrategyResult& s) {
  const double c0 = cpu_now_ms(), m0 = cpu_now_ms(CLOCK_THREAD_CPUTIME_ID);
  const auto t0 = std::chrono::steady_clock::now();
  sink.write_strategy(s);
  const auto t1 = std::chrono::steady_clock::now();
  return {std::chrono::duration<double, std::milli>(t1 - t0).count(), cpu_now_ms() - c0,
          cpu_now_ms(CLOCK_THREAD_CPUTIME_ID) - m0};
}

void print_quarters(const std::vector<double>& v, const char* what) {
  const size_t q = std::max<size_t>(1, v.size() / 4);
  double first = 0, last = 0;
  for (size_t i = 0; i < q; ++i) {
    first += v[i] / static_cast<double>(q);
    last += v[v.size() - 1 - i] / static_cast<double>(q);
  }
  std::printf("mean %-14s: first quarter %8.2f ms, last quarter %8.2f ms (ratio %.2f)\n", what,
              first, last, last / first);
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  const size_t n = v.size();
  return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

}  // namespace

int main(int argc, char** argv) {
  Shape sh;
  sh.strategies = arg_int(argc, argv, "--strategies", sh.strategies);
  sh.ranks = arg_int(argc, argv, "--ranks", sh.ranks);
  sh.layers = arg_int(argc, argv, "--layers", sh.layers);
  sh.iterations = arg_int(argc, argv, "--iterations", sh.iterations);
  const int threads = arg_int(argc, argv, "--threads", moeb::default_threads());
  const moeb::h5::Compression def = moeb::h5::compression();
  moeb::h5::set_compression({arg_int(argc, argv, "--deflate", def.deflate_level),
                             arg_int(argc, argv, "--shuffle", def.shuffle ? 1 : 0) != 0});
  const std::string path =
      arg_str(argc, argv, "--out", std::filesystem::temp_directory_path() / "moeb_bench_write.h5");
  const std::string plain_path = path + ".plain.h5";

  moeb::RunResult prov;
  prov.attrs_str["command"] = "simulate";
  prov.hostnames.assign(static_cast<size_t>(sh.ranks), "host");
  for (int r = 0; r < sh.ranks; ++r) prov.rank_node.push_back(r / 8);
  prov.rank_device.assign(static_cast<size_t>(sh.ranks), "cpu");
  moeb::Hdf5ResultSink plain(plain_path, {1, false}), direct(path, {threads, true});
  plain.begin(prov);
  direct.begin(prov);
  std::vector<double> p_ms, p_cpu, d_ms, d_cpu, d_main, speedup, main_speedup;
  std::printf("deflate %d shuffle %d, %d x %d x %d per cube, direct on %d thread(s)\n",
              moeb::h5::compression().deflate_level, moeb::h5::compression().shuffle ? 1 : 0,
              sh.iterations, sh.layers, sh.ranks, threads);
  std::printf("%6s %10s %10s %10s %10s %11s %8s %12s %8s\n", "index", "plain_ms", "plain_cpu",
              "direct_ms", "direct_cpu", "direct_main", "speedup", "main_speedup", "file_MB");
  for (int i = 0; i < sh.strategies; ++i) {
    const moeb::StrategyResult s = make_strategy(sh, i);
    Timed p, d;
    if (i % 2 == 0) {
      p = timed_write(plain, s);
      d = timed_write(direct, s);
    } else {
      d = timed_write(direct, s);
      p = timed_write(plain, s);
    }
    p_ms.push_back(p.wall_ms);
    p_cpu.push_back(p.cpu_ms);
    d_ms.push_back(d.wall_ms);
    d_cpu.push_back(d.cpu_ms);
    d_main.push_back(d.main_ms);
    speedup.push_back(p.wall_ms / d.wall_ms);
    main_speedup.push_back(p.main_ms / d.main_ms);
    std::printf("%6d %10.2f %10.2f %10.2f %10.2f %11.2f %8.2f %12.2f %8.2f\n", i + 1, p.wall_ms,
                p.cpu_ms, d.wall_ms, d.cpu_ms, d.main_ms, speedup.back(), main_speedup.back(),
                static_cast<double>(std::filesystem::file_size(path)) / 1e6);
  }
  plain.finish(moeb::RunStatus::kComplete);
  direct.finish(moeb::RunStatus::kComplete);
  print_quarters(p_ms, "plain write");
  print_quarters(p_cpu, "plain CPU");
  print_quarters(d_ms, "direct write");
  print_quarters(d_cpu, "direct CPU");
  print_quarters(d_main, "direct main");
  std::printf(
      "median plain %.2f ms, direct %.2f ms wall; speed-up (plain / direct wall, median "
      "of per-write ratios) %.2f; calling thread's CPU plain / direct %.2f; process CPU "
      "direct / plain %.2f\n",
      median(p_ms), median(d_ms), median(speedup), median(main_speedup),
      median(d_cpu) / median(p_cpu));
  std::filesystem::remove(plain_path);
  return 0;
}
