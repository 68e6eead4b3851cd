// The cluster-scale simulate path (issue 16) holds the plain one: the bulk per-layer synthetic
// draw equals route() token by token, the guide-table sampler equals sample_cdf, layer-wise
// statistics (token sample included) equal add_batch for 1 and 2 threads, and c2r's table-driven
// route transform equals the rule's sort. End to end (every strategy measured together, on 1
// and 2 threads, equal to the values of the strategy-by-strategy path): test_reference_values.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <numeric>
#include <stdexcept>

#include "core/cost_model.hpp"
#include "core/model.hpp"
#include "core/parallel.hpp"
#include "core/rng.hpp"
#include "core/stats.hpp"
#include "placement/c2r_transform.hpp"
#include "placement_test_util.hpp"
#include "workload/float_exp.hpp"
#include "workload/synthetic.hpp"

using namespace moeb;

namespace {

using test::small_model;

// Token indices first, first + 1, ..., last - 1.
std::vector<int64_t> token_range(int64_t first, int64_t last) {
  std::vector<int64_t> tokens(static_cast<size_t>(last - first));
  std::iota(tokens.begin(), tokens.end(), first);
  return tokens;
}

struct Case {
  SyntheticSpec spec;
  ModelSpec model;
};

std::vector<Case> cases() {
  std::vector<Case> out;
  SyntheticSpec u;
  u.distribution = "uniform";
  out.push_back({u, small_model(16, 2, 3)});
  SyntheticSpec z;
  z.zipf_s = 1.7;
  z.recurrence = 0.4;
  out.push_back({z, small_model(64, 6, 3)});
  SyntheticSpec f;
  f.distribution = "families";
  f.num_families = 4;
  f.family_hot_share = 0.7;
  f.recurrence = 0.3;
  f.phase_mix = 0.4;
  f.zipf_s = 2.5;
  out.push_back({f, small_model(256, 8, 2, 8, 4)});  // DeepSeek-V3 routing shape
  SyntheticSpec tight = z;
  out.push_back({tight, small_model(8, 7, 2)});  // rejection often runs long: the fallback fills
  return out;
}

}  // namespace

TEST(SimScale, CdfSamplerEqualsSampleCdf) {
  for (double s : {0.0, 0.7, 1.0, 2.9}) {
    for (int n : {1, 3, 8, 256, 384}) {
      const auto cdf = zipf_cdf(n, s);
      const CdfSampler fast(cdf);
      Rng rng(static_cast<uint64_t>(n) * 31 + static_cast<uint64_t>(s * 10));
      for (int i = 0; i < 20000; ++i) {
        const double u = rng.uniform();
        ASSERT_EQ(fast.sample(u), sample_cdf(cdf, u)) << "n " << n << " s " << s << " u " << u;
      }
      for (double u : {0.0, 0.5, 1.0 - 0x1.0p-53})
        ASSERT_EQ(fast.sample(u), sample_cdf(cdf, u)) << "n " << n << " u " << u;
    }
  }
}

// The gate weights' exp: float(std::exp(x)) exactly, for the weights' arguments and beyond; the
// approximation inside within its stated 2^-44 (against long double exp).
TEST(SimScale, ExpToFloatEqualsStdExp) {
  Rng rng(7);
  std::vector<double> xs = {0.0,    -0.0,   -1e-300, -0.5, -0.8, -6.1, -86.99,    -87.0,
                            -87.01, -100.0, -745.5,  1e-9, 0.5,  88.0, -INFINITY, INFINITY};
  for (int i = 0; i < 400000; ++i) xs.push_back(-0.8 * (i % 16) - 0.5 * rng.uniform());
  for (int i = 0; i < 100000; ++i) xs.push_back(-87.5 * rng.uniform());
  std::vector<float> bulk(xs.size());
  float_exp::exp_to_float(xs.data(), bulk.data(), static_cast<int>(xs.size()));
  for (size_t i = 0; i < xs.size(); ++i) {
    const float want = static_cast<float>(std::exp(xs[i]));
    ASSERT_EQ(float_exp::exp_to_float(xs[i]), want) << std::hexfloat << xs[i];
    ASSERT_EQ(bulk[i], want) << std::hexfloat << xs[i];
    if (xs[i] >= float_exp::kMinX && xs[i] <= 0) {
      const long double exact = std::exp(static_cast<long double>(xs[i]));
      const long double rel = std::abs(float_exp::exp_approx(xs[i]) - exact) / exact;
      ASSERT_LT(rel, 0x1.0p-44L) << std::hexfloat << xs[i];
    }
  }
  for (double mid : {0x1.000001p0, 0x1.6a09e7p-3}) {  // a float midpoint and near it: flagged
    EXPECT_TRUE(float_exp::near_float_midpoint(mid));
    EXPECT_TRUE(float_exp::near_float_midpoint(std::nextafter(mid, 2.0)));
    EXPECT_FALSE(float_exp::near_float_midpoint(static_cast<double>(static_cast<float>(mid))));
  }
}

