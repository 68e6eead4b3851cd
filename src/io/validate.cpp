#include "io/validate.hpp"

#include <cmath>
#include <map>
#include <set>

#include "core/error.hpp"
#include "core/limits.hpp"
#include "core/results.hpp"
#include "platform/h5.hpp"
#include "platform/h5_guard.hpp"
#include "io/results_file.hpp"
#include "io/root_attributes.hpp"

namespace moeb {

namespace {

using h5::Handle;

// Collects failures; a (dataset, rule) pair broken many times is one line with a count.
class Failures {
 public:
  void add(const std::string& where, int rule, const std::string& rule_name,
           const std::string& what) {
    const std::string key = where + "#" + std::to_string(rule);
    auto it = index_.find(key);
    if (it != index_.end()) {
      ++counts_[it->second];
      return;
    }
    index_[key] = lines_.size();
    lines_.push_back(where + ": rule " + std::to_string(rule) + " (" + rule_name + "): " + what);
    counts_.push_back(0);
  }
  std::vector<std::string> lines() const {
    std::vector<std::string> out;
    for (size_t i = 0; i < lines_.size(); ++i)
      out.push_back(counts_[i] ? lines_[i] + " (and " + std::to_string(counts_[i]) + " more)"
                               : lines_[i]);
    return out;
  }

 private:
  std::map<std::string, size_t> index_;
  std::vector<std::string> lines_;
  std::vector<size_t> counts_;
};

std::string at(size_t i, size_t l) {
  return "iteration " + std::to_string(i) + " layer " + std::to_string(l);
}

struct RootInfo {
  int64_t num_ranks = -1, num_layers = -1, num_experts = -1, top_k = -1, slots_per_rank = 0;
  int64_t dispatch_row_bytes = 0, combine_row_bytes = 0;
};

int64_t int_attr_or(hid_t obj, const char* name, int64_t fallback) {
  if (!h5::has_attr(obj, name) || h5::attr_class(obj, name) != h5::AttrClass::kInt) return fallback;
  return h5::read_attr_int(obj, name);
}

// The measured cubes of a strategy read back, [I, L, R] each, and batch_tokens [I].
struct Measured {
  size_t I = 0, L = 0, R = 0;
  std::map<std::string, std::vector<int64_t>> c;
  std::map<std::string, std::vector<double>> t;
  std::vector<int64_t> batch_tokens;
  size_t idx(size_t i, size_t l, size_t r) const { return (i * L + l) * R + r; }
  int64_t sum(const std::string& n, size_t i, size_t l) const {
    const int64_t* v = c.at(n).data() + idx(i, l, 0);
    int64_t s = 0;
    for (size_t r = 0; r < R; ++r) s += v[r];
    return s;
  }
};

// The cubes the per-rank rule reads, looked up once per strategy (not per rank): the byte
// counts with their row size, every time, and t_layer with the phases it bounds.
struct RankCubes {
  struct Bytes {
    const std::string* name;
    const int64_t* v;
    int64_t row;
  };
  std::vector<Bytes> bytes;
  std::vector<std::pair<const std::string*, const double*>> times;
  std::vector<std::pair<const char*, const double*>> phases;
  const double* layer = nullptr;
};

class Validator {
 public:
  Validator(hid_t file, Failures& f) : file_(file), f_(f) {}
  int run();

 private:
  void check_root();
  void check_strategy(hid_t strategies, const std::string& name);
  void check_placement(hid_t g, const std::string& base);
  hsize_t placement_columns(hid_t p, const std::string& pbase);
  void check_measured(hid_t g, const std::string& base);
  bool read_measured(hid_t m, const std::string& mbase, Measured& out);
  void check_measured_point(const std::string& mbase, const Measured& d, const RankCubes& q,
                            size_t i, size_t l);
  RankCubes rank_cubes(const Measured& d) const;
  void check_measured_rank(const std::string& mbase, const RankCubes& q, size_t x, size_t i,
                           size_t l, size_t r);
  void check_failed(hid_t g, const std::string& base);
  void check_cells();
  bool enter_cell(hid_t g, const std::string& name, const std::string& base);

