// Synthetic generators: reproducibility, routing invariants, and that each distribution has the
// shape it promises (flat, skewed over a per-layer permutation, family hot sets, groups).
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <numeric>
#include <set>

#include "core/error.hpp"
#include "core/model.hpp"
#include "workload/synthetic.hpp"

using namespace moeb;

namespace {
ModelSpec small_model(int experts = 16, int k = 2, int layers = 4) {
  ModelSpec m;
  m.name = "test";
  m.num_experts = experts;
  m.top_k = k;
  m.hidden = 8;
  m.ffn_hidden = 8;
  m.num_layers = layers;
  return m;
}
std::vector<double> loads(const RoutingTrace& t, int layer) {
  std::vector<double> x(t.num_experts(), 0.0);
  for (int64_t i = 0; i < t.num_tokens(); ++i)
    for (int32_t e : t.experts(layer, i)) x[e] += 1;
  return x;
}
double max_over_mean(const std::vector<double>& x) {
  double mean = std::accumulate(x.begin(), x.end(), 0.0) / x.size();
  return *std::max_element(x.begin(), x.end()) / mean;
}
bool same_routing(const RoutingTrace& a, int64_t ta, const RoutingTrace& b, int64_t tb) {
  for (int l = 0; l < a.num_layers(); ++l) {
    auto ea = a.experts(l, ta), eb = b.experts(l, tb);
    auto wa = a.weights(l, ta), wb = b.weights(l, tb);
    if (!std::equal(ea.begin(), ea.end(), eb.begin())) return false;
    if (!std::equal(wa.begin(), wa.end(), wb.begin())) return false;
  }
  return true;
}
SyntheticSpec spec_of(const std::string& dist, int version = 1) {
  SyntheticSpec s;
  s.distribution = dist;
  s.generator_version = version;
  s.zipf_s = 1.2;
  if (dist == "families") {
    s.num_families = 3;
    s.family_hot_share = 0.8;
  }
  return s;
}
// Every test below runs for each generator version (1: with rejection, 2: without).
constexpr int kVersions[] = {1, 2};
}  // namespace

TEST(Synthetic, SameSeedGivesSameTrace) {
  for (int v : kVersions)
    for (const char* dist : {"uniform", "zipf", "families"}) {
      SyntheticGenerator a(spec_of(dist, v), small_model(), 7),
          b(spec_of(dist, v), small_model(), 7);
      auto ta = a.generate(500), tb = b.generate(500);
      ASSERT_EQ(ta.num_tokens(), 500);
      for (int64_t t = 0; t < 500; ++t) {
        ASSERT_TRUE(same_routing(ta, t, tb, t)) << dist << " token " << t;
        ASSERT_EQ(ta.meta(t).request_id, tb.meta(t).request_id);
        ASSERT_EQ(ta.meta(t).family, tb.meta(t).family);
      }
    }
}

TEST(Synthetic, DifferentSeedsGiveDifferentTraces) {
  for (int v : kVersions) {
    SyntheticGenerator a(spec_of("zipf", v), small_model(), 1),
        b(spec_of("zipf", v), small_model(), 2);
    auto ta = a.generate(200), tb = b.generate(200);
    int differ = 0;
    for (int64_t t = 0; t < 200; ++t) differ += !same_routing(ta, t, tb, t);
    EXPECT_GT(differ, 150) << "version " << v;
  }
}

TEST(Synthetic, RoutingOfATokenIndependentOfBatching) {
  ModelSpec m = small_model(64, 6);
  m.num_expert_groups = 8;
  m.topk_groups = 2;
  for (int v : kVersions) {
    SyntheticSpec s = spec_of("families", v);
    s.recurrence = 0.4;
    SyntheticGenerator g(s, m, 11);
    auto whole = g.generate(300);
    auto metas = g.token_metas(300);
    std::vector<int64_t> picked = {299, 3, 150, 151, 0, 77};
    auto part = g.fetch(metas, picked, m.num_layers);
    for (size_t i = 0; i < picked.size(); ++i)
      EXPECT_TRUE(same_routing(part, static_cast<int64_t>(i), whole, picked[i])) << picked[i];
    // route(), one token at a time, draws what the bulk route_layer draws.
    std::vector<int32_t> experts(6);
    std::vector<float> weights(6);
    for (int64_t t : picked) {
      g.route(metas, t, 2, experts, weights);
      const auto ids = whole.experts(2, t);
      const auto ws = whole.weights(2, t);
      EXPECT_TRUE(std::equal(ids.begin(), ids.end(), experts.begin())) << "version " << v;
      EXPECT_TRUE(std::equal(ws.begin(), ws.end(), weights.begin())) << "version " << v;
    }
  }
}