TEST(SimScale, HashStepsComposeToHashCounters) {
  for (uint64_t seed : {0ULL, 42ULL, ~0ULL})
    EXPECT_EQ(hash_step_d(hash_step_c(hash_step_b(hash_prefix(seed, 3), 7), 11), 13),
              hash_counters(seed, 3, 7, 11, 13));
}

TEST(SimScale, BulkLayerRoutingEqualsRoutePerToken) {
  for (const auto& c : cases()) {
    SyntheticGenerator g(c.spec, c.model, 1234);
    const auto metas = g.token_metas(700);
    std::vector<int64_t> tokens = token_range(0, static_cast<int64_t>(metas.size()));
    std::reverse(tokens.begin(), tokens.end());  // any order, not only ascending
    const size_t k = static_cast<size_t>(c.model.top_k);
    for (int l = 0; l < c.model.num_layers; ++l) {
      std::vector<int32_t> ids(tokens.size() * k), only(tokens.size() * k);
      std::vector<float> ws(tokens.size() * k);
      g.route_layer(metas, tokens, l, ids, ws);
      g.route_layer(metas, tokens, l, only, {});  // experts alone: the same ids
      EXPECT_EQ(ids, only);
      std::vector<int32_t> e1(k);
      std::vector<float> w1(k);
      for (size_t i = 0; i < tokens.size(); ++i) {
        g.route(metas, tokens[i], l, e1, w1);
        ASSERT_TRUE(std::equal(e1.begin(), e1.end(), ids.begin() + i * k))
            << c.spec.distribution << " layer " << l << " token " << tokens[i];
        ASSERT_TRUE(std::equal(w1.begin(), w1.end(), ws.begin() + i * k));
      }
    }
  }
}

// With previous positions, a token whose draw key is its predecessor's copies that token's
// routing (route_layer): the values route() draws token by token, for generator versions 1 and
// 2, tokens in request order and interleaved across requests (predecessor far back).
TEST(SimScale, RecurrentTokensCopiedFromTheirPredecessorEqualRoutePerToken) {
  for (int version : {1, 2}) {
    for (auto c : cases()) {
      c.spec.generator_version = version;
      if (c.spec.recurrence <= 0) continue;
      SyntheticGenerator g(c.spec, c.model, 99);
      const auto metas = g.token_metas(900);
      std::vector<int64_t> interleaved = token_range(0, static_cast<int64_t>(metas.size()));
      std::stable_sort(interleaved.begin(), interleaved.end(),
                       [&](int64_t a, int64_t b) { return metas[a].position < metas[b].position; });
      for (const auto& tokens : {token_range(0, static_cast<int64_t>(metas.size())), interleaved}) {
        const auto prev = previous_positions(metas, tokens);
        ASSERT_GT(std::count_if(prev.begin(), prev.end(), [](int32_t p) { return p >= 0; }), 0);
        const size_t k = static_cast<size_t>(c.model.top_k);
        std::vector<int32_t> e1(k);
        std::vector<float> w1(k);
        for (int l = 0; l < c.model.num_layers; ++l) {
          std::vector<int32_t> ids(tokens.size() * k);
          std::vector<float> ws(tokens.size() * k);
          g.route_layer(metas, tokens, l, ids, ws, prev);
          for (size_t i = 0; i < tokens.size(); ++i) {
            g.route(metas, tokens[i], l, e1, w1);
            ASSERT_TRUE(std::equal(e1.begin(), e1.end(), ids.begin() + i * k))
                << "version " << version << " layer " << l << " token " << tokens[i];
            ASSERT_TRUE(std::equal(w1.begin(), w1.end(), ws.begin() + i * k));
          }
        }
      }
    }
  }
}

