// optimal: minimizes a named objective (core/objective.hpp) on the calibration tokens directly.
// Starts, per layer, from the best placement among the other registered strategies (those that
// keep the model's routing) and improves it by simulated annealing: swaps of two experts'
// replicas between ranks, moves of a replica to a free slot, added and dropped replicas, each
// evaluated exactly and incrementally (only the tokens that chose a changed expert are
// re-routed). Iteration budgets make the result a function of the seed; the time limit is only
// a cap (a run that reaches it depends on the machine's speed).
#include <algorithm>
#include <chrono>
#include <cmath>
#include <functional>
#include <sstream>

#include "core/cost_model.hpp"
#include "core/error.hpp"
#include "core/objective.hpp"
#include "core/rng.hpp"
#include "placement/common.hpp"
#include "placement/registry.hpp"
#include "placement/strategy.hpp"

namespace moeb {

namespace {

using Clock = std::chrono::steady_clock;

// One layer's search state: the objective and which experts each rank holds.
class LayerSearch {
 public:
  LayerSearch(LayerObjective& obj, int num_ranks, int slots, uint64_t seed)
      : obj_(obj), R_(num_ranks), slots_(slots), rng_(seed) {
    spare_ = static_cast<int64_t>(slots) * num_ranks > obj_.placement().num_experts();
    used_.assign(R_, 0);
    for (const auto& reps : obj_.placement().replicas)
      for (int r : reps) ++used_[r];
    cur_ = best_ = obj_.value();
    best_lp_ = obj_.placement();
  }

  // Simulated annealing in kCycles cycles, each restarted from the best placement and cooled
  // geometrically from the initial temperature to 1e-4 of it. Progress is the share of
  // `iterations` done or, when that is behind, the share of the time until `deadline` used, so
  // a capped run still cools. Runs until `iterations` or `deadline`; returns the proposals made.
  // Without a deadline, asks `stop` every kStopPoll proposals (a count the seed fixes, the same
  // on every rank) and throws Interrupted when it says yes.
  int64_t run(int64_t iterations, Clock::time_point deadline, const std::function<bool()>& stop) {
    constexpr int64_t kStopPoll = 4096;
    constexpr int kCycles = 4;
    const auto start = Clock::now();
    const bool timed = deadline != Clock::time_point::max();
    const double share_s = timed ? std::chrono::duration<double>(deadline - start).count() : 0;
    const double t0 = initial_temperature();
    double temp = t0;
    int cycle = 0;
    int64_t i = 0;
    for (; i < iterations; ++i) {
      if (!timed && stop && i % kStopPoll == kStopPoll - 1 && stop())
        throw Interrupted("stopped on request while placing");
      if ((i & 63) == 0) {
        const auto now = Clock::now();
        if (now >= deadline) {
          capped_ = true;
          break;
        }
        double progress = static_cast<double>(i) / static_cast<double>(iterations);
        if (share_s > 0)
          progress = std::max(progress, std::chrono::duration<double>(now - start).count() / share_s);
        const double x = std::min(progress, 1.0) * kCycles;
        if (static_cast<int>(x) > cycle && static_cast<int>(x) < kCycles) {
          cycle = static_cast<int>(x);
          restart();
        }
        temp = t0 * std::pow(1e-4, x - std::floor(x));
      }
      step(temp);
    }
    obj_.reset(best_lp_);
    return i;
  }
  double best() const { return best_; }
  bool capped() const { return capped_; }
  const LayerPlacement& best_placement() const { return best_lp_; }

 private:
  const std::vector<int>& reps(int e) const { return obj_.placement().replicas[e]; }
  bool hosts(int e, int r) const {
    const auto& v = reps(e);
    return std::find(v.begin(), v.end(), r) != v.end();
  }

  // Applies new replica lists, remembering the old ones for undo().
  void apply(const LayerObjective::ReplicaChanges& changes) {
    last_.clear();
    for (const auto& [e, ranks] : changes) {
      last_.emplace_back(e, reps(e));
      for (int r : reps(e)) --used_[r];
      for (int r : ranks) ++used_[r];
    }
    obj_.set_replicas(changes);
  }
  void undo() {
    LayerObjective::ReplicaChanges c = std::move(last_);
    apply(c);
  }