TEST(Synthetic, TopKDistinctInRangeAndWeightsDecreasingSumToOne) {
  for (int v : kVersions)
    for (const char* dist : {"uniform", "zipf", "families"}) {
      for (int k : {1, 2, 8, 16}) {
        SyntheticGenerator g(spec_of(dist, v), small_model(16, k), 3);
        auto t = g.generate(200);
        EXPECT_NO_THROW(t.validate("generated"));
        for (int l = 0; l < t.num_layers(); ++l)
          for (int64_t i = 0; i < t.num_tokens(); ++i) {
            auto w = t.weights(l, i);
            double sum = 0;
            for (int j = 0; j < k; ++j) {
              sum += w[j];
              if (j > 0) {
                ASSERT_LE(w[j], w[j - 1]);
              }
              ASSERT_GT(w[j], 0.0f);
            }
            ASSERT_NEAR(sum, 1.0, 1e-5);
          }
      }
    }
}

TEST(Synthetic, UniformLoadsAreFlat) {
  for (int v : kVersions) {
    SyntheticGenerator g(spec_of("uniform", v), small_model(8, 2, 2), 5);
    auto t = g.generate(20000);
    for (int l = 0; l < 2; ++l) EXPECT_LT(max_over_mean(loads(t, l)), 1.05) << "version " << v;
  }
}

TEST(Synthetic, ZipfIsSkewedOverAPerLayerPermutation) {
  for (int v : kVersions) {
    SyntheticGenerator g(spec_of("zipf", v), small_model(64, 2, 6), 5);
    auto t = g.generate(20000);
    std::set<int> hottest;
    for (int l = 0; l < 6; ++l) {
      auto x = loads(t, l);
      EXPECT_GT(max_over_mean(x), 4.0) << "layer " << l << " version " << v;
      hottest.insert(static_cast<int>(std::max_element(x.begin(), x.end()) - x.begin()));
    }
    EXPECT_GE(hottest.size(), 3u) << "every layer has the same hottest expert: no permutation";
  }
}

TEST(Synthetic, FamiliesHaveTheirOwnHotSets) {
  for (int v : kVersions) {
    SyntheticSpec s = spec_of("families", v);
    s.num_families = 2;
    s.family_hot_share = 0.9;
    s.zipf_s = 0.5;
    SyntheticGenerator g(s, small_model(64, 4, 1), 9);
    auto t = g.generate(20000);
    EXPECT_EQ(g.family_names(), (std::vector<std::string>{"family0", "family1"}));
    std::vector<std::vector<double>> per(2, std::vector<double>(64, 0.0));
    std::vector<int64_t> count(2, 0);
    for (int64_t i = 0; i < t.num_tokens(); ++i) {
      int f = t.meta(i).family;
      ASSERT_GE(f, 0);
      ASSERT_LT(f, 2);
      ++count[f];
      for (int32_t e : t.experts(0, i)) per[f][e] += 1;
    }
    ASSERT_GT(count[0], 1000);
    ASSERT_GT(count[1], 1000);
    // The experts carrying 80% of each family's picks: small, and mostly different sets.
    auto top_set = [](std::vector<double> x) {
      std::vector<int> idx(x.size());
      std::iota(idx.begin(), idx.end(), 0);
      std::sort(idx.begin(), idx.end(), [&](int a, int b) { return x[a] > x[b]; });
      double total = std::accumulate(x.begin(), x.end(), 0.0), acc = 0;
      std::set<int> chosen;
      for (int e : idx) {
        if (acc >= 0.8 * total) break;
        acc += x[e];
        chosen.insert(e);
      }
      return chosen;
    };
    auto a = top_set(per[0]), b = top_set(per[1]);
    EXPECT_LE(a.size(), 40u);
    std::vector<int> common;
    std::set_intersection(a.begin(), a.end(), b.begin(), b.end(), std::back_inserter(common));
    EXPECT_LT(common.size(), std::min(a.size(), b.size()) / 2 + 1);
  }
}

TEST(Synthetic, RespectsExpertGroupLimit) {
  ModelSpec m = small_model(256, 8, 2);
  m.num_expert_groups = 8;
  m.topk_groups = 4;
  for (int v : kVersions)
    for (const char* dist : {"uniform", "zipf", "families"}) {
      SyntheticGenerator g(spec_of(dist, v), m, 13);
      auto t = g.generate(500);
      for (int l = 0; l < 2; ++l)
        for (int64_t i = 0; i < t.num_tokens(); ++i) {
          std::set<int> groups;
          for (int32_t e : t.experts(l, i)) groups.insert(e / 32);
          ASSERT_LE(groups.size(), 4u) << dist << " version " << v;
        }
    }
}