// route_layer plans the layer (drawn tokens, recurrence copies), draws, then weights the drawn
// tokens: any list length (including the empty and short lists), any order, with recurrence
// copies and the fallback (a group limit of one 2-expert group for top-2: the partner is found
// by rejection in 64 attempts with probability 1 - (63/64)^63, so about 37% of tokens end in
// the fallback) equal route().
TEST(SimScale, BulkDrawEqualsRoutePerTokenForAnyListLength) {
  auto all = cases();
  SyntheticSpec grouped;
  grouped.distribution = "uniform";
  grouped.recurrence = 0.3;
  all.push_back({grouped, small_model(64, 2, 2, 32, 1)});
  for (int version : {1, 2}) {
    for (auto c : all) {
      c.spec.generator_version = version;
      SyntheticGenerator g(c.spec, c.model, 77);
      const auto metas = g.token_metas(400);
      const size_t k = static_cast<size_t>(c.model.top_k);
      Rng rng(5);
      for (size_t n : {0, 1, 2, 3, 4, 5, 6, 7, 9, 13, 31, 64, 257}) {
        std::vector<int64_t> tokens = token_range(0, static_cast<int64_t>(metas.size()));
        for (size_t i = tokens.size() - 1; i > 0; --i)  // a random subset in random order
          std::swap(tokens[i], tokens[static_cast<size_t>(rng.below(i + 1))]);
        tokens.resize(n);
        std::sort(tokens.begin(), tokens.begin() + static_cast<std::ptrdiff_t>(n / 2));
        const auto prev = previous_positions(metas, tokens);
        std::vector<int32_t> e1(k);
        std::vector<float> w1(k);
        for (int l = 0; l < c.model.num_layers; ++l) {
          std::vector<int32_t> ids(n * k), only(n * k);
          std::vector<float> ws(n * k);
          g.route_layer(metas, tokens, l, ids, ws, prev);
          g.route_layer(metas, tokens, l, only, {});
          EXPECT_EQ(ids, only);
          for (size_t i = 0; i < n; ++i) {
            g.route(metas, tokens[i], l, e1, w1);
            ASSERT_TRUE(std::equal(e1.begin(), e1.end(), ids.begin() + i * k))
                << "version " << version << " n " << n << " layer " << l << " at " << i;
            ASSERT_TRUE(std::equal(w1.begin(), w1.end(), ws.begin() + i * k));
          }
        }
      }
    }
  }
}

// The integer form of the guide-table sampler (thresholds on m = h >> 11) equals sample_cdf of
// u = m * 2^-53, also at every threshold and next to it.
TEST(SimScale, CdfSamplerBitsEqualSampleCdf) {
  constexpr uint64_t kOne = uint64_t{1} << 53;
  for (double s : {0.0, 0.7, 1.03, 1.7, 2.9}) {
    for (int n : {1, 3, 8, 16, 256, 384}) {
      const auto cdf = zipf_cdf(n, s);
      const CdfSampler fast(cdf);
      const auto bits = fast.bits_view();
      auto check = [&](uint64_t m) {
        ASSERT_EQ(bits.sample(m), sample_cdf(cdf, static_cast<double>(m) * 0x1.0p-53))
            << "n " << n << " s " << s << " m " << m;
      };
      Rng rng(static_cast<uint64_t>(n) * 17 + static_cast<uint64_t>(s * 100));
      for (int i = 0; i < 20000; ++i) check(rng() >> 11);
      for (uint64_t m : {uint64_t{0}, uint64_t{1}, kOne / 2, kOne - 1}) check(m);
      for (int i = 0; i < n; ++i) {  // the least m with cdf[i] <= u * total, and around it
        uint64_t lo = 0, hi = kOne;
        while (lo < hi) {
          const uint64_t mid = lo + (hi - lo) / 2;
          if (cdf[i] <= static_cast<double>(mid) * 0x1.0p-53 * cdf.back())
            hi = mid;
          else
            lo = mid + 1;
        }
        for (uint64_t m : {lo - 1, lo, lo + 1})
          if (m < kOne) check(m);
      }
    }
  }
}

