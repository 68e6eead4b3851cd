// The runtime's dispatch as the engine runs it (routing + dispatch plan + permute + all-to-all-v
// through MpiTransport over CpuBackend buffers) against a bare MPI_Alltoallv with the same
// per-peer byte counts on preallocated buffers. All variants run in every iteration, in rotating
// order, so machine noise hits them alike; each is timed as the slowest rank's time (MPI_MAX).
// Run: mpirun -np 4 --oversubscribe bench/bench_runtime_dispatch
// Counters (medians over iterations, microseconds):
//   bare_us      bare MPI_Alltoallv of MPI_BYTE after a barrier
//   wrapper_us   MpiTransport::alltoallv alone on the bare buffers (wrapper_ratio = / bare)
//   dispatch_us  the engine's t_dispatch: its all-to-all-v after the sync-probe barrier, on the
//                permuted CpuBackend buffers; ratio = dispatch_us / bare_us (goal <= 1.15)
//   bare_min_us, wrapper_min_us, dispatch_min_us, ratio_min: the same from the fastest iteration of
//   each gate_us, permute_us  routing + build_dispatch_plan, and prepare + permute (slowest rank)
//   wait_us      rank 0's time in the sync-probe barrier (arrival skew; t_wait_dispatch)
//   nosync_us    gate + permute + all-to-all-v end to end without the probe (nosync_ratio;
//                nosync_min_ratio from the fastest iterations), and its phases, each the
//                slowest rank's: ns_route_us, ns_plan_us, ns_permute_us, ns_a2a_us
//                Like the engine, both engine variants use direct dispatch (permute_direct:
//                receives posted per message, only short runs of tokens and the own rows
//                copied, then send_messages), so ns_permute_us / permute_us are that partial
//                permute and ns_a2a_us / dispatch_us the exchange sending long runs straight
//                from the input rows.
//   coll_us      the no-probe end to end before receives were posted early (permute, then
//                MPI_Alltoallv); coll_ratio = / bare_us
//   posted_us    the no-probe end to end before direct dispatch (receives posted per peer, the
//                whole permute, then the point-to-point exchange); posted_ratio = / bare_us
//   msgs_rank0, packed_frac_rank0: messages rank 0 sends per layer, and the share of its rows
//                to other ranks that it packs (copies) first
// MOEB_BENCH_MIN_DIRECT_BYTES=<n> overrides kDirectMinBytes (64 KiB) for an A/B.
#include <benchmark/benchmark.h>
#include <mpi.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <numeric>
#include <vector>

#include "core/dispatch_plan.hpp"
#include "core/expert_weights.hpp"
#include "core/metrics.hpp"
#include "core/rng.hpp"
#include "core/routing.hpp"
#include "runtime/cpu_backend.hpp"
#include "runtime/layer_engine.hpp"
#include "runtime/mpi_transport.hpp"

