// moebench calibrate: measures the machine it runs on (under mpirun) and writes a system file the
// cost model reads: alpha and beta per link class from ping-pong sweeps with a least-squares fit,
// an all-to-all sweep to cross-check them (and to pick whether the two link classes overlap), the
// expert FFN rate of the CPU backend's own kernel (its FFN library, kernels/cpu/ffn_library.hpp)
// and a stream-like copy rate.
#include <mpi.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <thread>
#include <vector>

#include "cli/commands.hpp"
#include "core/cost_model.hpp"
#include "core/error.hpp"
#include "core/metrics.hpp"
#include "core/topology.hpp"
#include "cpu/expert_ffn.hpp"
#include "cpu/ffn_library.hpp"
#include "io/system_file.hpp"
#include "platform/atomic_file.hpp"
#include "platform/host.hpp"
#include "platform/mpi_env.hpp"

namespace moeb::cli {

namespace {

struct CalibrateOptions {
  std::string output;                               // "" = print the system file on stdout
  std::string name;                                 // system name ("" = calibrated-<host>)
  int nodes = 0;                                    // virtual nodes (0 = MPI shared-memory split)
  bool quick = false;                               // few sizes and repetitions (tests)
  int hidden = 512, ffn_hidden = 1024, rows = 256;  // expert GEMM shape (quickstart's)
  int threads = 1;  // BLAS threads per rank (as a run's threads_per_rank)
  int64_t max_bytes = 4 << 20;
};

using Sample = LatencySample;

double now_s() {
  using clock = std::chrono::steady_clock;
  return std::chrono::duration<double>(clock::now().time_since_epoch()).count();
}

// Ranks that take no part in a measurement wait here without spinning, so that on an
// oversubscribed machine they leave the cores to the ranks that measure.
void quiet_barrier(MPI_Comm comm, bool idle) {
  MPI_Request req;
  MOEB_MPI_CHECK(MPI_Ibarrier(comm, &req));
  int done = 0;
  while (!done) {
    MOEB_MPI_CHECK(MPI_Test(&req, &done, MPI_STATUS_IGNORE));
    if (!done && idle) std::this_thread::sleep_for(std::chrono::microseconds(200));
  }
}

// One-way time of a `bytes` message between ranks a and b (half the round trip), the median of
// 5 trials of `reps` round trips. Collective; the result is valid on rank a.
double pingpong(MPI_Comm comm, int me, int a, int b, int64_t bytes, int reps) {
  std::vector<char> buf(static_cast<size_t>(std::max<int64_t>(bytes, 1)), 1);
  const int n = static_cast<int>(bytes);
  std::vector<double> trials;
  for (int trial = -1; trial < 5; ++trial) {  // trial -1 warms up
    quiet_barrier(comm, me != a && me != b);
    if (me != a && me != b) continue;
    const int peer = me == a ? b : a;
    const double t0 = now_s();
    for (int i = 0; i < reps; ++i) {
      if (me == a) {
        MOEB_MPI_CHECK(MPI_Send(buf.data(), n, MPI_BYTE, peer, 7, comm));
        MOEB_MPI_CHECK(MPI_Recv(buf.data(), n, MPI_BYTE, peer, 7, comm, MPI_STATUS_IGNORE));
      } else {
        MOEB_MPI_CHECK(MPI_Recv(buf.data(), n, MPI_BYTE, peer, 7, comm, MPI_STATUS_IGNORE));
        MOEB_MPI_CHECK(MPI_Send(buf.data(), n, MPI_BYTE, peer, 7, comm));
      }
    }
    if (trial >= 0) trials.push_back((now_s() - t0) / (2.0 * reps));
  }
  quiet_barrier(comm, me != a && me != b);
  return trials.empty() ? 0.0 : median(trials);
}

std::vector<int64_t> sweep_sizes(const CalibrateOptions& o) {
  std::vector<int64_t> sizes;
  const int64_t step = o.quick ? 8 : 2;
  for (int64_t s = 8; s <= o.max_bytes; s *= step) sizes.push_back(s);
  if (!o.quick && sizes.back() != o.max_bytes) sizes.push_back(o.max_bytes);
  return sizes;
}

int reps_for(int64_t bytes, bool quick) {
  const int64_t budget = quick ? (1 << 20) : (16 << 20);
  return static_cast<int>(
      std::clamp<int64_t>(budget / std::max<int64_t>(bytes, 1), quick ? 3 : 10, quick ? 50 : 500));
}

std::vector<Sample> sweep_pingpong(MPI_Comm comm, int me, int a, int b, const CalibrateOptions& o) {
  std::vector<Sample> out;
  for (int64_t s : sweep_sizes(o))
    out.push_back({static_cast<double>(s), pingpong(comm, me, a, b, s, reps_for(s, o.quick))});
  return out;
}

// Max over ranks of the median time of an MPI_Alltoall with `bytes` per peer.
double alltoall_seconds(MPI_Comm comm, int size, int64_t bytes, int reps) {
  std::vector<char> send(static_cast<size_t>(bytes) * size, 1), recv(send.size());
  std::vector<double> t;
  for (int i = -1; i < reps; ++i) {
    quiet_barrier(comm, false);
    const double t0 = now_s();
    MOEB_MPI_CHECK(MPI_Alltoall(send.data(), static_cast<int>(bytes), MPI_BYTE, recv.data(),
                                static_cast<int>(bytes), MPI_BYTE, comm));
    if (i >= 0) t.push_back(now_s() - t0);
  }
  double mine = median(t), worst = 0;
  MOEB_MPI_CHECK(MPI_Allreduce(&mine, &worst, 1, MPI_DOUBLE, MPI_MAX, comm));
  return worst;
}

// Sustained FLOP/s of the CPU backend's expert FFN (its default library for o.threads, weights
// packed once, two GEMMs) on the expert shape, per rank while every rank runs it at once (as in
// a run).
double ffn_flops(const CalibrateOptions& o) {
  cpu::set_blas_threads(o.threads);
  const size_t h = o.hidden, f = o.ffn_hidden, n = o.rows;
  std::vector<float> x(n * h), w1(h * f), w3(h * f), w2(f * h), y(n * h), h13(n * 2 * f);
  for (size_t i = 0; i < x.size(); ++i) x[i] = static_cast<float>((i * 7919) % 97) * 1e-3f;
  for (size_t i = 0; i < w1.size(); ++i)
    w1[i] = w3[i] = w2[i] = static_cast<float>((i * 104729) % 89) * 1e-4f;
  const auto expert = cpu::make_ffn_library("auto", o.threads)
                          ->pack(w1.data(), w3.data(), w2.data(), o.hidden, o.ffn_hidden);
  const auto run = [&] {
    expert->run(x.data(), o.hidden, static_cast<int64_t>(n), nullptr, h13.data(), y.data(),
                o.hidden, false);
  };
  const double flops = 6.0 * static_cast<double>(h * f * n);
  run();  // warm-up
  const double min_s = o.quick ? 0.05 : 0.5;
  double best = 0;
  for (int trial = 0; trial < 3; ++trial) {
    int calls = 0;
    const double t0 = now_s();
    double t = 0;
    do {
      run();
      ++calls;
      t = now_s() - t0;
    } while (t < min_s / 3);
    best = std::max(best, flops * calls / t);
  }
  return best;
}

// Stream-like copy: bytes read + written per second, best of 5, every rank at once.
double copy_bandwidth(bool quick) {
  const size_t n = (quick ? (16u << 20) : (64u << 20)) / sizeof(float);
  std::vector<float> a(n, 1.0f), b(n, 0.0f);
  double best = 0;
  for (int trial = 0; trial < 5; ++trial) {
    const double t0 = now_s();
    std::memcpy(b.data(), a.data(), n * sizeof(float));
    const double t = now_s() - t0;
    a[trial] = b[n - 1 - trial];  // keep the copy observable
    best = std::max(best, 2.0 * n * sizeof(float) / t);
  }
  return best;
}

double median_over_ranks(MPI_Comm comm, double x) {
  std::vector<double> all(static_cast<size_t>(mpi::size(comm)));
  MOEB_MPI_CHECK(MPI_Allgather(&x, 1, MPI_DOUBLE, all.data(), 1, MPI_DOUBLE, comm));
  return median(all);
}

// Node of every rank: virtual nodes (contiguous blocks) or the shared-memory split.
std::vector<int> node_map(MPI_Comm comm, int virtual_nodes, std::string& source) {
  if (virtual_nodes <= 0) {
    source = "mpi (shared-memory split)";
    return mpi::node_map(comm);
  }
  const int size = mpi::size(comm);
  std::vector<int> nodes(size);
  source = "virtual (--nodes " + std::to_string(virtual_nodes) + ")";
  for (int r = 0; r < size; ++r)
    nodes[r] = static_cast<int>(static_cast<int64_t>(r) * virtual_nodes / size);
  return nodes;
}

std::string fmt(const char* f, double a, double b = 0, double c = 0, double d = 0) {
  char buf[256];
  std::snprintf(buf, sizeof buf, f, a, b, c, d);
  return buf;
}

std::string utc_now() {
  const std::time_t t = std::time(nullptr);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", std::gmtime(&t));
  return buf;
}

// Every rank finds the same bad option; checked before any measurement.
void check_options(const CalibrateOptions& o, int size) {
  if (size < 2)
    throw ConfigError("calibrate: needs at least 2 ranks (run it under mpirun -np 2 or more)");
  if (o.nodes > size)
    throw ConfigError("calibrate: --nodes " + std::to_string(o.nodes) + " exceeds the " +
                      std::to_string(size) + " ranks");
}

// What every rank measures together; valid on rank 0.
struct Measurements {
  Topology topo;
  std::string topo_source;
  int intra_peer = -1, inter_peer = -1;  // rank 0's peer on its own node and on node 1
  std::vector<Sample> intra_s, inter_s;
  double flops = 0, mem_bw = 0;
  std::vector<int64_t> a2a_sizes;
  std::vector<double> a2a_meas;
};

Measurements measure(const CalibrateOptions& o, const mpi::World& world) {
  MPI_Comm comm = world.comm();
  const int me = world.rank();
  Measurements m;
  m.topo = Topology::from_node_map(node_map(comm, o.nodes, m.topo_source));
  const auto& node0 = m.topo.ranks_of_node(0);
  m.intra_peer = node0.size() > 1 ? node0[1] : -1;
  m.inter_peer = m.topo.num_nodes() > 1 ? m.topo.ranks_of_node(1)[0] : -1;
  if (m.intra_peer >= 0) m.intra_s = sweep_pingpong(comm, me, 0, m.intra_peer, o);
  if (m.inter_peer >= 0) m.inter_s = sweep_pingpong(comm, me, 0, m.inter_peer, o);
  m.flops = median_over_ranks(comm, ffn_flops(o));
  m.mem_bw = median_over_ranks(comm, copy_bandwidth(o.quick));
  m.a2a_sizes = o.quick ? std::vector<int64_t>{64, 4096, 65536}
                        : std::vector<int64_t>{64, 4096, 65536, 524288};
  for (int64_t s : m.a2a_sizes)
    m.a2a_meas.push_back(alltoall_seconds(comm, world.size(), s, o.quick ? 5 : 20));
  return m;
}

// The system file being written: the model, its header comment lines and per-key notes.
struct SystemDraft {
  SystemModel sys;
  std::vector<std::string> header;
  std::map<std::string, std::string> notes;
};

SystemDraft start_draft(const CalibrateOptions& o, const Measurements& m, int size) {
  SystemDraft d;
  d.sys.name = o.name.empty() ? "calibrated-" + host_name() : o.name;
  d.sys.description = "measured by moebench calibrate on " + host_name() + ", " +
                      std::to_string(size) + " ranks, " + m.topo.describe() + " " +
                      m.topo_source + ", " + utc_now();
  d.header = {
      "Measured by `moebench calibrate` on " + host_name() + " at " + utc_now() + ".",
      std::to_string(size) + " ranks, nodes " + m.topo.describe() + " from " + m.topo_source + ".",
      "Ping-pong one-way times (median of 5 trials), sizes 8 B .. " + std::to_string(o.max_bytes) +
          " B; fit t = alpha + bytes / bandwidth by least squares on relative error."};
  return d;
}

void fit_into(SystemDraft& d, const std::vector<Sample>& s, LinkModel& link,
              const std::string& cls, int peer) {
  const LinkFit f = fit_link(s);
  link.alpha_s = f.link.alpha_s;
  link.bandwidth_Bps = f.link.bandwidth_Bps;
  d.notes[cls + ".alpha_s"] = "ping-pong ranks 0<->" + std::to_string(peer) + ", " +
                              std::to_string(s.size()) + " sizes, max relative residual " +
                              fmt("%.0f%%", 100 * f.max_rel_residual);
  std::string row = cls + " samples (bytes: us):";
  for (const auto& p : s) row += fmt(" %.0f:%.2f", p.bytes, p.seconds * 1e6);
  d.header.push_back(row);
}

void fit_links(SystemDraft& d, const Measurements& m) {
  if (!m.intra_s.empty()) fit_into(d, m.intra_s, d.sys.intra, "intra", m.intra_peer);
  if (!m.inter_s.empty()) fit_into(d, m.inter_s, d.sys.inter, "inter", m.inter_peer);
  if (m.intra_s.empty()) {
    d.sys.intra = d.sys.inter;
    d.notes["intra.alpha_s"] = "no two ranks share a node: copied from inter";
  }
  if (m.inter_s.empty()) {
    d.sys.inter = d.sys.intra;
    d.notes["inter.alpha_s"] = "one node only: copied from intra (use --nodes N or several nodes)";
  }
}

void set_device(SystemDraft& d, const CalibrateOptions& o, const Measurements& m) {
  d.sys.device.name = "CPU (" + std::to_string(o.threads) + " BLAS thread(s) per rank)";
  d.sys.device.flops = m.flops;
  d.sys.device.flops_dtype = "fp32";
  d.sys.device.mem_bandwidth_Bps = m.mem_bw;
  d.sys.device.act_dtype = "fp32";  // the CPU backend's activations and weights
  d.sys.device.act_dtype_bytes = 4;
  d.sys.device.weight_dtype_bytes = 4;
  d.notes["device.flops"] = "expert FFN (" + cpu::make_ffn_library("auto", o.threads)->name() +
                            ", 2 GEMMs) " + std::to_string(o.rows) +
                            " rows x hidden " + std::to_string(o.hidden) + " x ffn " +
                            std::to_string(o.ffn_hidden) + ", median over ranks, all ranks at once";
  d.notes["device.mem_bandwidth_Bps"] =
      "memcpy read + write, best of 5, median over ranks, all ranks at once";
}

// Cross-check with MPI_Alltoall and pick the overlap mode that predicts it better.
void choose_overlap(SystemDraft& d, const Measurements& m, int size) {
  std::vector<int64_t> ones(static_cast<size_t>(size) * size, 1);
  double err_overlap = 0, err_serial = 0;
  std::vector<std::string> rows;
  for (size_t i = 0; i < m.a2a_sizes.size(); ++i) {
    const PhaseTraffic p = phase_traffic(ones, m.topo, m.a2a_sizes[i], false);
    d.sys.overlap_intra_inter = true;
    const double po = phase_seconds(d.sys, p, m.topo);
    d.sys.overlap_intra_inter = false;
    const double ps = phase_seconds(d.sys, p, m.topo);
    err_overlap += std::abs(std::log(po / m.a2a_meas[i]));
    err_serial += std::abs(std::log(ps / m.a2a_meas[i]));
    rows.push_back(fmt(
        "  %8.0f B per peer: measured %10.2f us, predicted %10.2f us (overlap) %10.2f us (serial)",
        static_cast<double>(m.a2a_sizes[i]), m.a2a_meas[i] * 1e6, po * 1e6, ps * 1e6));
  }
  d.sys.overlap_intra_inter = err_overlap < err_serial;
  d.notes["model.overlap_intra_inter"] = "chosen by the MPI_Alltoall cross-check in the header";
  d.header.push_back("MPI_Alltoall cross-check (max over ranks of the median time):");
  for (const auto& r : rows) d.header.push_back(r);
}

void emit(const CalibrateOptions& o, const SystemDraft& d) {
  const SystemModel& sys = d.sys;
  const std::string text = format_system_toml(sys, d.header, d.notes);
  if (o.output.empty()) {
    std::fputs(text.c_str(), stdout);
    return;
  }
  write_file_atomically(o.output, text);
  for (const auto& h : d.header) std::printf("%s\n", h.c_str());
  std::printf("intra: alpha %.3g s, bandwidth %.3g B/s; inter: alpha %.3g s, bandwidth %.3g B/s\n",
              sys.intra.alpha_s, sys.intra.bandwidth_Bps, sys.inter.alpha_s,
              sys.inter.bandwidth_Bps);
  std::printf("device: %.3g FLOP/s, memory %.3g B/s; wrote %s\n", sys.device.flops,
              sys.device.mem_bandwidth_Bps, o.output.c_str());
}

void run_calibrate(const CalibrateOptions& o, const mpi::World& world) {
  const double t_start = now_s();
  const Measurements m = measure(o, world);
  if (world.rank() != 0) return;
  SystemDraft d = start_draft(o, m, world.size());
  fit_links(d, m);
  set_device(d, o, m);
  choose_overlap(d, m, world.size());
  d.header.push_back(fmt("calibrate took %.1f s", now_s() - t_start));
  validate_system(d.sys, "calibrate");
  emit(o, d);
}

}  // namespace

void register_calibrate(CLI::App& app, int& exit_code) {
  auto opt = std::make_shared<CalibrateOptions>();
  auto* sub = app.add_subcommand(
      "calibrate",
      "Measure this MPI fabric and CPU (under mpirun) and write a system file for the cost model");
  sub->add_option("-o,--output", opt->output, "System file to write (default: print it)");
  sub->add_option("--name", opt->name, "System name (default: calibrated-<host>)");
  sub->add_option("--nodes", opt->nodes,
                  "Virtual nodes (contiguous rank blocks); 0 = MPI shared-memory split")
      ->check(CLI::NonNegativeNumber);
  sub->add_flag("--quick", opt->quick, "Few sizes and repetitions (seconds; for tests)");
  sub->add_option("--hidden", opt->hidden, "Expert GEMM hidden width")->check(CLI::PositiveNumber);
  sub->add_option("--ffn-hidden", opt->ffn_hidden, "Expert GEMM FFN width")
      ->check(CLI::PositiveNumber);
  sub->add_option("--rows", opt->rows, "Rows per expert GEMM")->check(CLI::PositiveNumber);
  sub->add_option("--threads", opt->threads, "BLAS threads per rank")->check(CLI::PositiveNumber);
  sub->add_option("--max-bytes", opt->max_bytes, "Largest ping-pong message")
      ->check(CLI::Range(8, 1 << 30));
  sub->callback([opt, &exit_code] {
    mpi::World world;
    std::string error;
    try {
      check_options(*opt, world.size());
    } catch (const ConfigError& e) {
      error = e.what();
    }
    if (const mpi::AgreedError agreed = mpi::agree_on_error(world.comm(), error)) {
      // Rank 0 says it once (main prints it and exits 2); the others exit 2 quietly.
      if (world.rank() == 0) throw ConfigError(agreed.message);
      exit_code = 2;
      return;
    }
    run_calibrate(*opt, world);
    exit_code = 0;
  });
}

}  // namespace moeb::cli