TEST(SimScale, LayerwiseStatisticsEqualAddBatchForAnyThreadCount) {
  Case c = cases()[2];
  c.model.num_experts = 64;
  c.model.num_expert_groups = 8;
  c.model.top_k = 4;
  SyntheticGenerator g(c.spec, c.model, 7);
  // Three batches, more tokens than the token sample keeps: its replacements are exercised.
  const int64_t n = static_cast<int64_t>(RoutingStats::kMaxSampleTokens) + 9000;
  const auto metas = g.token_metas(n);
  // The 40-token batch leaves each family a few tokens: those are added token by token.
  const std::vector<int64_t> cuts = {0, 30000, 30040, 60001, n};
  RoutingStats ref(c.model.num_layers, c.model.num_experts, g.family_names());
  for (size_t b = 0; b + 1 < cuts.size(); ++b)
    ref.add_batch(g.fetch(metas, token_range(cuts[b], cuts[b + 1]), c.model.num_layers));
  for (int threads : {1, 2}) {
    RoutingStats got(c.model.num_layers, c.model.num_experts, g.family_names());
    for (size_t b = 0; b + 1 < cuts.size(); ++b) {
      const std::vector<int64_t> tokens = token_range(cuts[b], cuts[b + 1]);
      std::vector<TokenMeta> part(metas.begin() + cuts[b], metas.begin() + cuts[b + 1]);
      got.add_batch_layers(
          part, c.model.top_k,
          [&](int l, std::span<int32_t> ids) { g.route_layer(metas, tokens, l, ids, {}); },
          threads);
    }
    ASSERT_EQ(got.sample_size(), ref.sample_size());
    for (size_t i = 0; i < got.sample_size(); ++i) {
      ASSERT_EQ(got.sample_token(i).batch_index, ref.sample_token(i).batch_index);
      ASSERT_EQ(got.sample_token(i).position, ref.sample_token(i).position);
      for (int l = 0; l < c.model.num_layers; ++l) {
        const auto a = got.sample_experts(i, l), b = ref.sample_experts(i, l);
        ASSERT_TRUE(std::equal(a.begin(), a.end(), b.begin())) << "sample " << i << " layer " << l;
      }
    }
    EXPECT_EQ(got.tokens(), ref.tokens());
    EXPECT_EQ(got.prefill_tokens(), ref.prefill_tokens());
    EXPECT_EQ(got.batch_loads(), ref.batch_loads());
    for (int l = 0; l < c.model.num_layers; ++l) {
      EXPECT_EQ(got.layer(l).load, ref.layer(l).load);
      EXPECT_EQ(got.layer(l).coact, ref.layer(l).coact);
      EXPECT_EQ(got.prefill_layer(l).coact, ref.prefill_layer(l).coact);
      for (int f = 0; f < got.num_families(); ++f)
        EXPECT_EQ(got.family_layer(f, l).coact, ref.family_layer(f, l).coact);
    }
  }
}

