// Host logic of the CUDA backend, checked on CPU: the grouped-GEMM problem list, the fused
// W1|W3 layout and the two combine CSRs (runtime/cuda/ffn_plan) drive a CPU emulation of the
// GPU pipeline (gather, column-major GEMMs, SwiGLU, gate-weighted combine, all-to-all, token
// combine) over several ranks, whose output must equal the core single-rank reference.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <vector>

#include "core/dispatch_plan.hpp"
#include "core/error.hpp"
#include "core/expert_weights.hpp"
#include "core/hier_plan.hpp"
#include "core/reference.hpp"
#include "core/rng.hpp"
#include "core/topology.hpp"
#include "runtime/cuda/ffn_plan.hpp"

namespace moeb {
namespace {

struct Batch {
  int num_ranks = 3, num_experts = 8, top_k = 3, hidden = 16, ffn = 12;
  int64_t tokens = 31;
  uint64_t seed = 7;
  int layer = 2;
  std::vector<int32_t> experts, dest;
  std::vector<float> weights;
};

Batch make_batch(uint64_t draw_seed) {
  Batch b;
  Rng rng(draw_seed);
  for (int64_t t = 0; t < b.tokens; ++t) {
    std::vector<int32_t> picked;
    while (static_cast<int>(picked.size()) < b.top_k) {
      const auto e = static_cast<int32_t>(rng.below(b.num_experts));
      if (std::find(picked.begin(), picked.end(), e) == picked.end()) picked.push_back(e);
    }
    for (int j = 0; j < b.top_k; ++j) {
      b.experts.push_back(picked[j]);
      b.weights.push_back(static_cast<float>(0.1 + rng.uniform()));
      b.dest.push_back(static_cast<int32_t>(rng.below(b.num_ranks)));
    }
  }
  return b;
}

// C = A * B, column-major, as cublasGemmEx computes it (fp32 here).
void emulate_gemm(const GemmProblem& p, const float* a, const float* b, float* c) {
  for (int j = 0; j < p.n; ++j)
    for (int i = 0; i < p.m; ++i) {
      float acc = 0;
      for (int l = 0; l < p.k; ++l)
        acc += a[p.a_offset + i + static_cast<int64_t>(l) * p.lda] *
               b[p.b_offset + l + static_cast<int64_t>(j) * p.ldb];
      c[p.c_offset + i + static_cast<int64_t>(j) * p.ldc] = acc;
    }
}

std::vector<float> gather(const std::vector<float>& src, const std::vector<int32_t>& idx, int w) {
  std::vector<float> out(idx.size() * w);
  for (size_t i = 0; i < idx.size(); ++i)
    std::copy_n(src.begin() + static_cast<int64_t>(idx[i]) * w, w, out.begin() + i * w);
  return out;
}

std::vector<float> csr_combine(const CsrGather& c, const std::vector<float>& src, int w) {
  const size_t rows = c.offsets.size() - 1;
  std::vector<float> out(rows * w, 0.0f);
  for (size_t r = 0; r < rows; ++r)
    for (int64_t q = c.offsets[r]; q < c.offsets[r + 1]; ++q) {
      const float wq = c.weight.empty() ? 1.0f : c.weight[q];
      for (int h = 0; h < w; ++h)
        out[r * w + h] += wq * src[static_cast<size_t>(c.index[q]) * w + h];
    }
  return out;
}

// Rank r's expert FFN exactly as CudaBackend::expert_ffn orders it, in fp32.
std::vector<float> emulate_expert_ffn(const Batch& b, const DispatchPlan& plan,
                                      const std::vector<float>& recv) {
  const int H = b.hidden, F = b.ffn;
  std::map<int, int> slot_of;
  for (size_t i = 0; i < plan.experts.size(); ++i) slot_of[plan.experts[i]] = static_cast<int>(i);
  std::vector<float> w13(slot_of.size() * H * 2 * F), w2(slot_of.size() * F * H);
  for (auto [e, s] : slot_of) {
    const ExpertWeights w = make_expert_weights(b.seed, b.layer, e, H, F);
    for (int h = 0; h < H; ++h)
      for (int f = 0; f < F; ++f) {
        w13[(static_cast<size_t>(s) * H + h) * 2 * F + f] = w.w1[h * F + f];
        w13[(static_cast<size_t>(s) * H + h) * 2 * F + F + f] = w.w3[h * F + f];
      }
    std::copy(w.w2.begin(), w.w2.end(), w2.begin() + static_cast<size_t>(s) * F * H);
  }
  const FfnGemms g = build_ffn_gemms(plan, slot_of, H, F);
  const int64_t rows = plan.rows_computed();
  const std::vector<float> xg = gather(recv, expert_rows_i32(plan), H);
  std::vector<float> h13(rows * 2 * F), act(rows * F), yg(rows * H);
  for (const auto& p : g.up) emulate_gemm(p, w13.data(), xg.data(), h13.data());
  for (int64_t r = 0; r < rows; ++r)
    for (int f = 0; f < F; ++f) {
      const float gate = h13[r * 2 * F + f], up = h13[r * 2 * F + F + f];
      act[r * F + f] = gate / (1.0f + std::exp(-gate)) * up;
    }
  for (const auto& p : g.down) emulate_gemm(p, w2.data(), act.data(), yg.data());
  return csr_combine(build_expert_combine(plan), yg, H);
}

// All ranks: permute, dispatch, FFN, combine, unpermute. Returns each rank's output rows.
std::vector<std::vector<float>> emulate_layer(const Batch& b, bool dedup) {
  const int R = b.num_ranks, H = b.hidden;
  std::vector<DispatchPlan> plans;
  for (int r = 0; r < R; ++r)
    plans.push_back(build_dispatch_plan(b.experts, b.weights, b.dest, b.top_k, R, r, dedup));
  std::vector<std::vector<float>> send(R), recv(R), csend(R), crecv(R), out(R);
  for (int r = 0; r < R; ++r) {
    const DispatchPlan& p = plans[r];
    std::vector<float> x((p.token_end - p.token_begin) * H);
    for (int64_t t = p.token_begin; t < p.token_end; ++t)
      fill_token_input(b.seed, b.layer, t, std::span<float>(x.data() + (t - p.token_begin) * H, H));
    send[r] = gather(x, p.send_token, H);
    recv[r].resize(p.rows_received() * H);
    crecv[r].resize(p.rows_sent() * H);
  }
  for (int r = 0; r < R; ++r)
    for (int s = 0; s < R; ++s) {
      EXPECT_EQ(plans[r].recv_counts[s], plans[s].send_counts[r]);
      std::copy_n(send[s].begin() + plans[s].send_offsets[r] * H, plans[r].recv_counts[s] * H,
                  recv[r].begin() + plans[r].recv_offsets[s] * H);
    }
  for (int r = 0; r < R; ++r) csend[r] = emulate_expert_ffn(b, plans[r], recv[r]);
  for (int r = 0; r < R; ++r)
    for (int s = 0; s < R; ++s)
      std::copy_n(csend[r].begin() + plans[r].recv_offsets[s] * H, plans[r].recv_counts[s] * H,
                  crecv[s].begin() + plans[s].send_offsets[r] * H);
  for (int r = 0; r < R; ++r) out[r] = csr_combine(build_token_combine(plans[r]), crecv[r], H);
  return out;
}

// Moves rows of `send[s]` (per-peer counts/offsets of the senders) into `recv[r]`, as the
// transport's alltoallv does for every rank at once.
void alltoallv(const std::vector<std::vector<float>>& send,
               const std::vector<std::vector<int64_t>>& send_offsets,
               std::vector<std::vector<float>>& recv,
               const std::vector<std::vector<int64_t>>& recv_counts,
               const std::vector<std::vector<int64_t>>& recv_offsets, int w) {
  const size_t R = send.size();
  for (size_t r = 0; r < R; ++r)
    for (size_t s = 0; s < R; ++s)
      std::copy_n(send[s].begin() + send_offsets[s][r] * w, recv_counts[r][s] * w,
                  recv[r].begin() + recv_offsets[r][s] * w);
}

// The hierarchical layer with the CUDA backend's buffer conventions: held rows = owned input
// then relayed rows; unpermute over held rows (invert_rows of local.send_token); the relayed
// rows' sums go home and are added per owned token (invert_rows of relay_send_token).
std::vector<std::vector<float>> emulate_hier_layer(const Batch& b, const Topology& topo,
                                                   bool dedup) {
  const int R = topo.num_ranks(), H = b.hidden;
  std::vector<HierPlan> hp;
  for (int r = 0; r < R; ++r)
    hp.push_back(build_hier_plan(b.experts, b.weights, b.dest, b.top_k, topo, r, dedup));
  std::vector<std::vector<float>> held(R), relay_send(R), relay_recv(R);
  std::vector<std::vector<int64_t>> rso(R), rrc(R), rro(R), lso(R), lrc(R), lro(R), lsc(R), lso2(R);
  for (int r = 0; r < R; ++r) {
    const HierPlan& h = hp[r];
    held[r].assign(h.held() * H, 0.0f);
    for (int64_t t = h.local.token_begin; t < h.local.token_end; ++t)
      fill_token_input(b.seed, b.layer, t,
                       std::span<float>(held[r].data() + (t - h.local.token_begin) * H, H));
    relay_send[r] = gather(held[r], h.relay_send_token, H);
    relay_recv[r].resize(h.relayed() * H);
    rso[r] = h.relay_send_offsets;
    rrc[r] = h.relay_recv_counts;
    rro[r] = h.relay_recv_offsets;
  }
  int64_t relayed = 0;
  for (const auto& h : hp) relayed += h.relayed();
  EXPECT_GT(relayed, 0) << "the batch must exercise the inter-node relay";
  alltoallv(relay_send, rso, relay_recv, rrc, rro, H);
  std::vector<std::vector<float>> send(R), recv(R), csend(R), crecv(R), out_held(R);
  for (int r = 0; r < R; ++r) {
    const HierPlan& h = hp[r];
    std::copy(relay_recv[r].begin(), relay_recv[r].end(), held[r].begin() + h.owned * H);
    send[r] = gather(held[r], h.local.send_token, H);
    recv[r].resize(h.local.rows_received() * H);
    crecv[r].resize(h.local.rows_sent() * H);
    lso[r] = h.local.send_offsets;
    lrc[r] = h.local.recv_counts;
    lro[r] = h.local.recv_offsets;
    lsc[r] = h.local.send_counts;
  }
  alltoallv(send, lso, recv, lrc, lro, H);
  for (int r = 0; r < R; ++r) csend[r] = emulate_expert_ffn(b, hp[r].local, recv[r]);
  alltoallv(csend, lro, crecv, lsc, lso, H);
  std::vector<std::vector<float>> rcsend(R), rcrecv(R), out(R);
  std::vector<std::vector<int64_t>> rsc(R);
  for (int r = 0; r < R; ++r) {
    const HierPlan& h = hp[r];
    out_held[r] = csr_combine(invert_rows(h.local.send_token, h.held()), crecv[r], H);
    rcsend[r].assign(out_held[r].begin() + h.owned * H, out_held[r].end());
    rcrecv[r].resize(h.relay_send_token.size() * H);
    rsc[r] = h.relay_send_counts;
  }
  alltoallv(rcsend, rro, rcrecv, rsc, rso, H);
  for (int r = 0; r < R; ++r) {
    const HierPlan& h = hp[r];
    out[r].assign(out_held[r].begin(), out_held[r].begin() + h.owned * H);
    const std::vector<float> back =
        csr_combine(invert_rows(h.relay_send_token, h.owned), rcrecv[r], H);
    for (size_t i = 0; i < out[r].size(); ++i) out[r][i] += back[i];
  }
  return out;
}

void expect_matches_reference(const Batch& b, const std::vector<std::vector<float>>& out) {
  ReferenceExperts ref(b.seed, b.hidden, b.ffn);
  const int H = b.hidden;
  std::vector<float> x(H);
  std::vector<double> y(H);
  int64_t checked = 0;
  for (int r = 0; r < b.num_ranks; ++r) {
    const DispatchPlan p =
        build_dispatch_plan(b.experts, b.weights, b.dest, b.top_k, b.num_ranks, r, true);
    for (int64_t t = p.token_begin; t < p.token_end; ++t) {
      fill_token_input(b.seed, b.layer, t, x);
      std::fill(y.begin(), y.end(), 0.0);
      reference_token_output(ref, b.layer,
                             std::span<const int32_t>(b.experts.data() + t * b.top_k, b.top_k),
                             std::span<const float>(b.weights.data() + t * b.top_k, b.top_k), x, y);
      for (int h = 0; h < H; ++h) {
        const double got = out[r][(t - p.token_begin) * H + h];
        ASSERT_NEAR(got, y[h], 1e-4 + 1e-4 * std::abs(y[h]))
            << "rank " << r << " token " << t << " element " << h;
      }
      ++checked;
    }
  }
  EXPECT_EQ(checked, b.tokens);
}

TEST(CudaHostPlan, EmulatedPipelineMatchesReferenceWithDedup) {
  const Batch b = make_batch(11);
  expect_matches_reference(b, emulate_layer(b, true));
}

TEST(CudaHostPlan, EmulatedPipelineMatchesReferenceWithoutDedup) {
  const Batch b = make_batch(12);
  expect_matches_reference(b, emulate_layer(b, false));
}

TEST(CudaHostPlan, EmulatedHierarchicalPipelineMatchesReference) {
  Batch b = make_batch(21);
  b.num_ranks = 4;
  Rng rng(5);
  for (auto& d : b.dest) d = static_cast<int32_t>(rng.below(4));
  const Topology topo = Topology::uniform(2, 2);
  expect_matches_reference(b, emulate_hier_layer(b, topo, true));
  expect_matches_reference(b, emulate_hier_layer(b, topo, false));
}

TEST(CudaHostPlan, GemmProblemsDescribeEachExpertWithRows) {
  const Batch b = make_batch(13);
  const DispatchPlan p = build_dispatch_plan(b.experts, b.weights, b.dest, b.top_k, 3, 1, true);
  std::map<int, int> slot_of;
  for (size_t i = 0; i < p.experts.size(); ++i) slot_of[p.experts[i]] = static_cast<int>(2 * i);
  const FfnGemms g = build_ffn_gemms(p, slot_of, 16, 12);
  ASSERT_EQ(g.up.size(), p.experts.size());
  ASSERT_EQ(g.down.size(), p.experts.size());
  int64_t rows = 0;
  for (size_t i = 0; i < g.up.size(); ++i) {
    const GemmProblem& u = g.up[i];
    const GemmProblem& d = g.down[i];
    EXPECT_EQ(u.expert, p.experts[i]);
    EXPECT_EQ(u.m, 24);
    EXPECT_EQ(u.k, 16);
    EXPECT_EQ(u.n, p.expert_offsets[i + 1] - p.expert_offsets[i]);
    EXPECT_EQ(u.lda, 24);
    EXPECT_EQ(u.ldb, 16);
    EXPECT_EQ(u.ldc, 24);
    EXPECT_EQ(u.a_offset, 2 * static_cast<int64_t>(i) * 16 * 24);
    EXPECT_EQ(u.b_offset, p.expert_offsets[i] * 16);
    EXPECT_EQ(u.c_offset, p.expert_offsets[i] * 24);
    EXPECT_EQ(d.m, 16);
    EXPECT_EQ(d.k, 12);
    EXPECT_EQ(d.n, u.n);
    EXPECT_EQ(d.a_offset, 2 * static_cast<int64_t>(i) * 12 * 16);
    EXPECT_EQ(d.b_offset, p.expert_offsets[i] * 12);
    EXPECT_EQ(d.c_offset, p.expert_offsets[i] * 16);
    rows += u.n;
  }
  EXPECT_EQ(rows, p.rows_computed());
}

TEST(CudaHostPlan, ExpertWithoutSlotIsAnError) {
  const Batch b = make_batch(14);
  const DispatchPlan p = build_dispatch_plan(b.experts, b.weights, b.dest, b.top_k, 3, 0, true);
  ASSERT_FALSE(p.experts.empty());
  std::map<int, int> slot_of;  // nothing loaded
  try {
    build_ffn_gemms(p, slot_of, 16, 12);
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("is not loaded on this rank"), std::string::npos);
  }
}

TEST(CudaHostPlan, TokenCombineListsEveryDestinationOnce) {
  const Batch b = make_batch(15);
  for (int r = 0; r < 3; ++r) {
    const DispatchPlan p = build_dispatch_plan(b.experts, b.weights, b.dest, b.top_k, 3, r, true);
    const CsrGather c = build_token_combine(p);
    ASSERT_EQ(c.offsets.size(), static_cast<size_t>(p.token_end - p.token_begin) + 1);
    EXPECT_TRUE(c.weight.empty());
    for (int64_t t = p.token_begin; t < p.token_end; ++t) {
      std::vector<int32_t> ranks(b.dest.begin() + t * b.top_k, b.dest.begin() + (t + 1) * b.top_k);
      std::sort(ranks.begin(), ranks.end());
      ranks.erase(std::unique(ranks.begin(), ranks.end()), ranks.end());
      const int64_t lt = t - p.token_begin;
      EXPECT_EQ(c.offsets[lt + 1] - c.offsets[lt], static_cast<int64_t>(ranks.size()));
      for (int64_t q = c.offsets[lt]; q < c.offsets[lt + 1]; ++q)
        EXPECT_EQ(p.send_token[c.index[q]], lt);
    }
  }
}

TEST(CudaHostPlan, ExpertCombineCarriesEachPairOnceWithItsGateWeight) {
  const Batch b = make_batch(16);
  const DispatchPlan p = build_dispatch_plan(b.experts, b.weights, b.dest, b.top_k, 3, 2, true);
  const CsrGather c = build_expert_combine(p);
  ASSERT_EQ(c.offsets.size(), static_cast<size_t>(p.rows_received()) + 1);
  ASSERT_EQ(c.index.size(), p.pair_expert.size());
  std::vector<int> used(p.expert_row.size(), 0);
  for (int64_t r = 0; r < p.rows_received(); ++r)
    for (int64_t q = c.offsets[r]; q < c.offsets[r + 1]; ++q) {
      EXPECT_EQ(p.expert_row[c.index[q]], r);
      EXPECT_EQ(c.weight[q], p.pair_weight[q]);
      ++used[c.index[q]];
    }
  for (int u : used) EXPECT_EQ(u, 1);
}

TEST(CudaHostPlan, InvertRowsGathersRepeatedTargetsInRowOrder) {
  // The hierarchical relay returns one partial result per remote node: token 1 gets two.
  const std::vector<int32_t> target = {1, 0, 3, 1};
  const CsrGather c = invert_rows(target, 5);
  EXPECT_EQ(c.offsets, (std::vector<int64_t>{0, 1, 3, 3, 4, 4}));
  EXPECT_EQ(c.index, (std::vector<int32_t>{1, 0, 3, 2}));
  EXPECT_TRUE(c.weight.empty());
  EXPECT_THROW(invert_rows(target, 3), Error);  // target 3 is not held
}

}  // namespace
}  // namespace moeb
