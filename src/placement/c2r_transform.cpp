#include "placement/c2r_transform.hpp"

#include <algorithm>
#include <numeric>

#include "core/batch_routing.hpp"
#include "core/evaluator.hpp"
#include "core/routing.hpp"
#include "placement/common.hpp"
#include "placement/partition.hpp"

namespace moeb {

std::vector<std::vector<std::vector<int>>> C2rTransform::build_lists(const RoutingStats& stats,
                                                                     int top_t) {
  const int E = stats.num_experts();
  std::vector<std::vector<std::vector<int>>> out(stats.num_layers());
  for (int l = 0; l < stats.num_layers(); ++l) {
    const auto& s = stats.layer(l);
    out[l].resize(E);
    for (int e = 0; e < E; ++e) {
      std::vector<int> others;
      for (int j = 0; j < E; ++j)
        if (j != e) others.push_back(j);
      std::stable_sort(others.begin(), others.end(),
                       [&](int a, int b) { return s.coact_at(e, a, E) > s.coact_at(e, b, E); });
      others.resize(std::min<size_t>(others.size(), static_cast<size_t>(std::max(top_t, 0))));
      out[l][e] = std::move(others);
    }
  }
  return out;
}

C2rTransform::C2rTransform(std::vector<std::vector<std::vector<int>>> lists)
    : lists_(std::move(lists)) {
  pos_.resize(lists_.size());
  for (size_t l = 0; l < lists_.size(); ++l) {
    const size_t E = lists_[l].size();
    if (E > 32767) continue;
    pos_[l].assign(E * E, -1);
    bool ok = true;  // distinct in-range members only; else this layer keeps the sort
    for (size_t e = 0; e < E && ok; ++e)
      for (size_t p = 0; p < lists_[l][e].size() && ok; ++p) {
        const int x = lists_[l][e][p];
        ok = x >= 0 && static_cast<size_t>(x) < E && pos_[l][e * E + x] < 0;
        if (ok) pos_[l][e * E + x] = static_cast<int16_t>(p);
      }
    if (!ok) pos_[l].clear();
  }
}

namespace {
// The first k-1 entries of the stable descending sort of apply_layer's scores, without sorting
// the list: when every weight is >= 0, a member the token already chose scores 1 + w >= 1 and
// every other member scores < 1, decreasing with its list position, so the order is the chosen
// members by weight (list position on ties), then the others in list order. `pos` maps an
// expert to its list position (-1: absent). Writes the choices to `chosen` (room for k - 1) and
// returns their count, or -1 when a weight is negative or NaN or a choice repeats: the caller
// then sorts. `score` and `at` are scratch of k entries.
int select_fast(const std::vector<int>& list, const int16_t* pos, int num_experts,
                const int32_t* orig, const float* orig_w, int k, int32_t* chosen, double* score,
                int* at) {
  int n = 0;  // picked members: (score, list position), kept sorted (score desc, position asc)
  for (int j = 1; j < k; ++j) {
    if (orig[j] < 0 || orig[j] >= num_experts) return -1;
    const int p = pos[orig[j]];
    if (p < 0) continue;
    const float w = orig_w[j];
    if (!(w >= 0)) return -1;
    for (int q = 0; q < n; ++q)
      if (at[q] == p) return -1;  // a repeated choice: the sort scores it once
    const double sc = 1.0 + w;
    int i = n++;
    for (; i > 0 && (score[i - 1] < sc || (score[i - 1] == sc && at[i - 1] > p)); --i) {
      score[i] = score[i - 1];
      at[i] = at[i - 1];
    }
    score[i] = sc;
    at[i] = p;
  }
  int c = 0;
  for (int q = 0; q < n && c < k - 1; ++q) chosen[c++] = list[at[q]];
  for (size_t p = 0; p < list.size() && c < k - 1; ++p) {
    bool taken = false;
    for (int q = 0; q < n; ++q) taken |= at[q] == static_cast<int>(p);
    if (!taken) chosen[c++] = list[p];
  }
  return c;
}

// Ranks a token's choices by gate weight, descending and stable (insertion sort: the order
// std::stable_sort gives, without its buffer): slot 0 is then the top-1 expert.
void rank_by_weight(std::span<int32_t> ids, std::span<float> ws) {
  for (size_t j = 1; j < ids.size(); ++j) {
    const float w = ws[j];
    const int32_t e = ids[j];
    size_t i = j;
    for (; i > 0 && w > ws[i - 1]; --i) {
      ws[i] = ws[i - 1];
      ids[i] = ids[i - 1];
    }
    ws[i] = w;
    ids[i] = e;
  }
}

// The first k-1 of the scores by sorting the whole list (any weights).
int select_sorted(const std::vector<int>& list, const int32_t* orig, const float* orig_w, int k,
                  int32_t* chosen) {
  std::vector<std::pair<double, int>> scored;
  for (size_t p = 0; p < list.size(); ++p) {
    const auto it = std::find(orig + 1, orig + k, list[p]);
    const double score = it != orig + k ? 1.0 + orig_w[it - orig]
                                        : 1.0 - static_cast<double>(p + 1) / (list.size() + 1.0);
    scored.push_back({score, list[p]});
  }
  std::stable_sort(scored.begin(), scored.end(),
                   [](const auto& a, const auto& b) { return a.first > b.first; });
  int c = 0;
  for (const auto& [score, e] : scored) {
    if (c == k - 1) break;
    chosen[c++] = e;
  }
  return c;
}
}  // namespace

// A token's scratch for the transform (k entries each): its original choices, the chosen k-1
// and their slots.
struct C2rTransform::TokenScratch {
  explicit TokenScratch(int k)
      : orig(k), chosen(k), slot_of(k), orig_w(k), score(k), at(k), slot_used(k) {}
  std::vector<int32_t> orig, chosen, slot_of;
  std::vector<float> orig_w;
  std::vector<double> score;
  std::vector<int> at;
  std::vector<char> slot_used;
};

void C2rTransform::transform_token(int layer, int k, int32_t* ids_p, float* ws_p,
                                   TokenScratch& s) const {
  const size_t E = lists_[layer].size();
  std::span<int32_t> ids(ids_p, static_cast<size_t>(k));
  std::span<float> ws(ws_p, static_cast<size_t>(k));
  rank_by_weight(ids, ws);
  // An out-of-range top-1 (not valid routing: RoutingTrace::validate rejects it) has no list.
  if (ids[0] < 0 || static_cast<size_t>(ids[0]) >= E) return;
  std::copy(ids.begin(), ids.end(), s.orig.begin());
  std::copy(ws.begin(), ws.end(), s.orig_w.begin());
  const auto& list = lists_[layer][s.orig[0]];
  const bool fast = !pos_[layer].empty();
  int n = fast ? select_fast(list, pos_[layer].data() + static_cast<size_t>(s.orig[0]) * E,
                             static_cast<int>(E), s.orig.data(), s.orig_w.data(), k,
                             s.chosen.data(), s.score.data(), s.at.data())
               : -1;
  if (n < 0) n = select_sorted(list, s.orig.data(), s.orig_w.data(), k, s.chosen.data());
  // Too short a list: keep original choices to fill the top-k.
  for (int j = 1; j < k && n < k - 1; ++j)
    if (std::find(s.chosen.data(), s.chosen.data() + n, s.orig[j]) == s.chosen.data() + n)
      s.chosen[n++] = s.orig[j];
  // Kept experts keep their slot and weight; replacements take the freed slots in order. Only
  // the slot a kept expert keeps is used: a choice repeated in two slots (not valid routing)
  // frees the other, so the replacements never run out of slots.
  std::fill(s.slot_used.begin(), s.slot_used.end(), 0);
  for (int c = 0; c < n; ++c) {  // without branches: the last original slot holding it
    int slot = 0;
    for (int j = 1; j < k; ++j) slot = s.orig[j] == s.chosen[c] ? j : slot;
    s.slot_used[slot] = 1;  // slot 0 (none) is the top-1's and never a replacement's
    s.slot_of[c] = slot - (slot == 0);
  }
  int next = 1;
  for (int c = 0; c < n; ++c) {
    if (s.slot_of[c] >= 0) continue;
    while (s.slot_used[next]) ++next;
    s.slot_of[c] = next;
    s.slot_used[next] = 1;
  }
  for (int c = 0; c < n; ++c) ids[s.slot_of[c]] = s.chosen[c];
}

void C2rTransform::apply_layer(int layer, int top_k, std::span<int32_t> experts,
                               std::span<float> weights) const {
  const int k = top_k;
  if (k < 2 || layer >= static_cast<int>(lists_.size())) return;
  const int64_t num_tokens = static_cast<int64_t>(experts.size()) / k;
  TokenScratch s(k);  // allocated once per layer
  for (int64_t t = 0; t < num_tokens; ++t)
    transform_token(layer, k, experts.data() + static_cast<size_t>(t) * k,
                    weights.data() + static_cast<size_t>(t) * k, s);
}

namespace {
constexpr int kMaxFastTopK = 32;

// The transformed choices of one token as a set (any order), without ranking or slots, when
// every choice is a distinct expert in [0, E), every weight is >= 0, the top-1's list (positions
// `pos`, -1 absent) holds at least k-1 members and not the top-1 itself: the top-1 (first
// largest weight, rank_by_weight's slot 0), the other choices found in its list, then the
// first list members not chosen (select_fast's order, whose first k-1 are these). Writes k
// distinct experts to `set` (room for k + 1) and returns how many are new (count_changed_choices),
// or -1 when the token needs transform_token.
int transformed_set(const int32_t* x, const float* w, int k, int E, const int16_t* pos,
                    const std::vector<std::vector<int>>& lists, int32_t* set) {
  int top = 0, bad = 0;
  float w_top = w[0];
  for (int j = 0; j < k; ++j) {  // without branches, as the loops below
    bad |= !(w[j] >= 0) | (x[j] < 0) | (x[j] >= E);
    const bool up = w[j] > w_top;
    top = up ? j : top;
    w_top = up ? w[j] : w_top;
  }
  for (int j = 1; j < k; ++j)
    for (int i = 0; i < j; ++i) bad |= x[i] == x[j];
  if (bad) return -1;
  const int32_t e0 = x[top];
  const std::vector<int>& list = lists[e0];
  const int16_t* p = pos + static_cast<size_t>(e0) * E;
  if (list.size() < static_cast<size_t>(k - 1) || p[e0] >= 0) return -1;
  set[0] = e0;
  int n = 1;
  uint32_t low = 0;              // list positions below k - 1 held by a chosen member
  for (int j = 0; j < k; ++j) {  // the top-1 is not in its list (p[e0] < 0)
    const int q = p[x[j]];
    const int member = q >= 0;
    set[n] = x[j];
    n += member;
    low |= static_cast<uint32_t>(member & (q < k - 1)) << (q & 31);
  }
  const int fill = k - n;
  for (int q = 0, f = 0; q < k - 1; ++q) {  // the first `fill` positions not held
    const int take = !(low >> q & 1) & (f < fill);
    set[n] = list[q];
    n += take;
    f += take;
  }
  return fill;
}
}  // namespace

int64_t C2rTransform::count_layer(int layer, int top_k, std::span<const int32_t> experts,
                                  std::span<const float> weights, int num_ranks, int num_experts,
                                  ExpertCounts& out) const {
  const int k = top_k, R = num_ranks, E = num_experts;
  if (k < 2 || k > kMaxFastTopK || layer >= static_cast<int>(lists_.size()) ||
      lists_[layer].size() != static_cast<size_t>(E) || pos_[layer].empty() ||
      weights.size() != experts.size())
    return RouteTransform::count_layer(layer, top_k, experts, weights, num_ranks, num_experts, out);
  const int64_t T = static_cast<int64_t>(experts.size()) / k;
  out.reset(R, E, T);
  const int16_t* pos = pos_[layer].data();
  int64_t* choices = out.choices.data();
  int64_t changed = 0;
  int32_t set[kMaxFastTopK + 1];
  TokenScratch s(k);
  std::vector<int32_t> ids(k);
  std::vector<float> ws(k);
  for (int owner = 0; owner < R; ++owner) {
    int32_t* row = out.owner_tokens.data() + static_cast<size_t>(owner) * E;
    const int64_t end = token_begin(owner + 1, T, R);
    for (int64_t t = token_begin(owner, T, R); t < end; ++t) {
      const int32_t* x = experts.data() + static_cast<size_t>(t) * k;
      const float* w = weights.data() + static_cast<size_t>(t) * k;
      const int fresh = transformed_set(x, w, k, E, pos, lists_[layer], set);
      if (fresh >= 0) {
        changed += fresh;
        for (int j = 0; j < k; ++j) {
          ++row[set[j]];
          ++choices[set[j]];
        }
        continue;
      }
      std::copy(x, x + k, ids.begin());
      std::copy(w, w + k, ws.begin());
      transform_token(layer, k, ids.data(), ws.data(), s);
      for (int j = 0; j < k; ++j) {  // count_experts: a token's expert once per owner row
        ++choices[ids[j]];
        row[ids[j]] += std::find(ids.begin(), ids.begin() + j, ids[j]) == ids.begin() + j;
      }
      changed += count_changed_choices({x, static_cast<size_t>(k)}, ids, k);
    }
  }
  return changed;
}

Placement collaboration_grouping(const PlacementInput& in,
                                 const std::vector<std::vector<std::vector<int>>>& lists) {
  const int E = in.model.num_experts;
  return placement::grouped_placement(in, [&](int l, std::vector<double> A) {
    std::vector<double> W(A.size(), 0.0);
    for (int e = 0; e < E; ++e)
      for (int j : lists[l][e]) {
        W[static_cast<size_t>(e) * E + j] = A[static_cast<size_t>(e) * E + j];
        W[static_cast<size_t>(j) * E + e] = A[static_cast<size_t>(j) * E + e];
      }
    return W;
  });
}

std::vector<OptionSpec> c2r_options(const std::string& top_t_description) {
  return placement::with_grouping_options(
      {{"top_t", OptionType::kInt, int64_t{0}, top_t_description, {}, 0, 1 << 20}});
}

int c2r_top_t(const PlacementInput& in) {
  const int E = in.model.num_experts;
  int T = static_cast<int>(in.options.get_int("top_t"));
  if (T <= 0) T = std::max(in.model.top_k - 1, (E + 1) / 2);
  return std::min(T, E - 1);
}

}  // namespace moeb