namespace {
// The c2r rule as written (score every list member, stable sort, first k-1), after ranking the
// token's choices by weight: the reference the table-driven transform must equal.
void c2r_by_sort(const std::vector<std::vector<int>>& lists, int k, std::span<int32_t> ids,
                 std::span<float> ws) {
  std::vector<std::pair<float, int>> bw;
  for (int j = 0; j < k; ++j) bw.push_back({ws[j], ids[j]});
  std::stable_sort(bw.begin(), bw.end(),
                   [](const auto& a, const auto& b) { return a.first > b.first; });
  for (int j = 0; j < k; ++j) {
    ws[j] = bw[j].first;
    ids[j] = bw[j].second;
  }
  const std::vector<int> orig(ids.begin(), ids.end());
  const auto& list = lists[orig[0]];
  std::vector<std::pair<double, int>> scored;
  for (size_t p = 0; p < list.size(); ++p) {
    const auto it = std::find(orig.begin() + 1, orig.end(), list[p]);
    scored.push_back({it != orig.end() ? 1.0 + ws[it - orig.begin()]
                                       : 1.0 - static_cast<double>(p + 1) / (list.size() + 1.0),
                      list[p]});
  }
  std::stable_sort(scored.begin(), scored.end(),
                   [](const auto& a, const auto& b) { return a.first > b.first; });
  std::vector<int> chosen;
  for (const auto& sc : scored)
    if (static_cast<int>(chosen.size()) < k - 1) chosen.push_back(sc.second);
  for (int j = 1; j < k && static_cast<int>(chosen.size()) < k - 1; ++j)
    if (std::find(chosen.begin(), chosen.end(), orig[j]) == chosen.end()) chosen.push_back(orig[j]);
  std::vector<int> slot_of(chosen.size(), -1);
  std::vector<bool> used(k, false);
  for (size_t c = 0; c < chosen.size(); ++c)
    for (int j = 1; j < k; ++j)
      if (orig[j] == chosen[c]) slot_of[c] = j, used[j] = true;
  int next = 1;
  for (size_t c = 0; c < chosen.size(); ++c) {
    if (slot_of[c] >= 0) continue;
    while (used[next]) ++next;
    slot_of[c] = next;
    used[next] = true;
  }
  for (size_t c = 0; c < chosen.size(); ++c) ids[slot_of[c]] = chosen[c];
}
}  // namespace

TEST(SimScale, C2rTableTransformEqualsTheSort) {
  const int E = 32, k = 6;
  Rng rng(11);
  for (int top_t : {3, 5, 16, 31}) {
    std::vector<std::vector<std::vector<int>>> lists(1, std::vector<std::vector<int>>(E));
    for (int e = 0; e < E; ++e) {
      for (int j = 0; j < E; ++j)
        if (j != e) lists[0][e].push_back(j);
      for (int i = E - 2; i > 0; --i)
        std::swap(lists[0][e][i], lists[0][e][static_cast<int>(rng.below(i + 1))]);
      lists[0][e].resize(top_t);
    }
    const C2rTransform c2r(lists);
    const int T = 3000;
    std::vector<int32_t> ids(static_cast<size_t>(T) * k);
    std::vector<float> ws(ids.size());
    for (int t = 0; t < T; ++t)
      for (int j = 0; j < k; ++j) {
        int32_t e;  // distinct experts per token (as routing and checked traces have them)
        do e = static_cast<int32_t>(rng.below(E));
        while (std::find(&ids[t * k], &ids[t * k + j], e) != &ids[t * k + j]);
        ids[t * k + j] = e;
        // Ties (quantized), zeros and, for some tokens, negative weights (the sort's path).
        const double u = rng.uniform();
        ws[t * k + j] =
            t % 7 == 0 ? static_cast<float>(u - 0.5) : static_cast<float>(std::floor(u * 4) / 4);
      }
    std::vector<int32_t> want = ids;
    std::vector<float> want_w = ws;
    for (int t = 0; t < T; ++t)
      c2r_by_sort(lists[0], k, std::span<int32_t>(want).subspan(t * k, k),
                  std::span<float>(want_w).subspan(t * k, k));
    c2r.apply_layer(0, k, ids, ws);
    EXPECT_EQ(ids, want) << "top_t " << top_t;
    EXPECT_EQ(ws, want_w) << "top_t " << top_t;
  }
}

TEST(SimScale, ParallelForRunsEveryIndexOnceAndRethrows) {
  std::vector<int> hits(100, 0);
  parallel_for(100, 2, [&](int i) { ++hits[i]; });
  EXPECT_EQ(std::count(hits.begin(), hits.end(), 1), 100);
  EXPECT_THROW(parallel_for(10, 2,
                            [](int i) {
                              if (i == 3) throw std::runtime_error("x");
                            }),
               std::runtime_error);
}