  bool propose();
  bool swap_ranks(int r1, int r2);
  bool swap_into(int b, int rb, int ra, int a);
  // One proposal, kept when it does not worsen the objective, else with the Metropolis
  // probability exp(-delta / temp).
  void step(double temp) {
    if (!propose()) return;
    const double v = obj_.value(), d = v - cur_;
    if (d <= 0 || (temp > 0 && rng_.uniform() < std::exp(-d / temp))) {
      cur_ = v;
      if (v < best_) {
        best_ = v;
        best_lp_ = obj_.placement();
      }
    } else {
      undo();
    }
  }
  // The mean worsening of 64 sampled proposals (each undone).
  double initial_temperature() {
    double sum = 0;
    int n = 0;
    for (int i = 0; i < 64; ++i) {
      if (!propose()) continue;
      const double d = obj_.value() - cur_;
      undo();
      if (d > 0) sum += d, ++n;
    }
    return n ? sum / n : 0.0;
  }
  void restart() {
    obj_.reset(best_lp_);
    used_.assign(R_, 0);
    for (const auto& rs : best_lp_.replicas)
      for (int r : rs) ++used_[r];
    cur_ = best_;
  }

  LayerObjective& obj_;
  int R_, slots_;
  bool spare_ = false;  // the budget has slots beyond one copy of each expert
  Rng rng_;
  std::vector<int> used_;
  double cur_ = 0, best_ = 0;
  LayerPlacement best_lp_;
  LayerObjective::ReplicaChanges last_;
  bool capped_ = false;
};

// Moves expert b's replica on rank rb to rank ra: into a free slot, else by swapping with an
// expert c on ra (c != a, c not on rb). False when no such change exists.
bool LayerSearch::swap_into(int b, int rb, int ra, int a) {
  if (ra == rb || hosts(b, ra)) return false;
  std::vector<int> nb = reps(b);
  std::replace(nb.begin(), nb.end(), rb, ra);
  if (used_[ra] < slots_) {
    apply({{b, nb}});
    return true;
  }
  std::vector<int> on_ra;
  const int E = obj_.placement().num_experts();
  for (int c = 0; c < E; ++c)
    if (c != a && c != b && hosts(c, ra) && !hosts(c, rb)) on_ra.push_back(c);
  if (on_ra.empty()) return false;
  const int c = on_ra[rng_.below(on_ra.size())];
  std::vector<int> nc = reps(c);
  std::replace(nc.begin(), nc.end(), ra, rb);
  apply({{b, nb}, {c, nc}});
  return true;
}

// Exchanges the experts of two ranks (an expert on both stays): relabels ranks, which no
// sequence of improving single swaps may reach.
bool LayerSearch::swap_ranks(int r1, int r2) {
  if (r1 == r2) return false;
  LayerObjective::ReplicaChanges ch;
  const int E = obj_.placement().num_experts();
  for (int e = 0; e < E; ++e) {
    const bool on1 = hosts(e, r1), on2 = hosts(e, r2);
    if (on1 == on2) continue;
    std::vector<int> ne = reps(e);
    std::replace(ne.begin(), ne.end(), on1 ? r1 : r2, on1 ? r2 : r1);
    ch.emplace_back(e, std::move(ne));
  }
  if (ch.empty()) return false;
  apply(ch);
  return true;
}

// One random change: co-activation guided (bring one expert of a token next to another) or
// uniform (an expert's replica to a random rank); with spare slots, also added or dropped
// replicas. False when the drawn change was not possible.
bool LayerSearch::propose() {
  const auto& tok = obj_.tokens();
  const int E = obj_.placement().num_experts();
  if (R_ < 2) return false;
  const double u = rng_.uniform();
  if (spare_ && u < 0.1) {  // add a replica
    const int e = static_cast<int>(rng_.below(E));
    const int r = static_cast<int>(rng_.below(R_));
    if (used_[r] >= slots_ || hosts(e, r)) return false;
    std::vector<int> ne = reps(e);
    ne.push_back(r);
    apply({{e, ne}});
    return true;
  }
  if (spare_ && u < 0.2) {  // drop a replica
    const int e = static_cast<int>(rng_.below(E));
    if (reps(e).size() < 2) return false;
    std::vector<int> ne = reps(e);
    ne.erase(ne.begin() + static_cast<int64_t>(rng_.below(ne.size())));
    apply({{e, ne}});
    return true;
  }
  if (u < 0.3) return swap_ranks(static_cast<int>(rng_.below(R_)), static_cast<int>(rng_.below(R_)));
  if (u < 0.65 && tok.num_tokens() > 0 && tok.top_k > 1) {  // guided
    const int64_t t = static_cast<int64_t>(rng_.below(static_cast<uint64_t>(tok.num_tokens())));
    const int k = tok.top_k;
    const int ja = static_cast<int>(rng_.below(k));
    const int jb = (ja + 1 + static_cast<int>(rng_.below(k - 1))) % k;
    const int a = tok.experts[t * k + ja], b = tok.experts[t * k + jb];
    if (a == b) return false;
    const int ra = reps(a)[rng_.below(reps(a).size())];
    const int rb = reps(b)[rng_.below(reps(b).size())];
    return swap_into(b, rb, ra, a);
  }
  const int b = static_cast<int>(rng_.below(E));
  const int rb = reps(b)[rng_.below(reps(b).size())];
  const int ra = static_cast<int>(rng_.below(R_));
  return swap_into(b, rb, ra, -1);
}

struct Candidate {
  std::string name;
  Placement placement;
};

// The other strategies' placements (those that keep the model's routing), default options.
std::vector<Candidate> start_candidates(const PlacementInput& in, const std::string& list) {
  std::vector<std::string> names;
  if (list == "best") {
    for (const auto& n : strategy_names())
      if (n != "optimal") names.push_back(n);
  } else {
    std::stringstream ss(list);
    for (std::string n; std::getline(ss, n, ',');)
      if (!n.empty()) names.push_back(n);
  }
  std::vector<Candidate> out;
  for (const auto& n : names) {
    if (n == "optimal")
      throw ConfigError("[strategy.optimal] option start: 'optimal' cannot start itself");
    const PlacementStrategy& s = find_strategy(n, "[strategy.optimal] option start");
    const Options opt = resolve_options(s.spec().options, {}, "[strategy." + n + "]");
    if (s.constraints(in.model, in.topo, in.slots_per_rank, opt)) continue;
    PlacementInput sub{in.model, in.topo, in.stats, in.slots_per_rank,
                       opt,      in.seed,  in.system, in.stop};
    PlacementPlan plan = s.place(sub);
    if (plan.transform) continue;  // changes routing: its placement is for other tokens
    out.push_back({n, std::move(plan.placement)});
  }
  if (out.empty()) throw ConfigError("[strategy.optimal] option start: no start strategy ran");
  return out;
}

class Optimal final : public PlacementStrategy {
 public:
  StrategySpec spec() const override {
    return {"optimal",
            "minimizes a named objective (predicted layer time, inter-node bytes, total bytes or "
            "max rank load) on the calibration tokens, from the best other strategy's placement",
            "ours (issue 14): simulated annealing over replica swaps and moves with exact "
            "incremental evaluation of the evaluator's counts and the cost model",
            {{"objective", OptionType::kString, std::string("auto"),
              "what to minimize, summed over layers: auto = layer_time when the run has a "
              "system model, else inter_node_bytes",
              {"auto", "inter_node_bytes", "total_bytes", "max_rank_load", "layer_time"}},
             {"replica_policy", OptionType::kString, std::string("locality"),
              "replica routing the objective is evaluated (and the run routed) with; stateless "
              "policies only, so that a change re-evaluates only the tokens it affects",
              {"primary", "uniform", "locality"}},
             {"iterations", OptionType::kInt, int64_t{0},
              "proposed changes per layer; 0 = auto: a fixed amount of work per placement, "
              "clamp(4e8 / (layers x 4 T k^2 / E), 200, 10000) with T the tokens counted",
              {}, 0, 1e12},
             {"time_limit_s", OptionType::kFloat, 0.0,
              "cap on the search in seconds, after the start placements; 0 = none (default: the "
              "result is a function of the seed); a run that reaches it depends on the "
              "machine's speed; in a run whose ranks then differ, rank 0's placement is "
              "used (note placement_from)",
              {}, 0, 1e9},
             {"max_tokens", OptionType::kInt, int64_t{16384},
              "calibration tokens the objective counts: a uniform sub-sample of the kept "
              "sample (up to 65536 tokens); 0 = all of it",
              {}, 0, 1e12},
             {"start", OptionType::kString, std::string("best"),
              "start placements: best = every other registered strategy that keeps routing, "
              "per layer the best of them; or a comma-separated list of strategy names",
              {}}},
            /*reads_system=*/true};
  }

