#include "workload/split.hpp"

#include <algorithm>
#include <cmath>
#include <deque>
#include <unordered_map>
#include <unordered_set>

#include "core/error.hpp"
#include "core/rng.hpp"

namespace moeb {

namespace {
constexpr uint64_t kSplitStream = 0x5311;

// Requests in order of first appearance, each with its tokens in the given order.
struct RequestGroups {
  std::vector<int64_t> ids;
  std::vector<std::vector<int64_t>> tokens;
};
RequestGroups group_by_request(const std::vector<TokenMeta>& metas,
                               std::span<const int64_t> tokens) {
  RequestGroups g;
  std::unordered_map<int64_t, size_t> slot;
  for (int64_t t : tokens) {
    int64_t id = metas[t].request_id;
    auto [it, fresh] = slot.try_emplace(id, g.ids.size());
    if (fresh) {
      g.ids.push_back(id);
      g.tokens.emplace_back();
    }
    g.tokens[it->second].push_back(t);
  }
  return g;
}
}  // namespace

std::string honest_split(const WorkloadConfig& w) {
  return w.calibration_trace.empty() ? "fraction" : "trace";
}

int64_t count_requests(const std::vector<TokenMeta>& metas, std::span<const int64_t> tokens) {
  std::unordered_set<int64_t> ids;
  for (int64_t t : tokens) ids.insert(metas[t].request_id);
  return static_cast<int64_t>(ids.size());
}

SplitResult split_by_request(const std::vector<TokenMeta>& metas, double fraction, uint64_t seed) {
  if (!(fraction > 0 && fraction < 1))
    throw ConfigError("workload: key 'calibration_fraction': expected a value in (0, 1), got " +
                      std::to_string(fraction));
  std::vector<int64_t> ids;
  std::unordered_set<int64_t> seen;
  for (const auto& m : metas)
    if (seen.insert(m.request_id).second) ids.push_back(m.request_id);
  const int64_t n = static_cast<int64_t>(ids.size());
  if (n < 2)
    throw ConfigError("workload: split by request needs at least 2 requests, the trace has " +
                      std::to_string(n) + " (use split = \"trace\" or \"oracle\")");
  std::vector<std::pair<uint64_t, int64_t>> keyed;
  keyed.reserve(ids.size());
  for (int64_t id : ids)
    keyed.emplace_back(hash_counters(seed, kSplitStream, static_cast<uint64_t>(id)), id);
  std::sort(keyed.begin(), keyed.end());
  int64_t n_cal = std::clamp<int64_t>(std::llround(fraction * static_cast<double>(n)), 1, n - 1);
  std::unordered_set<int64_t> cal;
  for (int64_t i = 0; i < n_cal; ++i) cal.insert(keyed[i].second);

  SplitResult out;
  for (int64_t t = 0; t < static_cast<int64_t>(metas.size()); ++t)
    (cal.count(metas[t].request_id) ? out.calibration : out.evaluation).push_back(t);
  out.calibration_requests = n_cal;
  out.evaluation_requests = n - n_cal;
  return out;
}

std::vector<int64_t> order_tokens(const std::vector<TokenMeta>& metas,
                                  std::span<const int64_t> tokens, const std::string& order,
                                  int64_t concurrency) {
  auto groups = group_by_request(metas, tokens);
  for (auto& g : groups.tokens)
    std::stable_sort(g.begin(), g.end(),
                     [&](int64_t a, int64_t b) { return metas[a].position < metas[b].position; });
  std::vector<int64_t> out;
  out.reserve(tokens.size());
  if (order == "by_request") {
    for (const auto& g : groups.tokens) out.insert(out.end(), g.begin(), g.end());
    return out;
  }
  if (order != "interleaved")
    throw ConfigError("workload: key 'order': expected interleaved | by_request, got '" + order +
                      "'");
  concurrency = std::max<int64_t>(1, concurrency);
  std::vector<size_t> cursor(groups.tokens.size(), 0);
  std::deque<size_t> active;
  size_t next = 0;
  auto admit = [&] {
    while (static_cast<int64_t>(active.size()) < concurrency && next < groups.tokens.size())
      active.push_back(next++);
  };
  admit();
  while (!active.empty()) {
    std::deque<size_t> still;
    for (size_t r : active) {
      const auto& g = groups.tokens[r];
      size_t& c = cursor[r];
      // One prefill chunk (all remaining prefill tokens), else one decode token.
      if (metas[g[c]].phase == Phase::kPrefill) {
        while (c < g.size() && metas[g[c]].phase == Phase::kPrefill) out.push_back(g[c++]);
      } else {
        out.push_back(g[c++]);
      }
      if (c < g.size()) still.push_back(r);
    }
    active.swap(still);
    admit();
  }
  return out;
}

std::vector<int64_t> filter_phase(const std::vector<TokenMeta>& metas,
                                  std::span<const int64_t> tokens, const std::string& phase,
                                  const std::string& where) {
  if (phase == "all") return {tokens.begin(), tokens.end()};
  if (phase != "prefill" && phase != "decode")
    throw ConfigError(where + ": expected all, prefill or decode; got '" + phase + "'");
  const Phase want = phase == "prefill" ? Phase::kPrefill : Phase::kDecode;
  std::vector<int64_t> out;
  for (int64_t t : tokens)
    if (metas[t].phase == want) out.push_back(t);
  return out;
}

}  // namespace moeb
