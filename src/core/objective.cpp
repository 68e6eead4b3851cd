#include "core/objective.hpp"

#include <algorithm>
#include <bit>
#include <functional>
#include <limits>

#include "core/error.hpp"
#include "core/rng.hpp"
#include "core/routing.hpp"

namespace moeb {

namespace {
constexpr ObjectiveKind kKinds[] = {ObjectiveKind::kInterNodeBytes, ObjectiveKind::kTotalBytes,
                                    ObjectiveKind::kMaxRankLoad, ObjectiveKind::kLayerTime};
}

std::span<const ObjectiveKind> objective_kinds() { return kKinds; }

const char* to_string(ObjectiveKind k) {
  switch (k) {
    case ObjectiveKind::kInterNodeBytes: return "inter_node_bytes";
    case ObjectiveKind::kTotalBytes: return "total_bytes";
    case ObjectiveKind::kMaxRankLoad: return "max_rank_load";
    case ObjectiveKind::kLayerTime: return "layer_time";
  }
  return "?";
}

const char* objective_unit(ObjectiveKind k) {
  switch (k) {
    case ObjectiveKind::kMaxRankLoad: return "rows";
    case ObjectiveKind::kLayerTime: return "s";
    default: return "bytes";
  }
}

ObjectiveKind parse_objective(const std::string& s, const std::string& where) {
  for (auto k : kKinds)
    if (s == to_string(k)) return k;
  throw ConfigError(where + ": expected one of inter_node_bytes, total_bytes, max_rank_load, "
                            "layer_time; got '" + s + "'");
}

bool stateless_policy(ReplicaPolicyKind k) {
  return k == ReplicaPolicyKind::kPrimary || k == ReplicaPolicyKind::kUniform ||
         k == ReplicaPolicyKind::kLocality;
}

void LayerTokens::append_batch(const RoutingTrace& batch, int layer, int num_ranks, uint64_t seed,
                               int64_t batch_index) {
  top_k = batch.top_k();
  const int64_t T = batch.num_tokens();
  for (int64_t t = 0; t < T; ++t) {
    owner.push_back(owner_of_token(t, T, num_ranks));
    auto ids = batch.experts(layer, t);
    for (int j = 0; j < top_k; ++j) {
      experts.push_back(ids[j]);
      route_hash.push_back(hash_counters(seed, static_cast<uint64_t>(layer),
                                         static_cast<uint64_t>(batch_index),
                                         static_cast<uint64_t>(t), static_cast<uint64_t>(j)));
    }
  }
}

namespace {
// Indices of the sample to use: all, or the max_tokens with the smallest hash, ascending.
std::vector<size_t> sample_indices(const RoutingStats& stats, int64_t max_tokens) {
  const size_t n = stats.sample_size();
  std::vector<size_t> idx(n);
  for (size_t i = 0; i < n; ++i) idx[i] = i;
  if (max_tokens <= 0 || static_cast<size_t>(max_tokens) >= n) return idx;
  auto key = [&](size_t i) {
    const auto& s = stats.sample_token(i);
    return hash_counters(0x0B7E, static_cast<uint64_t>(s.batch_index),
                         static_cast<uint64_t>(s.position));
  };
  std::vector<std::pair<uint64_t, size_t>> keyed(n);
  for (size_t i = 0; i < n; ++i) keyed[i] = {key(i), i};
  std::nth_element(keyed.begin(), keyed.begin() + max_tokens, keyed.end());
  idx.clear();
  for (int64_t j = 0; j < max_tokens; ++j) idx.push_back(keyed[j].second);
  std::sort(idx.begin(), idx.end());
  return idx;
}
}  // namespace

LayerTokens sample_layer_tokens(const RoutingStats& stats, int layer, int num_ranks,
                                uint64_t seed, int64_t max_tokens) {
  LayerTokens out;
  out.top_k = stats.sample_top_k();
  const std::vector<size_t> use = sample_indices(stats, max_tokens);
  const size_t n = use.size();
  out.owner.reserve(n);
  out.experts.reserve(n * out.top_k);
  out.route_hash.reserve(n * out.top_k);
  for (size_t i : use) {
    const auto& s = stats.sample_token(i);
    out.owner.push_back(owner_of_token(s.position, s.batch_tokens, num_ranks));
    auto ids = stats.sample_experts(i, layer);
    for (int j = 0; j < out.top_k; ++j) {
      out.experts.push_back(ids[j]);
      out.route_hash.push_back(hash_counters(seed, static_cast<uint64_t>(layer),
                                             static_cast<uint64_t>(s.batch_index),
                                             static_cast<uint64_t>(s.position),
                                             static_cast<uint64_t>(j)));
    }
  }
  return out;
}

int route_choice(const std::vector<int>& reps, ReplicaPolicyKind policy, const Topology& topo,
                 int owner, uint64_t hash) {
  if (reps.size() == 1 || policy == ReplicaPolicyKind::kPrimary) return reps[0];
  if (policy == ReplicaPolicyKind::kUniform) return reps[bounded(hash, reps.size())];
  // Locality: own rank, else a draw among same-node replicas, else among all.
  size_t local = 0;
  for (int r : reps) {
    if (r == owner) return r;
    if (topo.same_node(r, owner)) ++local;
  }
  if (local == 0) return reps[bounded(hash, reps.size())];
  size_t pick = bounded(hash, local);
  for (int r : reps)
    if (topo.same_node(r, owner) && pick-- == 0) return r;
  return reps[0];
}

LayerObjective::LayerObjective(const ObjectiveConfig& cfg, const Topology& topo, int num_experts,
                               LayerTokens tokens)
    : cfg_(cfg), topo_(&topo), R_(topo.num_ranks()), E_(num_experts), tok_(std::move(tokens)) {
  if (!stateless_policy(cfg_.policy))
    throw Error(std::string("objective: replica policy '") + to_string(cfg_.policy) +
                "' routes with state; use primary, uniform or locality");
  if (cfg_.kind == ObjectiveKind::kLayerTime && (!cfg_.system || !cfg_.model))
    throw Error("objective layer_time needs a system model and a model spec");
  const int k = tok_.top_k;
  const int64_t T = tok_.num_tokens();
  tok_begin_.assign(E_ + 1, 0);
  auto first_of = [&](int64_t t, int j) {  // true for the first occurrence of an id in a token
    for (int i = 0; i < j; ++i)
      if (tok_.experts[t * k + i] == tok_.experts[t * k + j]) return false;
    return true;
  };
  for (int64_t t = 0; t < T; ++t)
    for (int j = 0; j < k; ++j) {
      const int e = tok_.experts[t * k + j];
      if (e < 0 || e >= E_) throw Error("objective: expert id " + std::to_string(e) + " out of range");
      if (first_of(t, j)) ++tok_begin_[e + 1];
    }
  for (int e = 0; e < E_; ++e) tok_begin_[e + 1] += tok_begin_[e];
  tok_list_.resize(tok_begin_[E_]);
  std::vector<int64_t> fill(tok_begin_.begin(), tok_begin_.end() - 1);
  for (int64_t t = 0; t < T; ++t)
    for (int j = 0; j < k; ++j)
      if (first_of(t, j)) tok_list_[fill[tok_.experts[t * k + j]]++] = t;
  tokens_owned_.assign(R_, 0);
  for (int32_t o : tok_.owner) ++tokens_owned_[o];
  stamp_.assign(T, 0);
}

void LayerObjective::reset(const LayerPlacement& lp) {
  lp_ = lp;
  lp_.replica_weights.clear();
  lp_.predicted_rank_load.clear();
  dest_.assign(tok_.experts.size(), -1);
  rows_.assign(static_cast<size_t>(R_) * R_, 0);
  rows_computed_.assign(R_, 0);
  copies_sent_.assign(R_, 0);
  expert_rows_.assign(static_cast<size_t>(E_) * R_, 0);
  touched_.assign(R_, 0);
  inter_copies_ = off_rank_copies_ = 0;
  for (int64_t t = 0; t < tok_.num_tokens(); ++t) add_token(t);
}

void LayerObjective::bump_row(int owner, int dest, int64_t by) {
  rows_[static_cast<size_t>(owner) * R_ + dest] += by;
  copies_sent_[owner] += by;
  if (owner != dest) off_rank_copies_ += by;
  if (!topo_->same_node(owner, dest)) inter_copies_ += by;
}

void LayerObjective::bump_expert(int e, int dest, int64_t by) {
  int64_t& v = expert_rows_[static_cast<size_t>(e) * R_ + dest];
  if (v == 0 && by > 0) ++touched_[dest];
  v += by;
  if (v == 0) --touched_[dest];
  rows_computed_[dest] += by;
}

void LayerObjective::add_token(int64_t t) {
  const int k = tok_.top_k;
  const int o = tok_.owner[t];
  const size_t base = static_cast<size_t>(t) * k;
  for (int j = 0; j < k; ++j) {
    const int e = tok_.experts[base + j];
    const int d = route_choice(lp_.replicas[e], cfg_.policy, *topo_, o, tok_.route_hash[base + j]);
    dest_[base + j] = d;
    bump_expert(e, d, 1);
    bool seen = false;
    for (int i = 0; i < j; ++i) seen = seen || dest_[base + i] == d;
    if (!seen) bump_row(o, d, 1);
  }
}

void LayerObjective::remove_token(int64_t t) {
  const int k = tok_.top_k;
  const int o = tok_.owner[t];
  const size_t base = static_cast<size_t>(t) * k;
  for (int j = 0; j < k; ++j) {
    const int d = dest_[base + j];
    bump_expert(tok_.experts[base + j], d, -1);
    bool seen = false;
    for (int i = 0; i < j; ++i) seen = seen || dest_[base + i] == d;
    if (!seen) bump_row(o, d, -1);
  }
}

void LayerObjective::set_replicas(const ReplicaChanges& changes) {
  if (++epoch_ == 0) {
    std::fill(stamp_.begin(), stamp_.end(), 0);
    epoch_ = 1;
  }
  thread_local std::vector<int64_t> affected;
  affected.clear();
  for (const auto& [e, ranks] : changes) {
    for (int64_t i = tok_begin_[e]; i < tok_begin_[e + 1]; ++i) {
      const int64_t t = tok_list_[i];
      if (stamp_[t] == epoch_) continue;
      stamp_[t] = epoch_;
      affected.push_back(t);
    }
  }
  for (int64_t t : affected) remove_token(t);
  for (const auto& [e, ranks] : changes) lp_.replicas[e] = ranks;
  for (int64_t t : affected) add_token(t);
}

double LayerObjective::layer_time() const {
  LayerCostInput in;
  in.dispatch_row_bytes = cfg_.dispatch_row_bytes;
  in.combine_row_bytes = cfg_.combine_row_bytes;
  in.dispatch_hops.push_back(phase_traffic(rows_, *topo_, cfg_.dispatch_row_bytes, false));
  in.combine_hops.push_back(phase_traffic(rows_, *topo_, cfg_.combine_row_bytes, true));
  in.rows_computed = rows_computed_;
  in.tokens_owned = tokens_owned_;
  in.copies_sent = copies_sent_;
  in.experts_touched = touched_;
  return predict_layer(*cfg_.system, *cfg_.model, *topo_, in).t_layer;
}

double LayerObjective::value() const {
  const double row = static_cast<double>(cfg_.dispatch_row_bytes + cfg_.combine_row_bytes);
  switch (cfg_.kind) {
    case ObjectiveKind::kInterNodeBytes: return static_cast<double>(inter_copies_) * row;
    case ObjectiveKind::kTotalBytes: return static_cast<double>(off_rank_copies_) * row;
    case ObjectiveKind::kMaxRankLoad:
      return static_cast<double>(*std::max_element(rows_computed_.begin(), rows_computed_.end()));
    case ObjectiveKind::kLayerTime: return layer_time();
  }
  return 0;
}

// ---------------------------------------------------------------------------------------------
// Exact solvers for small problems.

namespace {

struct DpTables {
  int E = 0, R = 0;
  std::vector<uint32_t> token_mask;  // [T] experts of each token as a bit mask
};

// cost[A] for every subset A of experts placed on rank r (sum objectives): the bytes of the
// copies sent to r, i.e. sum over tokens with weight w(t, r) that choose an expert of A.
std::vector<double> rank_subset_costs(const ObjectiveConfig& cfg, const Topology& topo,
                                      const LayerTokens& tok, const DpTables& d, int r) {
  const size_t n = size_t{1} << d.E;
  std::vector<double> h(n, 0.0);
  double total = 0;
  for (int64_t t = 0; t < tok.num_tokens(); ++t) {
    const int o = tok.owner[t];
    const bool counts = cfg.kind == ObjectiveKind::kInterNodeBytes ? !topo.same_node(o, r) : o != r;
    if (!counts) continue;
    h[d.token_mask[t]] += 1.0;
    total += 1.0;
  }
  // Zeta transform: h[X] = tokens whose mask is a subset of X.
  for (int b = 0; b < d.E; ++b)
    for (size_t x = 0; x < n; ++x)
      if (x & (size_t{1} << b)) h[x] += h[x ^ (size_t{1} << b)];
  const double row = static_cast<double>(cfg.dispatch_row_bytes + cfg.combine_row_bytes);
  std::vector<double> cost(n);
  for (size_t a = 0; a < n; ++a) cost[a] = (total - h[(n - 1) & ~a]) * row;
  return cost;
}

std::vector<double> rank_subset_loads(const LayerTokens& tok, const DpTables& d) {
  const size_t n = size_t{1} << d.E;
  std::vector<double> load(d.E, 0.0), cost(n, 0.0);
  for (int32_t e : tok.experts) load[e] += 1.0;
  for (size_t a = 1; a < n; ++a) cost[a] = cost[a & (a - 1)] + load[std::countr_zero(a)];
  return cost;
}

// Calls f(A) for every subset A of `free` with at most `k` bits.
void small_subsets(uint32_t free, int k, const std::function<void(uint32_t)>& f) {
  std::vector<int> bits;
  for (int b = 0; b < 32; ++b)
    if (free & (1u << b)) bits.push_back(b);
  std::function<void(size_t, int, uint32_t)> rec = [&](size_t from, int left, uint32_t acc) {
    f(acc);
    if (left == 0) return;
    for (size_t i = from; i < bits.size(); ++i) rec(i + 1, left - 1, acc | (1u << bits[i]));
  };
  rec(0, k, 0);
}

}  // namespace

ExactResult exact_single_copy(const ObjectiveConfig& cfg, const Topology& topo, int num_experts,
                              int slots, const LayerTokens& tokens) {
  const int E = num_experts, R = topo.num_ranks();
  if (E > 16 || R > 16 || cfg.kind == ObjectiveKind::kLayerTime)
    throw Error("exact_single_copy: needs <= 16 experts, <= 16 ranks and an additive objective");
  if (slots * R < E) throw Error("exact_single_copy: the slots cannot hold every expert");
  DpTables d{E, R, std::vector<uint32_t>(tokens.num_tokens(), 0)};
  for (int64_t t = 0; t < tokens.num_tokens(); ++t)
    for (int j = 0; j < tokens.top_k; ++j) d.token_mask[t] |= 1u << tokens.experts[t * tokens.top_k + j];
  const size_t n = size_t{1} << E;
  const double inf = std::numeric_limits<double>::infinity();
  const bool is_max = cfg.kind == ObjectiveKind::kMaxRankLoad;
  std::vector<double> f(n, inf), g(n);
  f[0] = 0;
  std::vector<std::vector<uint32_t>> choice(R, std::vector<uint32_t>(n, 0));
  for (int r = 0; r < R; ++r) {
    const auto cost = is_max ? rank_subset_loads(tokens, d) : rank_subset_costs(cfg, topo, tokens, d, r);
    std::fill(g.begin(), g.end(), inf);
    const int left_after = (R - r - 1) * slots;
    for (size_t s = 0; s < n; ++s) {
      if (f[s] == inf) continue;
      small_subsets(static_cast<uint32_t>((n - 1) & ~s), slots, [&](uint32_t a) {
        const size_t next = s | a;
        if (E - std::popcount(next) > left_after) return;
        const double v = is_max ? std::max(f[s], cost[a]) : f[s] + cost[a];
        if (v < g[next]) {
          g[next] = v;
          choice[r][next] = a;
        }
      });
    }
    f.swap(g);
  }
  ExactResult out;
  out.value = f[n - 1];
  out.placement.replicas.assign(E, {});
  size_t s = n - 1;
  for (int r = R - 1; r >= 0; --r) {
    const uint32_t a = choice[r][s];
    for (int e = 0; e < E; ++e)
      if (a & (1u << e)) out.placement.replicas[e] = {r};
    s &= ~static_cast<size_t>(a);
  }
  return out;
}

ExactResult enumerate_single_copy(const ObjectiveConfig& cfg, const Topology& topo,
                                  int num_experts, int slots, const LayerTokens& tokens) {
  const int E = num_experts, R = topo.num_ranks();
  if (E > 10 || R > 8) throw Error("enumerate_single_copy: needs <= 10 experts and <= 8 ranks");
  LayerObjective obj(cfg, topo, E, tokens);
  LayerPlacement lp;
  lp.replicas.assign(E, {0});
  std::vector<int> used(R, 0);
  ExactResult best;
  best.value = std::numeric_limits<double>::infinity();
  std::function<void(int)> rec = [&](int e) {
    if (e == E) {
      obj.reset(lp);
      if (const double v = obj.value(); v < best.value) best = {lp, v};
      return;
    }
    for (int r = 0; r < R; ++r) {
      if (used[r] >= slots) continue;
      ++used[r];
      lp.replicas[e] = {r};
      rec(e + 1);
      --used[r];
    }
  };
  rec(0);
  return best;
}

}  // namespace moeb