  hid_t file_;
  Failures& f_;
  RootInfo root_, file_root_;  // root_: the strategy's cell's (the file's without a sweep)
  std::set<std::string> cells_;
};

void Validator::check_root() {
  for (const auto& a : root_attributes()) {
    if (!a.required) continue;
    const std::string where = "/ attribute '" + std::string(a.name) + "'";
    if (!h5::has_attr(file_, a.name)) {
      f_.add(where, 2, "required root attribute", "missing");
      continue;
    }
    const auto c = h5::attr_class(file_, a.name);
    const bool ok =
        (a.type == AttrType::kString && c == h5::AttrClass::kString) ||
        (a.type == AttrType::kInt && c == h5::AttrClass::kInt) ||
        (a.type == AttrType::kFloat && (c == h5::AttrClass::kFloat || c == h5::AttrClass::kInt));
    if (!ok) f_.add(where, 2, "required root attribute", "has the wrong type");
  }
  if (h5::has_attr(file_, "status") && h5::attr_class(file_, "status") == h5::AttrClass::kString) {
    const std::string s = h5::read_attr_str(file_, "status");
    if (!parse_run_status(s))
      f_.add("/ attribute 'status'", 2, "required root attribute",
             "'" + s + "' is not running, complete, interrupted or failed");
  }
  auto bounded = [&](const char* name, int64_t max) -> int64_t {
    const int64_t v = int_attr_or(file_, name, -1);
    if (v == -1) return -1;
    if (v >= 1 && v <= max) return v;
    f_.add(std::string("/ attribute '") + name + "'", 2, "required root attribute",
           std::to_string(v) + " outside [1, " + std::to_string(max) + "] (documented limit)");
    return -1;  // strategies are not checked against it
  };
  root_.num_ranks = bounded("num_ranks", limits::kMaxRanks);
  root_.num_layers = bounded("num_layers", limits::kMaxLayers);
  root_.num_experts = bounded("num_experts", limits::kMaxExperts);
  root_.top_k = bounded("top_k", limits::kMaxTopK);
  root_.slots_per_rank = int_attr_or(file_, "slots_per_rank", 0);
  root_.dispatch_row_bytes = int_attr_or(file_, "dispatch_row_bytes", 0);
  root_.combine_row_bytes = int_attr_or(file_, "combine_row_bytes", 0);
}

// The placement datasets' shapes against the root attributes and limits; K (replica columns),
// or 0 after recording a failure.
hsize_t Validator::placement_columns(hid_t p, const std::string& pbase) {
  Handle drep = h5::open_dataset(p, "replicas");
  Handle dnum = h5::open_dataset(p, "num_replicas");
  Handle dslots = h5::open_dataset(p, "slots_used");
  const auto rd = h5::dataset_dims(drep), nd = h5::dataset_dims(dnum),
             sd = h5::dataset_dims(dslots);
  const auto L = static_cast<hsize_t>(root_.num_layers),
             E = static_cast<hsize_t>(root_.num_experts);
  const auto R = static_cast<hsize_t>(root_.num_ranks);
  if (rd.size() != 3 || rd[0] != L || rd[1] != E || rd[2] < 1 || rd[2] > R) {
    f_.add(pbase + "/replicas", 4, "placement shape",
           "expected [L, E, K] with L = num_layers, E = num_experts, 1 <= K <= num_ranks");
    return 0;
  }
  if (!product_within(static_cast<int64_t>(L * E), static_cast<int64_t>(rd[2]),
                      limits::kMaxDatasetElements)) {
    f_.add(pbase + "/replicas", 4, "placement shape",
           "more than the documented limit of " + std::to_string(limits::kMaxDatasetElements) +
               " elements");
    return 0;
  }
  if (nd != std::vector<hsize_t>{L, E}) {
    f_.add(pbase + "/num_replicas", 4, "placement shape", "expected [L, E]");
    return 0;
  }
  if (sd != std::vector<hsize_t>{L, R}) {
    f_.add(pbase + "/slots_used", 4, "placement shape", "expected [L, R] with R = num_ranks");
    return 0;
  }
  return rd[2];
}

void Validator::check_placement(hid_t g, const std::string& base) {
  const std::string pbase = base + "/placement";
  if (!h5::exists(g, "placement")) {
    f_.add(pbase, 4, "placement", "missing");
    return;
  }
  Handle p = h5::open_group(g, "placement");
  for (const char* n : {"replicas", "num_replicas", "slots_used"})
    if (!h5::exists(p, n)) {
      f_.add(pbase + "/" + n, 4, "placement shape", "missing");
      return;
    }
  const hsize_t K = placement_columns(p, pbase);
  if (K == 0) return;
  const auto L = static_cast<hsize_t>(root_.num_layers),
             E = static_cast<hsize_t>(root_.num_experts);
  const auto R = static_cast<hsize_t>(root_.num_ranks);
  const auto rep = h5::read_int32(h5::open_dataset(p, "replicas"));
  const auto num = h5::read_int32(h5::open_dataset(p, "num_replicas"));
  const auto slots = h5::read_int32(h5::open_dataset(p, "slots_used"));
  for (size_t l = 0; l < L; ++l) {
    std::vector<int> hosted(R, 0);
    for (size_t e = 0; e < E; ++e) {
      std::set<int> seen;
      int count = 0;
      for (size_t k = 0; k < K; ++k) {
        const int32_t v = rep[(l * E + e) * K + k];
        if (v < 0) continue;
        ++count;
        if (static_cast<hsize_t>(v) >= R)
          f_.add(pbase + "/replicas", 4, "replica ranks in [0, R)",
                 "layer " + std::to_string(l) + " expert " + std::to_string(e) + " on rank " +
                     std::to_string(v));
        else if (!seen.insert(v).second)
          f_.add(pbase + "/replicas", 4, "replicas on distinct ranks",
                 "layer " + std::to_string(l) + " expert " + std::to_string(e) +
                     " has two replicas on rank " + std::to_string(v));
        else
          ++hosted[v];
      }
      if (count < 1)
        f_.add(pbase + "/replicas", 4, "every expert has >= 1 replica",
               "layer " + std::to_string(l) + " expert " + std::to_string(e) + " has none");
      if (num[l * E + e] != count)
        f_.add(pbase + "/num_replicas", 4, "matches replicas",
               "layer " + std::to_string(l) + " expert " + std::to_string(e) + ": " +
                   std::to_string(num[l * E + e]) + " != " + std::to_string(count));
    }
    for (size_t r = 0; r < R; ++r) {
      const int32_t s = slots[l * R + r];
      if (root_.slots_per_rank > 0 && s > root_.slots_per_rank)
        f_.add(pbase + "/slots_used", 4, "slots_used <= slots_per_rank",
               "layer " + std::to_string(l) + " rank " + std::to_string(r) + " uses " +
                   std::to_string(s) + " > " + std::to_string(root_.slots_per_rank));
      if (s != hosted[r])
        f_.add(pbase + "/slots_used", 4, "matches replicas",
               "layer " + std::to_string(l) + " rank " + std::to_string(r) + ": " +
                   std::to_string(s) + " != " + std::to_string(hosted[r]) + " hosted");
    }
  }
}

void Validator::check_measured(hid_t g, const std::string& base) {
  const std::string mbase = base + "/measured";
  if (!h5::exists(g, "measured")) {
    f_.add(mbase, 4, "measured datasets", "missing for a complete strategy");
    return;
  }
  Handle m = h5::open_group(g, "measured");
  Measured d;
  if (!read_measured(m, mbase, d)) return;
  const RankCubes q = rank_cubes(d);
  for (size_t i = 0; i < d.I; ++i)
    for (size_t l = 0; l < d.L; ++l) check_measured_point(mbase, d, q, i, l);
}

// Rule 4 for the measured group: every cube present, shaped [I, L, R], with units, within the
// documented limits; reads them into `out`. False when any is missing or misshaped.
bool Validator::read_measured(hid_t m, const std::string& mbase, Measured& out) {
  const auto L = static_cast<hsize_t>(root_.num_layers), R = static_cast<hsize_t>(root_.num_ranks);
  hsize_t I = 0;  // iterations: from tokens_owned, else batch_tokens
  for (const char* n : {"batch_tokens", "tokens_owned"})
    if (h5::exists(m, n)) {
      const auto d = h5::dataset_dims(h5::open_dataset(m, n));
      if (!d.empty()) I = d[0];
    }
  if (I > static_cast<hsize_t>(limits::kMaxResultIterations) ||
      !product_within(static_cast<int64_t>(I), static_cast<int64_t>(L * R),
                      limits::kMaxDatasetElements)) {
    f_.add(mbase + "/batch_tokens", 4, "measured datasets",
           std::to_string(I) + " iterations: more than the documented limits (" +
               std::to_string(limits::kMaxResultIterations) + " iterations, " +
               std::to_string(limits::kMaxDatasetElements) + " elements per dataset)");
    return false;
  }
  bool shapes_ok = true;
  auto check_shape = [&](const std::string& n, std::vector<hsize_t> want) -> bool {
    if (!h5::exists(m, n)) {
      f_.add(mbase + "/" + n, 4, "measured datasets", "missing");
      return false;
    }
    Handle d = h5::open_dataset(m, n);
    if (h5::dataset_dims(d) != want) {
      std::string shape;
      for (auto x : want) shape += (shape.empty() ? "" : ", ") + std::to_string(x);
      f_.add(mbase + "/" + n, 4, "measured datasets", "expected shape [" + shape + "]");
      return false;
    }
    if (!h5::has_attr(d, "units"))
      f_.add(mbase + "/" + n, 4, "measured datasets", "no 'units' attribute");
    return true;
  };
  shapes_ok &= check_shape("batch_index", {I});
  shapes_ok &= check_shape("batch_tokens", {I});
  for (const auto& n : count_metric_names())
    if (check_shape(n, {I, L, R}))
      out.c[n] = h5::read_int64(h5::open_dataset(m, n));
    else
      shapes_ok = false;
  for (const auto& n : time_metric_names())
    if (check_shape(n, {I, L, R}))
      out.t[n] = h5::read_double(h5::open_dataset(m, n));
    else
      shapes_ok = false;
  if (!shapes_ok) return false;
  out.batch_tokens = h5::read_int64(h5::open_dataset(m, "batch_tokens"));
  out.I = I;
  out.L = L;
  out.R = R;
  return true;
}

// Rules 5 (conservation), 6 (rows and tokens) and 7 (bytes, times) at one (iteration, layer).
void Validator::check_measured_point(const std::string& mbase, const Measured& d,
                                     const RankCubes& q, size_t i, size_t l) {
  for (const char* kind : {"intra", "inter", "intra_combine", "inter_combine"}) {
    const std::string sent = std::string("bytes_sent_") + kind;
    const std::string recv = std::string("bytes_recv_") + kind;
    const int64_t s = d.sum(sent, i, l), rcv = d.sum(recv, i, l);
    if (s != rcv)
      f_.add(mbase + "/" + sent, 5, "bytes sent = bytes received",
             at(i, l) + ": sum sent " + std::to_string(s) + " != sum received " +
                 std::to_string(rcv));
  }
  const bool mirror =
      root_.dispatch_row_bytes > 0 && root_.combine_row_bytes == root_.dispatch_row_bytes;
  if (mirror)
    for (const char* kind : {"intra", "inter"}) {
      const int64_t* sent = d.c.at(std::string("bytes_sent_") + kind + "_combine").data();
      const int64_t* recv = d.c.at(std::string("bytes_recv_") + kind).data();
      for (size_t r = 0; r < d.R; ++r) {
        const auto a = sent[d.idx(i, l, r)];
        const auto b = recv[d.idx(i, l, r)];
        if (a != b)
          f_.add(mbase + "/bytes_sent_" + kind + "_combine", 5,
                 "combine sent = dispatch received",
                 at(i, l) + " rank " + std::to_string(r) + ": " + std::to_string(a) +
                     " != " + std::to_string(b));
      }
    }
  const int64_t rows = d.sum("rows_computed", i, l), owned = d.sum("tokens_owned", i, l);
  if (root_.top_k > 0 && rows != d.batch_tokens[i] * root_.top_k)
    f_.add(mbase + "/rows_computed", 6, "sum rows = batch_tokens * top_k",
           at(i, l) + ": " + std::to_string(rows) +
               " != " + std::to_string(d.batch_tokens[i] * root_.top_k));
  if (owned != d.batch_tokens[i])
    f_.add(mbase + "/tokens_owned", 6, "sum tokens_owned = batch_tokens",
           at(i, l) + ": " + std::to_string(owned) + " != " + std::to_string(d.batch_tokens[i]));
  for (size_t r = 0; r < d.R; ++r) check_measured_rank(mbase, q, d.idx(i, l, r), i, l, r);
}

RankCubes Validator::rank_cubes(const Measured& d) const {
  RankCubes q;
  for (const auto& n : count_metric_names()) {
    if (n.rfind("bytes_", 0) != 0) continue;
    const bool combine = n.find("_combine") != std::string::npos;
    q.bytes.push_back(
        {&n, d.c.at(n).data(), combine ? root_.combine_row_bytes : root_.dispatch_row_bytes});
  }
  for (const auto& n : time_metric_names()) q.times.emplace_back(&n, d.t.at(n).data());
  for (const char* phase :
       {"t_gate", "t_permute", "t_dispatch", "t_ffn", "t_combine", "t_unpermute"})
    q.phases.emplace_back(phase, d.t.at(phase).data());
  q.layer = d.t.at("t_layer").data();
  return q;
}

// Rule 7 for one rank: bytes are non-negative multiples of the row size, times finite and
// non-negative, no phase longer than the layer.
void Validator::check_measured_rank(const std::string& mbase, const RankCubes& q, size_t x,
                                    size_t i, size_t l, size_t r) {
  for (const auto& [n, cube, row] : q.bytes) {
    const int64_t v = cube[x];
    if (v < 0 || (row > 0 && v % row != 0))
      f_.add(mbase + "/" + *n, 7, "bytes are non-negative multiples of the row size",
             at(i, l) + " rank " + std::to_string(r) + ": " + std::to_string(v) + " bytes, row " +
                 std::to_string(row));
  }
  for (const auto& [n, cube] : q.times) {
    const double v = cube[x];
    if (!std::isfinite(v) || v < 0)
      f_.add(mbase + "/" + *n, 7, "times finite and >= 0",
             at(i, l) + " rank " + std::to_string(r) + ": " + std::to_string(v));
  }
  const double layer = q.layer[x];
  for (const auto& [phase, cube] : q.phases) {
    const double v = cube[x];
    if (std::isfinite(v) && std::isfinite(layer) && v > layer * (1 + 1e-9) + 1e-12)
      f_.add(mbase + "/t_layer", 7, "t_layer >= each phase",
             at(i, l) + " rank " + std::to_string(r) + ": " + phase + " " + std::to_string(v) +
                 " > t_layer " + std::to_string(layer));
  }
}

// A failed strategy says why, and what it did record must be consistent (its wrong elements
// are the reason it failed, so rule 8 does not apply).
void Validator::check_failed(hid_t g, const std::string& base) {
  const bool reason = h5::has_attr(g, "skip_reason") &&
                      h5::attr_class(g, "skip_reason") == h5::AttrClass::kString &&
                      !h5::read_attr_str(g, "skip_reason").empty();
  if (!reason)
    f_.add(base + " attribute 'skip_reason'", 3, "a failed strategy has a reason", "missing");
  if (root_.num_layers < 1 || root_.num_ranks < 1 || root_.num_experts < 1) return;  // rule 2
  if (h5::exists(g, "placement")) check_placement(g, base);
  if (h5::exists(g, "measured")) check_measured(g, base);
}

// /cells of a sweep: `order` lists the groups; each has axes and values of one length.
void Validator::check_cells() {
  if (!h5::exists(file_, "cells")) return;
  Handle cells = h5::open_group(file_, "cells");
  const auto groups = h5::child_names(cells);
  const auto order = h5::has_attr(cells, "order") ? h5::read_attr_str_list(cells, "order")
                                                  : std::vector<std::string>{};
  const std::set<std::string> gs(groups.begin(), groups.end()), os(order.begin(), order.end());
  if (gs != os || os.size() != order.size())
    f_.add("/cells attribute 'order'", 3, "order lists the groups",
           "order has " + std::to_string(order.size()) + " entries for " +
               std::to_string(groups.size()) + " groups, or names differ");
  for (const auto& id : groups) {
    Handle c = h5::open_group(cells, id);
    const bool ok = h5::has_attr(c, "axes") && h5::has_attr(c, "values") &&
                    h5::read_attr_str_list(c, "axes").size() ==
                        h5::read_attr_str_list(c, "values").size();
    if (!ok)
      f_.add("/cells/" + id, 3, "a cell names its axes and values", "missing or of unequal length");
    cells_.insert(id);
  }
}

// A strategy of a sweep cell (attribute `cell`): it is named NAME@CELL, the cell exists, and its
// ranks, slots and row sizes replace the root's. False (failure recorded) when not.
bool Validator::enter_cell(hid_t g, const std::string& name, const std::string& base) {
  root_ = file_root_;
  if (!h5::has_attr(g, "cell")) return true;
  const std::string cell = h5::read_attr_str(g, "cell");
  const std::string suffix = "@" + cell;
  if (!cells_.count(cell) || name.size() <= suffix.size() ||
      name.compare(name.size() - suffix.size(), suffix.size(), suffix) != 0) {
    f_.add(base + " attribute 'cell'", 3, "a cell's strategy is NAME@CELL of a /cells group",
           "cell '" + cell + "'");
    return false;
  }
  Handle c = h5::open_group(h5::open_group(file_, "cells"), cell);
  root_.num_ranks = int_attr_or(c, "num_ranks", root_.num_ranks);
  root_.slots_per_rank = int_attr_or(c, "slots_per_rank", root_.slots_per_rank);
  root_.dispatch_row_bytes = int_attr_or(c, "dispatch_row_bytes", root_.dispatch_row_bytes);
  root_.combine_row_bytes = int_attr_or(c, "combine_row_bytes", root_.combine_row_bytes);
  if (root_.num_ranks < 1 || root_.num_ranks > limits::kMaxRanks) {
    f_.add("/cells/" + cell + " attribute 'num_ranks'", 2, "required root attribute",
           std::to_string(root_.num_ranks) + " outside [1, " + std::to_string(limits::kMaxRanks) +
               "] (documented limit)");
    return false;
  }
  return true;
}

void Validator::check_strategy(hid_t strategies, const std::string& name) {
  const std::string base = "/strategies/" + name;
  Handle g = h5::open_group(strategies, name);
  if (!enter_cell(g, name, base)) return;
  std::string status;
  if (h5::has_attr(g, "status") && h5::attr_class(g, "status") == h5::AttrClass::kString)
    status = h5::read_attr_str(g, "status");
  const auto st = parse_strategy_status(status);
  if (!st) {
    f_.add(base + " attribute 'status'", 3, "valid status",
           status.empty() ? "missing"
                          : "'" + status + "' is not complete, skipped, interrupted or failed");
    return;
  }
  if (*st == StrategyStatus::kFailed) {
    check_failed(g, base);
    return;
  }
  if (*st != StrategyStatus::kComplete) return;
  if (root_.num_layers < 1 || root_.num_ranks < 1 || root_.num_experts < 1) return;  // rule 2
  check_placement(g, base);
  check_measured(g, base);
  const int64_t wrong = int_attr_or(g, "wrong_elements", -1);
  if (wrong != 0)
    f_.add(base + " attribute 'wrong_elements'", 8, "no wrong elements",
           wrong < 0 ? "missing" : std::to_string(wrong) + " wrong elements");
}

int Validator::run() {
  check_root();
  file_root_ = root_;
  check_cells();
  if (!h5::exists(file_, "strategies")) {
    f_.add("/strategies", 3, "order lists the groups", "missing");
    return 0;
  }
  Handle st = h5::open_group(file_, "strategies");
  const auto groups = h5::child_names(st);
  std::vector<std::string> order;
  if (!h5::has_attr(st, "order")) {
    f_.add("/strategies attribute 'order'", 3, "order lists the groups", "missing");
    order = groups;
  } else {
    order = h5::read_attr_str_list(st, "order");
  }
  const std::set<std::string> gs(groups.begin(), groups.end()), os(order.begin(), order.end());
  if (gs != os || os.size() != order.size())
    f_.add("/strategies attribute 'order'", 3, "order lists the groups",
           "order has " + std::to_string(order.size()) + " entries for " +
               std::to_string(groups.size()) + " groups, or names differ");
  int n = 0;
  for (const auto& name : groups) {
    ++n;
    try {
      check_strategy(st, name);
    } catch (const H5Error& e) {
      f_.add("/strategies/" + name, 4, "readable", e.what());
    }
  }
  return n;
}

}  // namespace

namespace {

ValidationReport validate_file(const std::string& path) {
  Handle file = h5::open_file_read(path);
  if (!h5::has_attr(file, "schema_version") ||
      h5::attr_class(file, "schema_version") != h5::AttrClass::kInt)
    throw InputError(path +
                     ": not a moebench results file (no integer root attribute "
                     "'schema_version')");
  const int64_t v = h5::read_attr_int(file, "schema_version");
  if (v != kResultsSchemaVersion)
    throw InputError(path + ": schema_version " + std::to_string(v) +
                     " is not supported (this moebench validates version " +
                     std::to_string(kResultsSchemaVersion) + ")");
  Failures f;
  ValidationReport rep;
  if (h5::has_attr(file, "status") && h5::attr_class(file, "status") == h5::AttrClass::kString)
    rep.status = h5::read_attr_str(file, "status");
  if (h5::has_attr(file, "error") && h5::attr_class(file, "error") == h5::AttrClass::kString)
    rep.error = h5::read_attr_str(file, "error");
  try {
    rep.num_strategies = Validator(file, f).run();
  } catch (const H5Error& e) {
    f.add("/", 1, "file readable", e.what());
  }
  rep.failures = f.lines();
  if (rep.failures.empty()) {
    // What report and --resume read must read: the same checks, one place (read_results), one
    // strategy held at a time.
    try {
      read_results(path, {true, [](StrategyResult&&) {}});
    } catch (const Error& e) {
      std::string what = e.what();
      if (what.rfind(path + ": ", 0) == 0) what = what.substr(path.size() + 2);
      rep.failures.push_back("rule 1 (readable by report and --resume): " + what);
    }
  }
  return rep;
}

}  // namespace

ValidationReport validate_results(const std::string& path) {
  // A crash inside libhdf5 ends a child, not this process: the same reading there first.
  h5::guard_untrusted_file(path, "validate", [&path] { validate_results(path); });
  try {
    return validate_file(path);
  } catch (const H5Error& e) {
    throw InputError(path + ": malformed HDF5 file: " + e.what());
  }
}

}  // namespace moeb