namespace {

using Clock = std::chrono::steady_clock;
constexpr int kExperts = 64, kTopK = 8;
constexpr int64_t kTokens = 2048;  // batch tokens, all ranks together

// Uniform top-k routing of one layer, identical on every rank.
std::vector<int32_t> random_experts(int64_t tokens, uint64_t seed) {
  moeb::Rng rng(seed);
  std::vector<int32_t> out(static_cast<size_t>(tokens) * kTopK), ids(kExperts);
  for (int64_t t = 0; t < tokens; ++t) {
    std::iota(ids.begin(), ids.end(), 0);
    for (int j = 0; j < kTopK; ++j) {
      const size_t pick = j + rng.below(kExperts - j);
      std::swap(ids[j], ids[pick]);
      out[static_cast<size_t>(t) * kTopK + j] = ids[j];
    }
  }
  return out;
}

double max_over_ranks(MPI_Comm comm, double s) {
  double m = 0;
  MPI_Allreduce(&s, &m, 1, MPI_DOUBLE, MPI_MAX, comm);
  return m;
}

void BM_DispatchVsBareAlltoallv(benchmark::State& state) {
  const int hidden = static_cast<int>(state.range(0));
  moeb::MpiTransport transport;
  const int R = transport.size(), me = transport.rank();
  const moeb::Topology topo = moeb::Topology::uniform(1, R);
  moeb::LayerPlacement lp;
  for (int e = 0; e < kExperts; ++e) lp.replicas.push_back({e * R / kExperts});
  const std::vector<int32_t> experts = random_experts(kTokens, 7);
  const std::vector<float> weights(experts.size(), 1.0f / kTopK);

  moeb::CpuBackend backend({hidden, 16, 1, 0});
  const int64_t owned = moeb::token_begin(me + 1, kTokens, R) - moeb::token_begin(me, kTokens, R);
  std::vector<float> x(static_cast<size_t>(owned) * hidden);
  moeb::fill_token_input(1, 0, me, x);
  backend.set_input(x, owned);

  // The bare exchange: same per-peer byte counts, MPI_BYTE, buffers allocated once.
  std::vector<int32_t> dest(experts.size());
  moeb::route_layer(lp, moeb::ReplicaPolicyKind::kPrimary, topo, experts, kTopK, {1, 0, 0}, dest);
  const moeb::DispatchPlan ref =
      moeb::build_dispatch_plan(experts, weights, dest, kTopK, R, me, true);
  const int64_t rb = backend.dispatch_row_bytes();
  std::vector<int> sc(R), sd(R), rc(R), rd(R);
  for (int r = 0; r < R; ++r) {
    sc[r] = static_cast<int>(ref.send_counts[r] * rb);
    sd[r] = static_cast<int>(ref.send_offsets[r] * rb);
    rc[r] = static_cast<int>(ref.recv_counts[r] * rb);
    rd[r] = static_cast<int>(ref.recv_offsets[r] * rb);
  }
  std::vector<char> bare_send(std::max<size_t>(1, ref.rows_sent() * rb), 1),
      bare_recv(std::max<size_t>(1, ref.rows_received() * rb));
  MPI_Comm comm = transport.comm();

  std::vector<double> bare_s, wrapper_s, dispatch_s, gate_s, permute_s, wait_s, nosync_s;
  std::vector<double> phase_s[4];  // nosync: route, plan, permute, all-to-all-v
  moeb::DispatchPlan plan;
  // As the engine hands them to the transport (layer_engine: block `me` is 0 when the backend
  // keeps its self rows).
  std::vector<int64_t> wire_send, wire_recv;
  const auto wire_counts = [&] {
    wire_send = plan.send_counts;
    wire_recv = plan.recv_counts;
    if (backend.keeps_self_rows()) wire_send[me] = wire_recv[me] = 0;
  };
  const auto elapsed = [](Clock::time_point a, Clock::time_point b) {
    return std::chrono::duration<double>(b - a).count();
  };
  // The engine's permute and exchange (run_layer): direct dispatch where it applies
  // (permute_direct, then send_messages), else receives posted, permute, then alltoallv;
  // direct = false forces the latter (the posted variant).
  int64_t min_direct_bytes = moeb::kDirectMinBytes;
  if (const char* b = std::getenv("MOEB_BENCH_MIN_DIRECT_BYTES")) min_direct_bytes = std::atoll(b);
  const bool direct_applies = moeb::direct_dispatch(backend, transport);
  moeb::LayerState layer_state;
  const auto permute = [&](bool direct) {
    backend.prepare(plan);
    if (direct && direct_applies) {
      moeb::permute_direct(backend, transport, plan, layer_state, min_direct_bytes);
      return;
    }
    transport.post_receives(backend.dispatch_recv(), wire_recv, plan.recv_offsets, rb);
    backend.permute(plan);
  };
  const auto exchange = [&](bool direct) {
    if (direct && direct_applies) return transport.send_messages(layer_state.send_messages, rb);
    transport.alltoallv(backend.dispatch_send(), wire_send, plan.send_offsets,
                        backend.dispatch_recv(), wire_recv, plan.recv_offsets, rb);
  };
  const auto bare_exchange = [&] {
    MPI_Barrier(comm);
    const auto t0 = Clock::now();
    MPI_Alltoallv(bare_send.data(), sc.data(), sd.data(), MPI_BYTE, bare_recv.data(), rc.data(),
                  rd.data(), MPI_BYTE, comm);
    bare_s.push_back(max_over_ranks(comm, elapsed(t0, Clock::now())));
  };
  // MpiTransport alone (row datatype, int64 counts converted) on the bare buffers.
  const auto wrapper_exchange = [&] {
    MPI_Barrier(comm);
    const auto t0 = Clock::now();
    transport.alltoallv(bare_send.data(), ref.send_counts, ref.send_offsets, bare_recv.data(),
                        ref.recv_counts, ref.recv_offsets, rb);
    wrapper_s.push_back(max_over_ranks(comm, elapsed(t0, Clock::now())));
  };
  // The engine's flat layer up to the end of dispatch, sync probe on (run_layer): gate (routing
  // + plan), prepare + permute, barrier, then the all-to-all-v the engine times as t_dispatch.
  const auto engine_dispatch = [&] {
    MPI_Barrier(comm);
    const auto t0 = Clock::now();
    moeb::route_layer(lp, moeb::ReplicaPolicyKind::kPrimary, topo, experts, kTopK, {1, 0, 0}, dest);
    moeb::build_dispatch_plan(plan, experts, weights, dest, kTopK, R, me, true);
    wire_counts();
    const auto t1 = Clock::now();
    permute(true);
    const auto t2 = Clock::now();
    transport.barrier();  // the sync probe
    const auto t3 = Clock::now();
    exchange(true);
    const auto t4 = Clock::now();
    double v[3] = {elapsed(t3, t4), elapsed(t0, t1), elapsed(t1, t2)};
    MPI_Allreduce(MPI_IN_PLACE, v, 3, MPI_DOUBLE, MPI_MAX, comm);
    dispatch_s.push_back(v[0]);
    gate_s.push_back(v[1]);
    permute_s.push_back(v[2]);
    wait_s.push_back(elapsed(t2, t3));
  };
  // The same without the sync probe (sync_probe = false): gate + permute + all-to-all-v end to
  // end, so rank arrival skew and the permute copy land in the time. Each phase is also timed
  // (slowest rank, one reduction after the end): routing, plan, prepare + permute, all-to-all-v.
  const auto engine_nosync = [&] {
    MPI_Barrier(comm);
    const auto t0 = Clock::now();
    moeb::route_layer(lp, moeb::ReplicaPolicyKind::kPrimary, topo, experts, kTopK, {1, 0, 0}, dest);
    const auto t1 = Clock::now();
    moeb::build_dispatch_plan(plan, experts, weights, dest, kTopK, R, me, true);
    wire_counts();
    const auto t2 = Clock::now();
    permute(true);
    const auto t3 = Clock::now();
    exchange(true);
    const auto t4 = Clock::now();
    double v[5] = {elapsed(t0, t4), elapsed(t0, t1), elapsed(t1, t2), elapsed(t2, t3),
                   elapsed(t3, t4)};
    MPI_Allreduce(MPI_IN_PLACE, v, 5, MPI_DOUBLE, MPI_MAX, comm);
    nosync_s.push_back(v[0]);
    for (int i = 0; i < 4; ++i) phase_s[i].push_back(v[i + 1]);
  };
  // A previous engine path without the probe, end to end (gate, then `body`), into `out`.
  const auto no_probe_path = [&](std::vector<double>& out, const auto& body) {
    MPI_Barrier(comm);
    const auto t0 = Clock::now();
    moeb::route_layer(lp, moeb::ReplicaPolicyKind::kPrimary, topo, experts, kTopK, {1, 0, 0}, dest);
    moeb::build_dispatch_plan(plan, experts, weights, dest, kTopK, R, me, true);
    wire_counts();
    body();
    out.push_back(max_over_ranks(comm, elapsed(t0, Clock::now())));
  };
  // As the engine ran it before receives were posted early: permute, then the collective
  // MPI_Alltoallv (coll_us / coll_ratio; A/B of that change, same run).
  std::vector<double> coll_s;
  const auto engine_coll = [&] {
    no_probe_path(coll_s, [&] {
      backend.prepare(plan);
      backend.permute(plan);
      transport.alltoallv(backend.dispatch_send(), wire_send, plan.send_offsets,
                          backend.dispatch_recv(), wire_recv, plan.recv_offsets, rb);
    });
  };
  // As the engine ran it before direct dispatch: receives posted, the whole permute, then the
  // point-to-point exchange of whole blocks (posted_us / posted_ratio; A/B, same run).
  std::vector<double> posted_s;
  const auto engine_posted = [&] {
    no_probe_path(posted_s, [&] {
      permute(false);
      exchange(false);
    });
  };
  // One untimed round of each: first-touch of buffers, MPI connection setup.
  engine_dispatch();
  engine_nosync();
  engine_coll();
  engine_posted();
  bare_exchange();
  wrapper_exchange();
  for (auto* v : {&bare_s, &wrapper_s, &dispatch_s, &gate_s, &permute_s, &wait_s, &nosync_s,
                  &phase_s[0], &phase_s[1], &phase_s[2], &phase_s[3], &coll_s, &posted_s})
    v->clear();
  int64_t iter = 0;
  for (auto _ : state) {
    // Rotate the order so no variant always runs first or last.
    switch (iter++ % 4) {
      case 0:
        bare_exchange();
        engine_coll();
        engine_posted();
        wrapper_exchange();
        engine_dispatch();
        engine_nosync();
        break;
      case 1:
        engine_dispatch();
        engine_nosync();
        bare_exchange();
        engine_coll();
        engine_posted();
        wrapper_exchange();
        break;
      case 2:
        engine_posted();
        engine_coll();
        wrapper_exchange();
        engine_nosync();
        bare_exchange();
        engine_dispatch();
        break;
      default:
        engine_nosync();
        bare_exchange();
        engine_posted();
        engine_dispatch();
        wrapper_exchange();
        engine_coll();
        break;
    }
    state.SetIterationTime(dispatch_s.back());
  }
  const double bare_med = moeb::median(bare_s);
  state.counters["bare_us"] = bare_med * 1e6;
  state.counters["wrapper_us"] = moeb::median(wrapper_s) * 1e6;
  state.counters["wrapper_ratio"] = moeb::median(wrapper_s) / bare_med;
  state.counters["dispatch_us"] = moeb::median(dispatch_s) * 1e6;
  state.counters["ratio"] = moeb::median(dispatch_s) / bare_med;
  // Fastest iteration of each: the cost without scheduling noise (2-4 ranks sharing cores
  // make per-iteration times bimodal on small exchanges).
  const double bare_min = *std::min_element(bare_s.begin(), bare_s.end());
  const double dispatch_min = *std::min_element(dispatch_s.begin(), dispatch_s.end());
  state.counters["bare_min_us"] = bare_min * 1e6;
  state.counters["dispatch_min_us"] = dispatch_min * 1e6;
  state.counters["ratio_min"] = dispatch_min / bare_min;
  state.counters["wrapper_min_us"] = *std::min_element(wrapper_s.begin(), wrapper_s.end()) * 1e6;
  state.counters["nosync_us"] = moeb::median(nosync_s) * 1e6;
  state.counters["nosync_ratio"] = moeb::median(nosync_s) / bare_med;
  state.counters["gate_us"] = moeb::median(gate_s) * 1e6;
  state.counters["permute_us"] = moeb::median(permute_s) * 1e6;
  state.counters["wait_us"] = moeb::median(wait_s) * 1e6;
  state.counters["ns_route_us"] = moeb::median(phase_s[0]) * 1e6;
  state.counters["ns_plan_us"] = moeb::median(phase_s[1]) * 1e6;
  state.counters["ns_permute_us"] = moeb::median(phase_s[2]) * 1e6;
  state.counters["ns_a2a_us"] = moeb::median(phase_s[3]) * 1e6;
  state.counters["nosync_min_ratio"] =
      *std::min_element(nosync_s.begin(), nosync_s.end()) / bare_min;
  state.counters["coll_us"] = moeb::median(coll_s) * 1e6;
  state.counters["coll_ratio"] = moeb::median(coll_s) / bare_med;
  state.counters["posted_us"] = moeb::median(posted_s) * 1e6;
  state.counters["posted_ratio"] = moeb::median(posted_s) / bare_med;
  // Rank 0's direct dispatch of the last plan: messages it sends per layer, and the share of
  // the rows it sends to others that it copies first (packed; the rest go straight from input).
  if (direct_applies) {
    int64_t packed = 0, total = 0;
    const auto send = reinterpret_cast<uintptr_t>(backend.dispatch_send());
    for (const moeb::SendMessage& m : layer_state.send_messages) {
      const auto p = reinterpret_cast<uintptr_t>(m.data);
      total += m.rows;
      if (p >= send && p < send + static_cast<uintptr_t>(plan.rows_sent() * rb)) packed += m.rows;
    }
    state.counters["msgs_rank0"] = static_cast<double>(layer_state.send_messages.size());
    state.counters["packed_frac_rank0"] = total > 0 ? static_cast<double>(packed) / total : 0;
  }
  state.counters["MB_sent_rank0"] = static_cast<double>(ref.rows_sent() * rb) / 1e6;
  state.counters["ranks"] = R;
}
BENCHMARK(BM_DispatchVsBareAlltoallv)
    ->Arg(512)
    ->Arg(1024)
    ->Arg(2048)
    ->Arg(7168)
    ->Iterations(40)
    ->UseManualTime()
    ->Unit(benchmark::kMicrosecond);

// Silences ranks other than 0.
class NullReporter : public benchmark::BenchmarkReporter {
 public:
  bool ReportContext(const Context&) override { return true; }
  void ReportRuns(const std::vector<Run>&) override {}
};

}  // namespace

int main(int argc, char** argv) {
  MPI_Init(&argc, &argv);
  int rank = 0;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  benchmark::Initialize(&argc, argv);
  if (rank == 0) {
    benchmark::RunSpecifiedBenchmarks();
  } else {
    NullReporter null;
    benchmark::RunSpecifiedBenchmarks(&null);
  }
  benchmark::Shutdown();
  MPI_Finalize();
  return 0;
}