TEST(Synthetic, RequestsCarryFamilyPhaseAndPosition) {
  SyntheticSpec s = spec_of("families");
  s.request_tokens = 20;
  s.prefill_share = 0.25;
  SyntheticGenerator g(s, small_model(), 17);
  auto metas = g.token_metas(1000);
  ASSERT_EQ(metas.size(), 1000u);
  std::map<int64_t, int> family_of;
  for (size_t i = 0; i < metas.size(); ++i) {
    const auto& m = metas[i];
    if (i == 0 || metas[i - 1].request_id != m.request_id) {
      EXPECT_EQ(m.position, 0);
      EXPECT_FALSE(family_of.count(m.request_id)) << "request tokens not contiguous";
      family_of[m.request_id] = m.family;
    } else {
      EXPECT_EQ(m.position, metas[i - 1].position + 1);
      EXPECT_EQ(m.family, family_of[m.request_id]);
      // Prefill comes first, then decode.
      if (metas[i - 1].phase == Phase::kDecode) {
        EXPECT_EQ(m.phase, Phase::kDecode);
      }
    }
    EXPECT_LE(m.position, 30);
  }
  EXPECT_GT(family_of.size(), 30u);
}

TEST(Synthetic, RecurrenceRaisesAdjacentTokenOverlap) {
  for (int v : kVersions) {
    auto overlap = [v](double rec) {
      SyntheticSpec s = spec_of("uniform", v);
      s.recurrence = rec;
      SyntheticGenerator g(s, small_model(32, 4, 1), 21);
      auto t = g.generate(5000);
      double shared = 0, pairs = 0;
      for (int64_t i = 1; i < t.num_tokens(); ++i) {
        if (t.meta(i).request_id != t.meta(i - 1).request_id) continue;
        auto a = t.experts(0, i), b = t.experts(0, i - 1);
        for (int32_t e : a) shared += std::count(b.begin(), b.end(), e);
        pairs += 4;
      }
      return shared / pairs;
    };
    double base = overlap(0.0), high = overlap(0.6);
    EXPECT_NEAR(base, 4.0 / 32, 0.03) << "version " << v;
    EXPECT_NEAR(high, 0.6 + 0.4 * base, 0.05) << "version " << v;
  }
}

TEST(Synthetic, RejectsBadSpec) {
  SyntheticSpec s;
  s.distribution = "gaussian";
  EXPECT_THROW(SyntheticGenerator(s, small_model(), 1), ConfigError);
  s = SyntheticSpec{};
  s.recurrence = 1.0;
  EXPECT_THROW(SyntheticGenerator(s, small_model(), 1), ConfigError);
  s = SyntheticSpec{};
  s.zipf_s = -1;
  EXPECT_THROW(SyntheticGenerator(s, small_model(), 1), ConfigError);
  for (int v : {0, 3}) {
    s = SyntheticSpec{};
    s.generator_version = v;
    EXPECT_THROW(SyntheticGenerator(s, small_model(), 1), ConfigError) << v;
  }
}

// Version 2 draws top-k without replacement from the mixture itself: with top-1 and no groups
// that is the mixture (what version 1 draws too), so both give the same expected loads.
TEST(Synthetic, V2TopOneDrawsTheMixture) {
  SyntheticSpec s = spec_of("families", 1);
  s.num_families = 2;
  s.family_hot_share = 0.5;
  std::vector<std::vector<double>> x;
  for (int v : kVersions) {
    s.generator_version = v;
    SyntheticGenerator g(s, small_model(32, 1, 1), 23);
    x.push_back(loads(g.generate(40000), 0));
  }
  for (int e = 0; e < 32; ++e) EXPECT_NEAR(x[1][e], x[0][e], 5 * std::sqrt(x[0][e] + 25)) << e;
}

// The group limit is met by construction, and within the groups a token picks, the hottest
// experts are drawn most: a hot expert's share stays close to what its mass predicts.
TEST(Synthetic, V2GroupLimitedDrawIsDistinctAndSkewed) {
  ModelSpec m = small_model(256, 8, 2);
  m.num_expert_groups = 8;
  m.topk_groups = 4;
  SyntheticSpec s = spec_of("zipf", 2);
  SyntheticGenerator g(s, m, 29);
  auto t = g.generate(4000);
  EXPECT_NO_THROW(t.validate("generated"));
  for (int l = 0; l < 2; ++l) EXPECT_GT(max_over_mean(loads(t, l)), 4.0);
}
