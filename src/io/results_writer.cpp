// Writer of results files, schema v1 (results_schema/README.md) and the Hdf5ResultSink, which
// appends each finished strategy to the file instead of rewriting it.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <map>
#include <vector>

#include "core/error.hpp"
#include "core/parallel.hpp"
#include "core/summary.hpp"
#include "io/provenance.hpp"
#include "io/results_file.hpp"
#include "io/root_attributes.hpp"
#include "io/validate.hpp"
#include "platform/atomic_file.hpp"
#include "platform/h5.hpp"

namespace moeb {

namespace {

using h5::Handle;


// Attributes typed as the root attribute table says (integers as integers).
void write_attrs(hid_t obj, const std::map<std::string, std::string>& strs,
                 const std::map<std::string, double>& nums) {
  for (const auto& [k, v] : strs) {
    if (k == "schema_version" || k == "config_toml") continue;
    h5::write_attr(obj, k, v);
  }
  for (const auto& [k, v] : nums) {
    if (k == "schema_version") continue;
    const auto* spec = find_root_attribute(k);
    if (spec && spec->type == AttrType::kInt)
      h5::write_attr(obj, k, static_cast<int64_t>(std::llround(v)));
    else
      h5::write_attr(obj, k, v);
  }
}

// /cells/<id> of a sweep: axis keys and values, the cell's config and differing attributes.
void write_cells(hid_t file, const RunResult& r) {
  if (r.cells.empty()) return;
  Handle cells = h5::create_group(file, "cells");
  std::vector<std::string> order;
  for (const auto& c : r.cells) {
    if (c.id.empty() || c.id.find('/') != std::string::npos || c.id.find('@') != std::string::npos)
      throw Error("cell id '" + c.id + "' is empty or contains '/' or '@'");
    order.push_back(c.id);
    Handle g = h5::create_group(cells, c.id);
    std::vector<std::string> keys, values;
    for (const auto& [k, v] : c.axes) {
      keys.push_back(k);
      values.push_back(v);
    }
    h5::write_attr(g, "axes", keys);
    h5::write_attr(g, "values", values);
    h5::write_attr(g, "label", c.label());
    h5::write_attr(g, "config_toml", c.config_toml);
    write_attrs(g, c.attrs_str, c.attrs_num);
  }
  h5::write_attr(cells, "order", order);
}

void write_root(hid_t file, const RunResult& r) {
  h5::write_attr(file, "schema_version", static_cast<int64_t>(kResultsSchemaVersion));
  write_attrs(file, r.attrs_str, r.attrs_num);
  if (!r.attrs_str.count("status")) h5::write_attr(file, "status", std::string("running"));
  h5::write_attr(file, "config_toml", r.config_toml);

  Handle prov = h5::create_group(file, "provenance");
  h5::write_dataset(prov, "hostnames", r.hostnames);
  std::vector<int32_t> nodes(r.rank_node.begin(), r.rank_node.end());
  h5::write_dataset(prov, "rank_node", {nodes.size()}, nodes.data(), "1");
  h5::write_dataset(prov, "rank_device", r.rank_device);
  h5::write_dataset(prov, "env", r.env);
  write_cells(file, r);
}

void write_placement(hid_t g, const StrategyResult& s) {
  const size_t L = s.replicas.size();
  const size_t E = L ? s.replicas[0].size() : 0;
  size_t K = 1;
  for (const auto& layer : s.replicas) {
    if (layer.size() != E)
      throw Error("strategy '" + s.name + "': placement layers have different expert counts");
    for (const auto& reps : layer) K = std::max(K, reps.size());
  }
  std::vector<int32_t> replicas(L * E * K, -1), num(L * E, 0);
  for (size_t l = 0; l < L; ++l)
    for (size_t e = 0; e < E; ++e) {
      const auto& reps = s.replicas[l][e];
      num[l * E + e] = static_cast<int32_t>(reps.size());
      for (size_t k = 0; k < reps.size(); ++k) replicas[(l * E + e) * K + k] = reps[k];
    }
  Handle p = h5::create_group(g, "placement");
  h5::write_dataset(p, "replicas", {L, E, K}, replicas.data(), "1");
  h5::write_dataset(p, "num_replicas", {L, E}, num.data(), "1");
  const size_t R = s.slots_used.empty() ? 0 : s.slots_used[0].size();
  std::vector<int32_t> slots;
  for (const auto& row : s.slots_used) {
    if (row.size() != R) throw Error("strategy '" + s.name + "': slots_used rows differ in size");
    slots.insert(slots.end(), row.begin(), row.end());
  }
  h5::write_dataset(p, "slots_used", {s.slots_used.size(), R}, slots.data(), "1");
}

template <class T>
h5::NumericData cube_data(const std::string& name, const Cube<T>& c, const char* units) {
  if (c.data.size() != static_cast<size_t>(c.iterations) * c.layers * c.ranks)
    throw Error("measured cube '" + name + "': data size does not match its shape");
  return h5::numeric(name,
                     {static_cast<hsize_t>(c.iterations), static_cast<hsize_t>(c.layers),
                      static_cast<hsize_t>(c.ranks)},
                     c.data.data(), units);
}

bool has_measurements(const StrategyResult& s) {
  auto it = s.counts.find("tokens_owned");
  return it != s.counts.end() && it->second.iterations > 0;
}

// The rows matrix [L][R*R] flattened to L x R x R.
std::vector<int64_t> flat_rows_matrix(const StrategyResult& s, size_t& R) {
  const size_t L = s.rows_matrix.size(), RR = s.rows_matrix[0].size();
  R = static_cast<size_t>(std::llround(std::sqrt(static_cast<double>(RR))));
  if (R * R != RR) throw Error("strategy '" + s.name + "': rows_matrix rows are not R*R long");
  std::vector<int64_t> flat;
  flat.reserve(L * RR);
  for (const auto& row : s.rows_matrix) {
    if (row.size() != RR) throw Error("strategy '" + s.name + "': rows_matrix rows differ");
    flat.insert(flat.end(), row.begin(), row.end());
  }
  return flat;
}

// The rows matrix that s.rows_matrix_link names, when it is in the file of `g` with the shape
// of s's (L x R x R); else an invalid handle (then s's own values are written).
Handle linked_rows_matrix(hid_t g, const StrategyResult& s) {
  if (s.rows_matrix_link.empty() || s.rows_matrix.empty() ||
      s.rows_matrix_link.find('/') != std::string::npos)
    return {};
  Handle at = h5::open_group(g, "/");
  for (const std::string& part : {std::string("strategies"), s.rows_matrix_link,
                                  std::string("measured")}) {
    if (!h5::exists(at, part)) return {};
    at = h5::open_group(at, part);
  }
  if (!h5::exists(at, "rows_matrix")) return {};
  Handle d = h5::open_dataset(at, "rows_matrix");
  const hsize_t L = s.rows_matrix.size(), RR = s.rows_matrix[0].size();
  const std::vector<hsize_t> dims = h5::dataset_dims(d);
  if (dims.size() != 3 || dims[0] != L || dims[1] * dims[2] != RR) return {};
  return d;
}

// /measured: every cube, the batch lists and the rows matrix, checked first, then written in one
// h5::write_datasets call (the large ones' chunks compressed on threads, `cw`). A rows matrix
// equal to an earlier strategy's of the file (rows_matrix_link) is a hard link to that dataset.
void write_measured(hid_t g, const StrategyResult& s, const h5::ChunkWrite& cw) {
  std::vector<h5::NumericData> sets;
  for (const auto& [name, c] : s.counts) {
    const MetricSpec* spec = find_metric(name);
    sets.push_back(cube_data(name, c, spec ? spec->unit : "1"));
  }
  for (const auto& [name, c] : s.times) sets.push_back(cube_data(name, c, "s"));
  sets.push_back(h5::numeric("batch_index", {s.batch_index.size()}, s.batch_index.data(), "1"));
  sets.push_back(
      h5::numeric("batch_tokens", {s.batch_tokens.size()}, s.batch_tokens.data(), "tokens"));
  std::vector<int64_t> flat;
  Handle same = linked_rows_matrix(g, s);
  if (!s.rows_matrix.empty() && !same.valid()) {
    size_t R = 0;
    flat = flat_rows_matrix(s, R);
    sets.push_back(h5::numeric("rows_matrix", {s.rows_matrix.size(), R, R}, flat.data(), "rows"));
  }
  Handle m = h5::create_group(g, "measured");
  h5::write_datasets(m, sets, cw);
  if (same.valid()) h5::link(same, m, "rows_matrix");
}

void write_summary(hid_t g, const StrategyResult& s) {
  const StrategySummary sum = summarize(s);
  Handle m = h5::create_group(g, "summary", true);
  for (const auto& f : summary_fields()) {
    const auto& v = sum.*(f.per_layer);
    h5::write_dataset(m, f.name, {v.size()}, v.data(), f.units);
  }
  for (const auto& [k, v] : summary_attributes(sum)) h5::write_attr(m, k, v);
}

// Fills group `g` with strategy `s` (attributes, notes, placement, measured, summary,
// predicted).
void write_strategy_contents(hid_t g, const StrategyResult& s, const h5::ChunkWrite& cw) {
  h5::write_attr(g, "status", to_string(s.status));
  h5::write_attr(g, "skip_reason", s.skip_reason);
  h5::write_attr(g, "description", s.description);
  h5::write_attr(g, "options", s.options);
  h5::write_attr(g, "strategy", s.strategy.empty() ? s.name : s.strategy);
  h5::write_attr(g, "run_overrides", s.run_overrides);
  if (!s.cell.empty()) h5::write_attr(g, "cell", s.cell);
  h5::write_attr(g, "replica_policy", s.replica_policy);
  h5::write_attr(g, "route_transform", s.route_transform);
  h5::write_attr(g, "routing_deviation", s.routing_deviation);
  h5::write_attr(g, "placement_time_s", s.placement_time_s);
  h5::write_attr(g, "oracle", static_cast<int64_t>(s.oracle));
  h5::write_attr(g, "checked_elements", s.checked_elements);
  h5::write_attr(g, "wrong_elements", s.wrong_elements);
  h5::write_attr(g, "max_abs_err", s.max_abs_err);
  Handle notes = h5::create_group(g, "notes", true);
  for (const auto& [k, v] : s.notes) h5::write_attr(notes, k, v);
  if (!s.replicas.empty()) write_placement(g, s);
  if (has_measurements(s)) {
    write_measured(g, s, cw);
    write_summary(g, s);
  }
  if (!s.predicted.empty()) {
    Handle p = h5::create_group(g, "predicted", true);
    h5::write_attr(p, "system_model", s.predicted_system_model);
    for (const auto& [k, v] : s.predicted) h5::write_dataset(p, k, {v.size()}, v.data(), "s");
  }
}

// Throws Error when `name` cannot be a strategy group or is already in `order`.
void check_strategy_name(const std::string& name, const std::vector<std::string>& order) {
  if (name.empty() || name.find('/') != std::string::npos || name == "." ||
      std::find(order.begin(), order.end(), name) != order.end())
    throw Error("strategy name '" + name + "' is empty, contains '/', or repeats");
}

// Appends `s` to /strategies of an open file and commits it: the group is filled while linked
// nowhere, then linked under its name, and `order` (the list readers follow) is rewritten last.
// Until that point the file on disk still lists only the strategies before `s`.
void append_strategy(hid_t file, const StrategyResult& s, std::vector<std::string>& order,
                     const h5::ChunkWrite& cw) {
  const std::string key = result_key(s);
  check_strategy_name(key, order);
  Handle g = h5::create_unlinked_group(file);
  write_strategy_contents(g, s, cw);
  Handle st = h5::open_group(file, "strategies");
  h5::link(g, st, key);
  order.push_back(key);
  h5::write_attr(st, "order", order);
}

// Runs `body` on `file` and closes it. A file that fails to close (its last flush hit a full
// disk) is left to the operating system, not to libhdf5's exit cleanup, which would crash on it.
template <class Body>
void write_and_close(Handle file, Body&& body) {
  try {
    body(file.get());
  } catch (const Error&) {
    if (!file.reset()) h5::skip_exit_cleanup();
    throw;
  }
  if (!file.reset()) {
    const std::string reason = h5::system_reason();
    h5::skip_exit_cleanup();
    throw H5Error("HDF5 close failed" + (reason.empty() ? "" : ": " + reason));
  }
}

// Creates `path` (through PATH.tmp and a rename) with the root attributes, /provenance and the
// strategies of `r`. With `check`, PATH.tmp must pass validate_results before the rename.
void create_file(const std::string& path, const RunResult& r, std::vector<std::string>& order,
                 const h5::ChunkWrite& cw, bool check = false) {
  AtomicFile out(path);
  write_and_close(h5::create_file(out.temp_path()), [&](hid_t file) {
    write_root(file, r);
    Handle st = h5::create_group(file, "strategies");
    h5::write_attr(st, "order", order);
    for (const auto& s : r.strategies) append_strategy(file, s, order, cw);
    h5::flush(file);
  });
  if (check) {
    const ValidationReport rep = validate_results(out.temp_path());
    if (!rep.ok())
      throw Error("the new file fails validation, the old one is kept: " + rep.failures.front());
  }
  out.commit();
}

h5::ChunkWrite chunk_write(const ResultsWriteOptions& how) {
  return {how.threads > 0 ? how.threads : default_threads(), how.direct_chunks};
}

}  // namespace

void write_results(const std::string& path, const RunResult& r, const ResultsWriteOptions& how) {
  try {
    std::vector<std::string> order;
    for (const auto& s : r.strategies) {
      check_strategy_name(result_key(s), order);  // before any file is created
      order.push_back(result_key(s));
    }
    order.clear();
    create_file(path, r, order, chunk_write(how));
  } catch (const Error& e) {
    throw H5Error(path + ": " + e.what());
  }
}

void Hdf5ResultSink::begin(const RunResult& provenance) { start(provenance, {}); }

void Hdf5ResultSink::begin_resumed(const RunResult& provenance,
                                   const std::vector<StrategyResult>& carried) {
  start(provenance, carried);
}

// Creates the file with status `running`, the start time (kept from a resumed run's provenance)
// and the `carried` strategies; a file that carries strategies is validated before it replaces
// PATH. On failure nothing in the sink refers to a file.
void Hdf5ResultSink::start(const RunResult& provenance,
                           const std::vector<StrategyResult>& carried) {
  RunResult run = provenance;
  run.strategies = carried;
  run.attrs_str["status"] = "running";
  if (!run.attrs_str.count("start_time")) run.attrs_str["start_time"] = utc_now_iso8601();
  run.attrs_str["end_time"] = utc_now_iso8601();
  order_.clear();
  created_ = false;
  try {
    create_file(path_, run, order_, chunk_write(how_), !carried.empty());
    created_ = true;
  } catch (const Error& e) {
    order_.clear();
    throw H5Error(path_ + ": " + e.what());
  }
}

void Hdf5ResultSink::write_strategy(const StrategyResult& s) {
  try {
    std::vector<std::string> order = order_;
    write_and_close(h5::open_file_rw(path_), [&](hid_t file) {
      append_strategy(file, s, order, chunk_write(how_));
      h5::write_attr(file, "end_time", utc_now_iso8601());
      h5::write_attr(file, "load_avg_end", load_average());
      h5::flush(file);
    });
    order_ = std::move(order);
  } catch (const Error& e) {
    throw H5Error(path_ + ": " + e.what());
  }
}

void Hdf5ResultSink::finish(RunStatus status) { finish_with(status, ""); }

void Hdf5ResultSink::fail(const std::string& error) { finish_with(RunStatus::kFailed, error); }

void Hdf5ResultSink::finish_with(RunStatus status, const std::string& error) {
  if (!created_) return;
  try {
    write_and_close(h5::open_file_rw(path_), [&](hid_t file) {
      h5::write_attr(file, "status", to_string(status));
      if (!error.empty()) h5::write_attr(file, "error", error);
      h5::write_attr(file, "end_time", utc_now_iso8601());
      h5::write_attr(file, "load_avg_end", load_average());
      h5::flush(file);
    });
  } catch (const Error& e) {
    throw H5Error(path_ + ": " + e.what());
  }
}

}  // namespace moeb