  std::optional<std::string> constraints(const ModelSpec& m, const Topology& topo, int slots,
                                         const Options&) const override {
    return placement::check_min_slots(m, topo, slots);
  }

  PlacementPlan place(const PlacementInput& in) const override;
};

ObjectiveConfig objective_config(const PlacementInput& in) {
  ObjectiveConfig cfg;
  const std::string name = in.options.get_string("objective");
  cfg.kind = name == "auto" ? (in.system ? ObjectiveKind::kLayerTime : ObjectiveKind::kInterNodeBytes)
                            : parse_objective(name, "[strategy.optimal] option objective");
  if (cfg.kind == ObjectiveKind::kLayerTime && !in.system)
    throw ConfigError("[strategy.optimal] option objective = layer_time: needs the run's system "
                      "model");
  cfg.policy = parse_replica_policy(in.options.get_string("replica_policy"),
                                    "[strategy.optimal] option replica_policy");
  cfg.seed = in.seed;
  const int64_t row =
      in.system ? in.system->row_bytes(in.model) : static_cast<int64_t>(in.model.hidden) * 2;
  cfg.dispatch_row_bytes = cfg.combine_row_bytes = row;
  cfg.system = in.system;
  cfg.model = &in.model;
  return cfg;
}

// Proposals per layer for a fixed amount of work per placement: a proposal re-routes about
// 2 T k / E tokens of k choices, twice (remove, add) and again when undone.
int64_t auto_iterations(const PlacementInput& in, int64_t max_tokens) {
  constexpr double kWork = 4e8;
  double tokens = static_cast<double>(in.stats.sample_size());
  if (max_tokens > 0) tokens = std::min(tokens, static_cast<double>(max_tokens));
  const double k = in.model.top_k, E = in.model.num_experts, L = in.model.num_layers;
  const double per_proposal = std::max(1.0, 4.0 * tokens * k * k / E);
  return std::clamp<int64_t>(static_cast<int64_t>(kWork / (L * per_proposal)), 200, 10000);
}

std::string fmt(double v) {
  std::ostringstream o;
  o.precision(6);
  o << v;
  return o.str();
}

PlacementPlan Optimal::place(const PlacementInput& in) const {
  const ObjectiveConfig cfg = objective_config(in);
  const auto starts = start_candidates(in, in.options.get_string("start"));
  const double limit = in.options.get_float("time_limit_s");
  const auto deadline = limit > 0 ? Clock::now() + std::chrono::duration_cast<Clock::duration>(
                                                       std::chrono::duration<double>(limit))
                                  : Clock::time_point::max();
  const int R = in.topo.num_ranks(), E = in.model.num_experts, L = in.model.num_layers;
  const int64_t max_tokens = in.options.get_int("max_tokens");
  int64_t iters = in.options.get_int("iterations");
  if (iters == 0) iters = auto_iterations(in, max_tokens);

  PlacementPlan plan;
  plan.policy.kind = cfg.policy;
  plan.placement.num_ranks = R;
  std::vector<int> started_from(starts.size(), 0);
  double v_start = 0, v_end = 0;
  int64_t done = 0;
  bool capped = false;
  for (int l = 0; l < L; ++l) {
    if (in.stop && in.stop()) throw Interrupted("stopped on request while placing");
    LayerObjective obj(cfg, in.topo, E, sample_layer_tokens(in.stats, l, R, in.seed, max_tokens));
    size_t best = 0;
    double best_v = 0;
    for (size_t c = 0; c < starts.size(); ++c) {
      obj.reset(starts[c].placement.layers[l]);
      if (const double v = obj.value(); c == 0 || v < best_v) best = c, best_v = v;
    }
    ++started_from[best];
    obj.reset(starts[best].placement.layers[l]);
    const auto now = Clock::now();
    const auto share = deadline == Clock::time_point::max()
                           ? Clock::time_point::max()
                           : now + (deadline > now ? (deadline - now) / (L - l) : Clock::duration{});
    LayerSearch search(obj, R, in.slots_per_rank, hash_counters(in.seed, 0x0971, l));
    // Without per-token calibration data every placement scores 0: keep the start.
    if (in.stats.sample_size() > 0) done += search.run(iters, share, in.stop);
    capped = capped || search.capped();
    v_start += best_v;
    v_end += search.best();
    plan.placement.layers.push_back(search.best_placement());
  }
  std::string from;
  for (size_t c = 0; c < starts.size(); ++c)
    if (started_from[c]) from += (from.empty() ? "" : ",") + starts[c].name + ":" + std::to_string(started_from[c]);
  plan.notes = {{"objective", to_string(cfg.kind)},
                {"objective_unit", objective_unit(cfg.kind)},
                {"objective_start", fmt(v_start)},
                {"objective_end", fmt(v_end)},
                {"started_from", from},
                {"iterations_done", std::to_string(done)},
                {"time_capped", capped ? "1" : "0"},
                {"sample_tokens", std::to_string(in.stats.sample_size())}};
  return plan;
}

}  // namespace

std::unique_ptr<PlacementStrategy> make_optimal() { return std::make_unique<Optimal>(); }

}  // namespace moeb
