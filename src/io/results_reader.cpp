// Reader of results files, schema v1 (results_schema/README.md).
#include <cmath>

#include "core/error.hpp"
#include "platform/h5.hpp"
#include "io/results_file.hpp"

namespace moeb {

namespace {

using h5::Handle;

void read_root(hid_t file, RunResult& r) {
  for (const auto& name : h5::attr_names(file)) {
    if (name == "config_toml") {
      r.config_toml = h5::read_attr_str(file, name);
      continue;
    }
    switch (h5::attr_class(file, name)) {
      case h5::AttrClass::kString:
        r.attrs_str[name] = h5::read_attr_str(file, name);
        break;
      case h5::AttrClass::kInt:
        r.attrs_num[name] = static_cast<double>(h5::read_attr_int(file, name));
        break;
      case h5::AttrClass::kFloat:
        r.attrs_num[name] = h5::read_attr_float(file, name);
        break;
      case h5::AttrClass::kOther:
        break;  // not ours; ignored
    }
  }
  if (!h5::exists(file, "provenance")) return;
  Handle p = h5::open_group(file, "provenance");
  auto strings = [&](const char* n) {
    return h5::exists(p, n) ? h5::read_strings(h5::open_dataset(p, n)) : std::vector<std::string>{};
  };
  r.hostnames = strings("hostnames");
  r.rank_device = strings("rank_device");
  r.env = strings("env");
  if (h5::exists(p, "rank_node")) {
    auto v = h5::read_int32(h5::open_dataset(p, "rank_node"));
    r.rank_node.assign(v.begin(), v.end());
  }
}

void read_placement(hid_t g, StrategyResult& s) {
  Handle p = h5::open_group(g, "placement");
  Handle d = h5::open_dataset(p, "replicas");
  const auto dims = h5::dataset_dims(d);
  if (dims.size() != 3) throw H5Error("placement/replicas: expected rank 3");
  const auto rep = h5::read_int32(d);
  const size_t L = dims[0], E = dims[1], K = dims[2];
  s.replicas.assign(L, std::vector<std::vector<int>>(E));
  for (size_t l = 0; l < L; ++l)
    for (size_t e = 0; e < E; ++e)
      for (size_t k = 0; k < K; ++k) {
        const int32_t v = rep[(l * E + e) * K + k];
        if (v >= 0) s.replicas[l][e].push_back(v);
      }
  Handle su = h5::open_dataset(p, "slots_used");
  const auto sdims = h5::dataset_dims(su);
  if (sdims.size() != 2) throw H5Error("placement/slots_used: expected rank 2");
  const auto slots = h5::read_int32(su);
  s.slots_used.assign(sdims[0], std::vector<int>(sdims[1]));
  for (size_t l = 0; l < sdims[0]; ++l)
    for (size_t rk = 0; rk < sdims[1]; ++rk) s.slots_used[l][rk] = slots[l * sdims[1] + rk];
}

template <class T>
Cube<T> read_cube(hid_t m, const std::string& name, std::vector<T> (*read)(hid_t)) {
  Handle d = h5::open_dataset(m, name);
  const auto dims = h5::dataset_dims(d);
  if (dims.size() != 3) throw H5Error("measured/" + name + ": expected shape [I, L, R]");
  Cube<T> c;
  c.iterations = static_cast<int>(dims[0]);
  c.layers = static_cast<int>(dims[1]);
  c.ranks = static_cast<int>(dims[2]);
  c.data = read(d);
  return c;
}

void read_measured(hid_t g, StrategyResult& s) {
  Handle m = h5::open_group(g, "measured");
  for (const auto& n : count_metric_names())
    if (h5::exists(m, n)) s.counts[n] = read_cube<int64_t>(m, n, &h5::read_int64);
  for (const auto& n : time_metric_names())
    if (h5::exists(m, n)) s.times[n] = read_cube<double>(m, n, &h5::read_double);
  if (h5::exists(m, "batch_index"))
    s.batch_index = h5::read_int64(h5::open_dataset(m, "batch_index"));
  if (h5::exists(m, "batch_tokens"))
    s.batch_tokens = h5::read_int64(h5::open_dataset(m, "batch_tokens"));
  if (h5::exists(m, "rows_matrix")) {
    Handle d = h5::open_dataset(m, "rows_matrix");
    const auto dims = h5::dataset_dims(d);
    if (dims.size() != 3 || dims[1] != dims[2])
      throw H5Error("measured/rows_matrix: expected shape [L, R, R]");
    const auto flat = h5::read_int64(d);
    const size_t RR = dims[1] * dims[2];
    s.rows_matrix.assign(dims[0], {});
    for (size_t l = 0; l < dims[0]; ++l)
      s.rows_matrix[l].assign(flat.begin() + l * RR, flat.begin() + (l + 1) * RR);
  }
}

StrategyResult read_strategy(hid_t strategies, const std::string& name) {
  StrategyResult s;
  s.name = name;
  Handle g = h5::open_group(strategies, name);
  auto str = [&](const char* a) { return h5::has_attr(g, a) ? h5::read_attr_str(g, a) : ""; };
  s.status = str("status");
  s.skip_reason = str("skip_reason");
  s.description = str("description");
  s.options = str("options");
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
    for (const auto& k : h5::attr_names(n)) s.notes.emplace_back(k, h5::read_attr_str(n, k));
  }
  if (h5::exists(g, "placement")) read_placement(g, s);
  if (h5::exists(g, "measured")) read_measured(g, s);
  if (h5::exists(g, "predicted")) {
    Handle p = h5::open_group(g, "predicted");
    if (h5::has_attr(p, "system_model"))
      s.predicted_system_model = h5::read_attr_str(p, "system_model");
    for (const auto& k : h5::child_names(p))
      s.predicted[k] = h5::read_double(h5::open_dataset(p, k));
  }
  return s;
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

RunResult read_results(const std::string& path) {
  Handle file = h5::open_file_read(path);
  const int64_t version = read_schema_version(file, path);
  if (version != kResultsSchemaVersion)
    throw InputError(path + ": schema_version " + std::to_string(version) +
                     " is not supported (this moebench reads version " +
                     std::to_string(kResultsSchemaVersion) + ")");
  RunResult r;
  try {
    read_root(file, r);
    if (h5::exists(file, "strategies")) {
      Handle st = h5::open_group(file, "strategies");
      const auto order =
          h5::has_attr(st, "order") ? h5::read_attr_str_list(st, "order") : h5::child_names(st);
      for (const auto& name : order) r.strategies.push_back(read_strategy(st, name));
    }
  } catch (const H5Error& e) {
    throw H5Error(path + ": " + e.what());
  }
  return r;
}

}  // namespace moeb
