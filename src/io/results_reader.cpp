// Reader of results files, schema v1 (results_schema/README.md).
#include <algorithm>
#include <cmath>

#include "core/error.hpp"
#include "core/limits.hpp"
#include "platform/h5.hpp"
#include "platform/h5_guard.hpp"
#include "io/results_file.hpp"

namespace moeb {

namespace {

using h5::Handle;

// Reads one results file, checking every dataset's shape against the root attributes (and the
// documented limits of core/limits.hpp) before it is read, so that a malformed or hostile file
// is refused with one line instead of an allocation of its declared extent.
class Reader {
 public:
  Reader(hid_t file, std::string path, const ResultsReadOptions& what)
      : file_(file), path_(std::move(path)), what_(what) {}
  RunResult read();

 private:
  [[noreturn]] void bad(const std::string& where, const std::string& what) const {
    throw InputError(path_ + ": " + where + ": " + what);
  }
  int64_t root_dim(const RunResult& r, const char* name, int64_t max);
  // Dims of dataset `d` at `where`: rank want.size(), dim i equal to want[i] when want[i] >= 0,
  // else at most max_free; at most kMaxDatasetElements elements.
  std::vector<hsize_t> dims(hid_t d, const std::string& where, const std::vector<int64_t>& want,
                            int64_t max_free = 0) const;
  std::string str_attr(hid_t obj, const char* name, const std::string& where) const;
  void read_root(RunResult& r);
  void read_placement(hid_t g, const std::string& base, StrategyResult& s) const;
  void read_measured(hid_t g, const std::string& base, StrategyResult& s) const;
  StrategyResult read_strategy(hid_t strategies, const std::string& name) const;
  void read_attrs(hid_t obj, const std::string& where, std::map<std::string, std::string>& strs,
                  std::map<std::string, double>& nums) const;
  void read_cells(RunResult& r) const;
  // The cell a strategy group names (attribute `cell`): its dimensions replace the root's.
  void enter_cell(const RunResult& r, hid_t strategies, const std::string& name, std::string& cell);

