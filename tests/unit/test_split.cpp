// The calibration/evaluation split is by request and never leaks one; replay orders are
// permutations with the promised structure.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <numeric>
#include <set>

#include "core/error.hpp"
#include "workload/split.hpp"

using namespace moeb;

namespace {
// `requests` requests of `len` tokens each, the first `prefill` of every request in prefill.
std::vector<TokenMeta> make_metas(int requests, int len, int prefill, bool interleave_requests) {
  std::vector<TokenMeta> m;
  if (!interleave_requests) {
    for (int r = 0; r < requests; ++r)
      for (int p = 0; p < len; ++p)
        m.push_back({r * 10 + 3, r % 3, p < prefill ? Phase::kPrefill : Phase::kDecode, p});
  } else {  // request tokens scattered through the trace, as a serving log records them
    for (int p = 0; p < len; ++p)
      for (int r = 0; r < requests; ++r)
        m.push_back({r * 10 + 3, r % 3, p < prefill ? Phase::kPrefill : Phase::kDecode, p});
  }
  return m;
}
std::vector<int64_t> all(const std::vector<TokenMeta>& m) {
  std::vector<int64_t> idx(m.size());
  std::iota(idx.begin(), idx.end(), 0);
  return idx;
}
}  // namespace

TEST(Split, NeverLeaksARequest) {
  for (bool scattered : {false, true})
    for (double f : {0.1, 0.25, 0.5, 0.9}) {
      auto metas = make_metas(37, 9, 3, scattered);
      auto s = split_by_request(metas, f, 99);
      std::set<int64_t> cal, eval;
      for (int64_t t : s.calibration) cal.insert(metas[t].request_id);
      for (int64_t t : s.evaluation) eval.insert(metas[t].request_id);
      for (int64_t r : cal) ASSERT_FALSE(eval.count(r)) << "request " << r << " in both parts";
      EXPECT_EQ(s.calibration.size() + s.evaluation.size(), metas.size());
      EXPECT_EQ(static_cast<int64_t>(cal.size()), s.calibration_requests);
      EXPECT_EQ(static_cast<int64_t>(eval.size()), s.evaluation_requests);
      EXPECT_EQ(s.calibration_requests, std::clamp<int64_t>(std::llround(f * 37), 1, 36));
    }
}

TEST(Split, IsDeterministicAndSeedDependent) {
  auto metas = make_metas(50, 4, 1, false);
  auto a = split_by_request(metas, 0.3, 1), b = split_by_request(metas, 0.3, 1);
  auto c = split_by_request(metas, 0.3, 2);
  EXPECT_EQ(a.calibration, b.calibration);
  EXPECT_NE(a.calibration, c.calibration);
}

TEST(Split, KeepsAtLeastOneRequestOnEachSide) {
  auto metas = make_metas(2, 5, 0, false);
  for (double f : {0.01, 0.99}) {
    auto s = split_by_request(metas, f, 5);
    EXPECT_EQ(s.calibration_requests, 1);
    EXPECT_EQ(s.evaluation_requests, 1);
  }
}

TEST(Split, RejectsSingleRequestAndBadFraction) {
  auto metas = make_metas(1, 5, 0, false);
  EXPECT_THROW(split_by_request(metas, 0.5, 1), ConfigError);
  auto two = make_metas(2, 5, 0, false);
  EXPECT_THROW(split_by_request(two, 0.0, 1), ConfigError);
  EXPECT_THROW(split_by_request(two, 1.0, 1), ConfigError);
}

TEST(Order, ByRequestKeepsRequestsContiguousInPositionOrder) {
  auto metas = make_metas(6, 7, 2, true);
  auto idx = all(metas);
  auto o = order_tokens(metas, idx, "by_request", 4);
  ASSERT_EQ(o.size(), metas.size());
  std::set<int64_t> done;
  for (size_t i = 0; i < o.size(); ++i) {
    const auto& m = metas[o[i]];
    if (i > 0 && metas[o[i - 1]].request_id == m.request_id) {
      EXPECT_EQ(m.position, metas[o[i - 1]].position + 1);
    } else {
      EXPECT_TRUE(done.insert(m.request_id).second) << "request split in two runs";
      EXPECT_EQ(m.position, 0);
    }
  }
}

TEST(Order, InterleavedIsAPermutationThatMixesRequests) {
  auto metas = make_metas(20, 10, 4, false);
  auto idx = all(metas);
  auto o = order_tokens(metas, idx, "interleaved", 5);
  auto sorted = o;
  std::sort(sorted.begin(), sorted.end());
  EXPECT_EQ(sorted, idx);
  // First step: 5 requests admitted, each emits its 4 prefill tokens as one chunk.
  std::set<int64_t> first_step;
  for (int i = 0; i < 20; ++i) {
    first_step.insert(metas[o[i]].request_id);
    EXPECT_EQ(metas[o[i]].phase, Phase::kPrefill);
  }
  EXPECT_EQ(first_step.size(), 5u);
  // Second step: one decode token from each of the 5 active requests.
  std::set<int64_t> second_step;
  for (int i = 20; i < 25; ++i) {
    second_step.insert(metas[o[i]].request_id);
    EXPECT_EQ(metas[o[i]].phase, Phase::kDecode);
  }
  EXPECT_EQ(second_step, first_step);
  // Within a request, positions stay in order.
  std::map<int64_t, int> last;
  for (int64_t t : o) {
    auto it = last.find(metas[t].request_id);
    if (it != last.end()) {
      EXPECT_GT(metas[t].position, it->second);
    }
    last[metas[t].request_id] = metas[t].position;
  }
}

TEST(Order, RejectsUnknownOrder) {
  auto metas = make_metas(3, 3, 0, false);
  auto idx = all(metas);
  EXPECT_THROW(order_tokens(metas, idx, "random", 2), ConfigError);
}