  hid_t file_;
  std::string path_;
  const ResultsReadOptions& what_;
  int64_t L_ = -1, R_ = -1, E_ = -1;  // from the root attributes; -1 = absent (bounded by limits)
  int64_t root_R_ = -1;               // the root's R_ (a sweep cell may have its own)
};

std::string shape_text(const std::vector<int64_t>& want) {
  const char* names = "ABCDEFGH";
  std::string s;
  for (size_t i = 0; i < want.size(); ++i)
    s += (i ? ", " : "") + (want[i] >= 0 ? std::to_string(want[i]) : std::string(1, names[i]));
  return "[" + s + "]";
}

std::vector<hsize_t> Reader::dims(hid_t d, const std::string& where,
                                  const std::vector<int64_t>& want, int64_t max_free) const {
  const auto got = h5::dataset_dims(d);
  std::string have;
  for (auto x : got) have += (have.empty() ? "" : ", ") + std::to_string(x);
  const std::string what = "expected shape " + shape_text(want) + ", got [" + have + "]";
  if (got.size() != want.size()) bad(where, what);
  int64_t elems = 1;
  for (size_t i = 0; i < got.size(); ++i) {
    const auto x = static_cast<int64_t>(got[i]);
    if (x < 0 || (want[i] >= 0 && x != want[i]) || (want[i] < 0 && x > max_free))
      bad(where, what + (want[i] < 0 ? " (free dimensions at most " + std::to_string(max_free) + ")"
                                     : ""));
    const auto p = product_within(elems, x, limits::kMaxDatasetElements);
    if (!p)
      bad(where, what + ": more than the documented limit of " +
                     std::to_string(limits::kMaxDatasetElements) + " elements");
    elems = *p;
  }
  return got;
}

std::string Reader::str_attr(hid_t obj, const char* name, const std::string& where) const {
  if (!h5::has_attr(obj, name)) return "";
  if (h5::attr_class(obj, name) != h5::AttrClass::kString)
    bad(where + " attribute '" + name + "'", "expected a string");
  return h5::read_attr_str(obj, name);
}

int64_t Reader::root_dim(const RunResult& r, const char* name, int64_t max) {
  auto it = r.attrs_num.find(name);
  if (it == r.attrs_num.end()) return -1;
  const double v = it->second;
  if (!(v >= 1 && v <= static_cast<double>(max)) || v != std::floor(v))
    bad(std::string("/ attribute '") + name + "'",
        "expected an integer in [1, " + std::to_string(max) + "] (documented limit), got " +
            std::to_string(v));
  return static_cast<int64_t>(v);
}

void Reader::read_root(RunResult& r) {
  for (const auto& name : h5::attr_names(file_)) {
    if (name == "config_toml") {
      r.config_toml = str_attr(file_, "config_toml", "/");
      continue;
    }
    switch (h5::attr_class(file_, name)) {
      case h5::AttrClass::kString:
        r.attrs_str[name] = h5::read_attr_str(file_, name);
        break;
      case h5::AttrClass::kInt:
        r.attrs_num[name] = static_cast<double>(h5::read_attr_int(file_, name));
        break;
      case h5::AttrClass::kFloat:
        r.attrs_num[name] = h5::read_attr_float(file_, name);
        break;
      case h5::AttrClass::kOther:
        break;  // not ours; ignored
    }
  }
  L_ = root_dim(r, "num_layers", limits::kMaxLayers);
  R_ = root_dim(r, "num_ranks", limits::kMaxRanks);
  E_ = root_dim(r, "num_experts", limits::kMaxExperts);
  if (!h5::exists(file_, "provenance")) return;
  Handle p = h5::open_group(file_, "provenance");
  const int64_t ranks = R_ > 0 ? R_ : limits::kMaxRanks;
  auto strings = [&](const char* n, int64_t max) {
    if (!h5::exists(p, n)) return std::vector<std::string>{};
    Handle d = h5::open_dataset(p, n);
    dims(d, std::string("/provenance/") + n, {-1}, max);
    return h5::read_strings(d);
  };
  r.hostnames = strings("hostnames", ranks);
  r.rank_device = strings("rank_device", ranks);
  r.env = strings("env", limits::kMaxEnvEntries);
  if (h5::exists(p, "rank_node")) {
    Handle d = h5::open_dataset(p, "rank_node");
    dims(d, "/provenance/rank_node", {-1}, ranks);
    auto v = h5::read_int32(d);
    r.rank_node.assign(v.begin(), v.end());
  }
}

void Reader::read_placement(hid_t g, const std::string& base, StrategyResult& s) const {
  Handle p = h5::open_group(g, "placement");
  Handle d = h5::open_dataset(p, "replicas");
  const int64_t ranks = R_ > 0 ? R_ : limits::kMaxRanks;
  const auto dm = dims(d, base + "/placement/replicas", {L_, E_, -1}, ranks);
  // Absent root attributes leave those dimensions free, within the limits.
  if (dm[0] > static_cast<hsize_t>(limits::kMaxLayers) ||
      dm[1] > static_cast<hsize_t>(limits::kMaxExperts))
    bad(base + "/placement/replicas", "more layers or experts than the documented limits");
  const auto rep = h5::read_int32(d);
  const size_t L = dm[0], E = dm[1], K = dm[2];
  s.replicas.assign(L, std::vector<std::vector<int>>(E));
  for (size_t l = 0; l < L; ++l)
    for (size_t e = 0; e < E; ++e)
      for (size_t k = 0; k < K; ++k) {
        const int32_t v = rep[(l * E + e) * K + k];
        if (v >= ranks) bad(base + "/placement/replicas", "rank " + std::to_string(v) + " >= R");
        if (v >= 0) s.replicas[l][e].push_back(v);
      }
  Handle su = h5::open_dataset(p, "slots_used");
  const auto sd = dims(su, base + "/placement/slots_used", {static_cast<int64_t>(L), R_}, ranks);
  const auto slots = h5::read_int32(su);
  s.slots_used.assign(sd[0], std::vector<int>(sd[1]));
  for (size_t l = 0; l < sd[0]; ++l)
    for (size_t rk = 0; rk < sd[1]; ++rk) s.slots_used[l][rk] = slots[l * sd[1] + rk];
}

void Reader::read_measured(hid_t g, const std::string& base, StrategyResult& s) const {
  Handle m = h5::open_group(g, "measured");
  const std::string mb = base + "/measured/";
  int64_t I = -1;  // iterations: the first dataset read fixes it, the others must agree
  auto vec = [&](const char* n) {
    Handle d = h5::open_dataset(m, n);
    I = static_cast<int64_t>(dims(d, mb + n, {I}, limits::kMaxResultIterations)[0]);
    return h5::read_int64(d);
  };
  if (h5::exists(m, "batch_index")) s.batch_index = vec("batch_index");
  if (h5::exists(m, "batch_tokens")) s.batch_tokens = vec("batch_tokens");
  const int64_t layers = L_ > 0 ? L_ : limits::kMaxLayers, ranks = R_ > 0 ? R_ : limits::kMaxRanks;
  auto cube = [&](const std::string& n, auto read, auto& out) {
    Handle d = h5::open_dataset(m, n);
    const auto dm =
        dims(d, mb + n, {I, L_, R_}, std::max({layers, ranks, limits::kMaxResultIterations}));
    if (dm[1] > static_cast<hsize_t>(layers) || dm[2] > static_cast<hsize_t>(ranks))
      bad(mb + n, "more layers or ranks than the documented limits");
    I = static_cast<int64_t>(dm[0]);
    out.iterations = static_cast<int>(dm[0]);
    out.layers = static_cast<int>(dm[1]);
    out.ranks = static_cast<int>(dm[2]);
    out.data = read(d);
  };
  for (const auto& n : count_metric_names())
    if (h5::exists(m, n)) cube(n, &h5::read_int64, s.counts[n]);
  for (const auto& n : time_metric_names())
    if (h5::exists(m, n)) cube(n, &h5::read_double, s.times[n]);
  if (h5::exists(m, "rows_matrix")) {
    Handle d = h5::open_dataset(m, "rows_matrix");
    const auto dm = dims(d, mb + "rows_matrix", {L_, R_, R_}, std::max(layers, ranks));
    if (dm[1] != dm[2] || dm[0] > static_cast<hsize_t>(layers))
      bad(mb + "rows_matrix", "expected shape [L, R, R]");
    if (!what_.rows_matrix) return;
    const auto flat = h5::read_int64(d);
    const size_t RR = dm[1] * dm[2];
    s.rows_matrix.assign(dm[0], {});
    for (size_t l = 0; l < dm[0]; ++l)
      s.rows_matrix[l].assign(flat.begin() + l * RR, flat.begin() + (l + 1) * RR);
  }
}

void Reader::read_attrs(hid_t obj, const std::string& where,
                        std::map<std::string, std::string>& strs,
                        std::map<std::string, double>& nums) const {
  for (const auto& name : h5::attr_names(obj)) {
    if (name == "axes" || name == "values") continue;  // string lists, read by the caller
    switch (h5::attr_class(obj, name)) {
      case h5::AttrClass::kString:
        strs[name] = str_attr(obj, name.c_str(), where);
        break;
      case h5::AttrClass::kInt:
        nums[name] = static_cast<double>(h5::read_attr_int(obj, name));
        break;
      case h5::AttrClass::kFloat:
        nums[name] = h5::read_attr_float(obj, name);
        break;
      case h5::AttrClass::kOther:
        break;
    }
  }
}

// /cells of a sweep (results_schema/README.md): one ResultCell per group, in `order`.
void Reader::read_cells(RunResult& r) const {
  if (!h5::exists(file_, "cells")) return;
  Handle cells = h5::open_group(file_, "cells");
  const auto order =
      h5::has_attr(cells, "order") ? h5::read_attr_str_list(cells, "order") : h5::child_names(cells);
  for (const auto& id : order) {
    const std::string where = "/cells/" + id;
    if (!h5::exists(cells, id)) bad(where, "listed in /cells attribute 'order' but missing");
    Handle g = h5::open_group(cells, id);
    ResultCell c;
    c.id = id;
    read_attrs(g, where, c.attrs_str, c.attrs_num);
    const auto keys = h5::has_attr(g, "axes") ? h5::read_attr_str_list(g, "axes")
                                              : std::vector<std::string>{};
    const auto values = h5::has_attr(g, "values") ? h5::read_attr_str_list(g, "values")
                                                  : std::vector<std::string>{};
    if (keys.size() != values.size())
      bad(where, "attributes 'axes' and 'values' differ in length");
    for (size_t i = 0; i < keys.size(); ++i) c.axes.emplace_back(keys[i], values[i]);
    c.config_toml = c.attrs_str["config_toml"];
    for (const char* k : {"config_toml", "axes", "values", "label"}) c.attrs_str.erase(k);
    r.cells.push_back(std::move(c));
  }
}

void Reader::enter_cell(const RunResult& r, hid_t strategies, const std::string& name,
                        std::string& cell) {
  R_ = root_R_;
  Handle g = h5::open_group(strategies, name);
  cell = str_attr(g, "cell", "/strategies/" + name);
  if (cell.empty()) return;
  const ResultCell* c = r.find_cell(cell);
  const std::string suffix = "@" + cell;
  if (!c) bad("/strategies/" + name + " attribute 'cell'", "no group /cells/" + cell);
  if (name.size() <= suffix.size() ||
      name.compare(name.size() - suffix.size(), suffix.size(), suffix) != 0)
    bad("/strategies/" + name, "a strategy of cell " + cell + " is named NAME" + suffix);
  RunResult dims;
  dims.attrs_num = c->attrs_num;
  const int64_t ranks = root_dim(dims, "num_ranks", limits::kMaxRanks);
  if (ranks > 0) R_ = ranks;
}

StrategyResult Reader::read_strategy(hid_t strategies, const std::string& name) const {
  StrategyResult s;
  s.name = name;
  const std::string base = "/strategies/" + name;
  Handle g = h5::open_group(strategies, name);
  auto str = [&](const char* a) { return str_attr(g, a, base); };
  // An unknown status is kept as failed with the text as its reason; validate rejects it.
  const std::string status = str("status");
  const auto parsed = parse_strategy_status(status, true);
  s.status = parsed.value_or(StrategyStatus::kFailed);
  s.skip_reason = str("skip_reason");
  if (!parsed) s.skip_reason = "unknown status '" + status + "'";
  s.description = str("description");
  s.options = str("options");
  s.strategy = h5::has_attr(g, "strategy") ? str("strategy") : name;
  s.run_overrides = str("run_overrides");
  s.replica_policy = str("replica_policy");
  s.route_transform = str("route_transform");
  if (h5::has_attr(g, "routing_deviation"))
    s.routing_deviation = h5::read_attr_float(g, "routing_deviation");
  if (h5::has_attr(g, "placement_time_s"))
    s.placement_time_s = h5::read_attr_float(g, "placement_time_s");
  if (h5::has_attr(g, "oracle")) s.oracle = h5::read_attr_int(g, "oracle") != 0;
  if (h5::has_attr(g, "checked_elements"))
    s.checked_elements = h5::read_attr_int(g, "checked_elements");
  if (h5::has_attr(g, "wrong_elements")) s.wrong_elements = h5::read_attr_int(g, "wrong_elements");
  if (h5::has_attr(g, "max_abs_err")) s.max_abs_err = h5::read_attr_float(g, "max_abs_err");
  if (h5::exists(g, "notes")) {
    Handle n = h5::open_group(g, "notes");
    for (const auto& k : h5::attr_names(n))
      s.notes.emplace_back(k, str_attr(n, k.c_str(), base + "/notes"));
  }
  if (h5::exists(g, "placement")) read_placement(g, base, s);
  if (h5::exists(g, "measured")) read_measured(g, base, s);
  if (h5::exists(g, "predicted")) {
    Handle p = h5::open_group(g, "predicted");
    s.predicted_system_model = str_attr(p, "system_model", base + "/predicted");
    for (const auto& k : h5::child_names(p)) {
      Handle d = h5::open_dataset(p, k);
      dims(d, base + "/predicted/" + k, {L_}, limits::kMaxLayers);
      s.predicted[k] = h5::read_double(d);
    }
  }
  return s;
}

RunResult Reader::read() {
  RunResult r;
  read_root(r);
  read_cells(r);
  if (h5::exists(file_, "strategies")) {
    Handle st = h5::open_group(file_, "strategies");
    const auto order =
        h5::has_attr(st, "order") ? h5::read_attr_str_list(st, "order") : h5::child_names(st);
    root_R_ = R_;
    for (const auto& name : order) {
      std::string cell;
      enter_cell(r, st, name, cell);
      StrategyResult s = read_strategy(st, name);
      if (!cell.empty()) {
        s.cell = cell;
        s.name = name.substr(0, name.size() - cell.size() - 1);
      }
      if (what_.each_strategy)
        what_.each_strategy(std::move(s));
      else
        r.strategies.push_back(std::move(s));
    }
    R_ = root_R_;
  }
  return r;
}

int64_t read_schema_version(hid_t file, const std::string& path) {
  if (!h5::has_attr(file, "schema_version") ||
      h5::attr_class(file, "schema_version") != h5::AttrClass::kInt)
    throw InputError(path +
                     ": not a moebench results file (no integer root attribute "
                     "'schema_version')");
  return h5::read_attr_int(file, "schema_version");
}

}  // namespace

RunResult read_results(const std::string& path, const ResultsReadOptions& what) {
  // A crash inside libhdf5 ends a child, not this process: the same reading there first (one
  // strategy held at a time: only the reading matters there).
  h5::guard_untrusted_file(path, what.rows_matrix ? "results" : "results without rows matrix",
                           [&path, &what] {
                             ResultsReadOptions one = what;
                             one.each_strategy = [](StrategyResult&&) {};
                             read_results(path, one);
                           });
  try {
    Handle file = h5::open_file_read(path);
    const int64_t version = read_schema_version(file, path);
    if (version != kResultsSchemaVersion)
      throw InputError(path + ": schema_version " + std::to_string(version) +
                       " is not supported (this moebench reads version " +
                       std::to_string(kResultsSchemaVersion) + ")");
    return Reader(file, path, what).read();
  } catch (const H5Error& e) {
    // A dataset or attribute the HDF5 library cannot read as the schema says: bad input.
    throw InputError(path + ": malformed results file: " + e.what());
  }
}

}  // namespace moeb
