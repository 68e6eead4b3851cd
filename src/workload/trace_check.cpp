#include "workload/trace_check.hpp"

#include <algorithm>
#include <cmath>

#include "core/error.hpp"
#include "workload/trace_limits.hpp"

namespace moeb::trace_check {

using trace_h5::check_read;
using trace_h5::check_read_id;
using trace_h5::Id;

namespace {

[[noreturn]] void fail(const std::string& path, const std::string& what) {
  throw InputError(path + ": " + what);
}

void check_range(int64_t v, int64_t lo, int64_t hi, const char* attr, const std::string& path) {
  if (v < lo || v > hi)
    fail(path, std::string("attribute '") + attr + "' = " + std::to_string(v) + ", expected " +
                   std::to_string(lo) + ".." + std::to_string(hi) +
                   " (results_schema/TRACE.md, Limits)");
}

// Every component of an absolute link path exists.
bool link_exists(hid_t file, const std::string& name) {
  for (size_t pos = name.find('/', 1);; pos = name.find('/', pos + 1)) {
    const std::string prefix = name.substr(0, pos);
    if (H5Lexists(file, prefix.c_str(), H5P_DEFAULT) <= 0) return false;
    if (pos == std::string::npos) return true;
  }
}

std::vector<std::string> read_families(hid_t file, const std::string& path) {
  if (!link_exists(file, "/families")) fail(path, "dataset '/families' missing");
  Id ds(check_read_id(H5Dopen2(file, "/families", H5P_DEFAULT), path, "dataset '/families'"));
  Id type(check_read_id(H5Dget_type(ds), path, "dataset '/families'"));
  Id space(check_read_id(H5Dget_space(ds), path, "dataset '/families'"));
  hsize_t n = 0;
  if (H5Tget_class(type) != H5T_STRING || H5Tis_variable_str(type) <= 0 ||
      H5Sget_simple_extent_ndims(space) != 1)
    fail(path, "dataset '/families': expected a 1-D array of variable-length strings");
  H5Sget_simple_extent_dims(space, &n, nullptr);
  if (n < 1 || n > static_cast<hsize_t>(TraceLimits::kMaxFamilies))
    fail(path, "dataset '/families': " + std::to_string(n) + " names, expected 1.." +
                   std::to_string(TraceLimits::kMaxFamilies));
  Id mtype = h5::vlen_string_type();
  std::vector<char*> p(n, nullptr);
  check_read(H5Dread(ds, mtype, H5S_ALL, H5S_ALL, H5P_DEFAULT, p.data()), path,
             "dataset '/families'");
  std::vector<std::string> names;
  for (char* s : p) names.emplace_back(s ? s : "");
  H5Dvlen_reclaim(mtype, space, H5P_DEFAULT, p.data());
  return names;
}

void check_layout(hid_t ds, hid_t type, int rank, const char* name, const std::string& path) {
  const std::string what = std::string("dataset '") + name + "'";
  Id dcpl(check_read_id(H5Dget_create_plist(ds), path, what));
  const int nfilters = H5Pget_nfilters(dcpl);
  for (int i = 0; i < nfilters; ++i) {
    unsigned flags = 0, cd[8];
    size_t ncd = 8;
    const H5Z_filter_t id =
        H5Pget_filter2(dcpl, static_cast<unsigned>(i), &flags, &ncd, cd, 0, nullptr, nullptr);
    if (id < 0 || H5Zfilter_avail(id) <= 0)
      fail(path, what + ": compressed with HDF5 filter " + std::to_string(id) +
                     ", which this libhdf5 does not have");
  }
  if (H5Pget_layout(dcpl) != H5D_CHUNKED) return;
  std::vector<hsize_t> chunk(static_cast<size_t>(rank), 0);
  if (H5Pget_chunk(dcpl, rank, chunk.data()) != rank) fail(path, what + ": unreadable chunk shape");
  int64_t bytes = static_cast<int64_t>(H5Tget_size(type));
  for (hsize_t c : chunk) {
    auto p = checked_product(bytes, static_cast<int64_t>(std::min<hsize_t>(c, INT64_MAX)));
    bytes = p ? *p : INT64_MAX;
  }
  if (bytes > TraceLimits::kMaxChunkBytes)
    fail(path, what + ": chunks of " + std::to_string(bytes) + " bytes, expected at most " +
                   std::to_string(TraceLimits::kMaxChunkBytes));
}

std::string dims_text(const std::vector<hsize_t>& d) {
  std::string s = "[";
  for (size_t i = 0; i < d.size(); ++i) s += (i ? ", " : "") + std::to_string(d[i]);
  return s + "]";
}

}  // namespace

TraceHeader read_header(hid_t f, const std::string& path) {
  using trace_h5::read_attr_i64;
  using trace_h5::read_attr_str;
  TraceHeader h;
  const int64_t layers = read_attr_i64(f, "num_layers", path);
  const int64_t experts = read_attr_i64(f, "num_experts", path);
  const int64_t k = read_attr_i64(f, "top_k", path);
  check_range(layers, 1, TraceLimits::kMaxLayers, "num_layers", path);
  check_range(experts, 1, TraceLimits::kMaxExperts, "num_experts", path);
  check_range(k, 1, std::min(experts, TraceLimits::kMaxTopK), "top_k", path);
  h.num_layers = static_cast<int>(layers);
  h.num_experts = static_cast<int>(experts);
  h.top_k = static_cast<int>(k);
  h.num_tokens = read_attr_i64(f, "num_tokens", path);
  check_range(h.num_tokens, 0, TraceLimits::kMaxTokens, "num_tokens", path);
  h.num_requests = read_attr_i64(f, "num_requests", path);
  check_range(h.num_requests, 0, h.num_tokens, "num_requests", path);
  h.dropped_tokens = read_attr_i64(f, "dropped_tokens", path);
  check_range(h.dropped_tokens, 0, INT64_MAX, "dropped_tokens", path);
  h.statistics_only = read_attr_i64(f, "statistics_only", path) != 0;
  auto entries = h.statistics_only ? checked_product(layers, experts, experts)
                                   : checked_product(layers, h.num_tokens, k);
  const int64_t limit =
      h.statistics_only ? TraceLimits::kMaxCoactCells : TraceLimits::kMaxRoutingEntries;
  if (!entries || *entries > limit)
    fail(path,
         (h.statistics_only ? product_text(layers, "layers", experts, "experts", experts, "experts")
                            : product_text(layers, "layers", h.num_tokens, "tokens", k, "top-k")) +
             " is above the limit of " + std::to_string(limit) +
             " entries (results_schema/TRACE.md, Limits)");
  h.source = read_attr_str(f, "source", path);
  h.source_sha256 = read_attr_str(f, "source_sha256", path);
  h.import_format = read_attr_str(f, "import_format", path);
  h.model = read_attr_str(f, "model", path);
  h.family_names = read_families(f, path);
  return h;
}

Id open_dataset(hid_t file, const char* name, H5T_class_t cls, const std::vector<hsize_t>& dims,
                hid_t dapl, const std::string& path) {
  const std::string what = std::string("dataset '") + name + "'";
  if (!link_exists(file, name)) fail(path, what + " missing");
  Id ds(check_read_id(H5Dopen2(file, name, dapl), path, what));
  Id type(check_read_id(H5Dget_type(ds), path, what));
  Id space(check_read_id(H5Dget_space(ds), path, what));
  const size_t size = H5Tget_size(type);
  if (H5Tget_class(type) != cls || size < 1 || size > 8)
    fail(path, what + ": expected " + (cls == H5T_INTEGER ? "integers" : "floating-point numbers") +
                   " of at most 8 bytes");
  const int rank = H5Sget_simple_extent_ndims(space);
  std::vector<hsize_t> got(static_cast<size_t>(std::max(rank, 0)), 0);
  if (rank > 0) H5Sget_simple_extent_dims(space, got.data(), nullptr);
  if (H5Sget_simple_extent_type(space) != H5S_SIMPLE || got != dims)
    fail(path, what + ": extent " + dims_text(got) + ", expected " + dims_text(dims) +
                   " from the root attributes");
  check_layout(ds, type, rank, name, path);
  return ds;
}

std::vector<TokenMeta> read_metas(hid_t f, const TraceHeader& h, const std::string& path) {
  const hsize_t n = static_cast<hsize_t>(h.num_tokens);
  auto read = [&](const char* name, hid_t mem_type, void* buf) {
    Id ds = open_dataset(f, name, H5T_INTEGER, {n}, H5P_DEFAULT, path);
    if (n > 0)
      check_read(H5Dread(ds, mem_type, H5S_ALL, H5S_ALL, H5P_DEFAULT, buf), path,
                 std::string("dataset '") + name + "'");
  };
  std::vector<int64_t> req(n);
  std::vector<int32_t> fam(n), pos(n);
  std::vector<uint8_t> ph(n);
  read("/tokens/request_id", H5T_NATIVE_INT64, req.data());
  read("/tokens/family", H5T_NATIVE_INT32, fam.data());
  read("/tokens/phase", H5T_NATIVE_UINT8, ph.data());
  read("/tokens/position", H5T_NATIVE_INT32, pos.data());
  std::vector<TokenMeta> metas(n);
  const int32_t nf = static_cast<int32_t>(h.family_names.size());
  for (hsize_t t = 0; t < n; ++t) {
    const std::string at = "token " + std::to_string(t) + ": ";
    if (fam[t] < 0 || fam[t] >= nf)
      fail(path, "/tokens/family: " + at + "family " + std::to_string(fam[t]) + " outside [0, " +
                     std::to_string(nf) + ")");
    if (ph[t] > 1)
      fail(path, "/tokens/phase: " + at + "phase " + std::to_string(ph[t]) +
                     ", expected 0 (prefill) or 1 (decode)");
    if (pos[t] < 0) fail(path, "/tokens/position: " + at + "negative position");
    metas[t] = {req[t], fam[t], static_cast<Phase>(ph[t]), pos[t]};
  }
  return metas;
}

bool topk_ok(const int32_t* ids, int k, int num_experts) {
  for (int j = 0; j < k; ++j)
    if (ids[j] < 0 || ids[j] >= num_experts) return false;
  if (k <= 32) {
    for (int j = 1; j < k; ++j)
      for (int i = 0; i < j; ++i)
        if (ids[i] == ids[j]) return false;
    return true;
  }
  std::vector<int32_t> v(ids, ids + k);
  std::sort(v.begin(), v.end());
  return std::adjacent_find(v.begin(), v.end()) == v.end();
}

void check_topk(const int32_t* ids, int k, int num_experts, const std::string& path,
                const std::string& where) {
  if (topk_ok(ids, k, num_experts)) return;
  for (int j = 0; j < k; ++j) {
    if (ids[j] < 0 || ids[j] >= num_experts)
      fail(path, where + ": expert id " + std::to_string(ids[j]) + " outside [0, " +
                     std::to_string(num_experts) + ")");
  }
  std::vector<int32_t> v(ids, ids + k);
  std::sort(v.begin(), v.end());
  fail(path, where + ": expert " + std::to_string(*std::adjacent_find(v.begin(), v.end())) +
                 " repeated in one top-k");
}

void scan_routing(hid_t experts, hid_t weights, const TraceHeader& h, const std::string& path) {
  const int64_t k = h.top_k, n = h.num_tokens;
  const int64_t block = std::max<int64_t>(1, (int64_t{1} << 20) / k);
  std::vector<int32_t> e;
  std::vector<float> w;
  for (int l = 0; l < h.num_layers; ++l)
    for (int64_t b = 0; b < n; b += block) {
      const int64_t m = std::min(block, n - b);
      e.resize(static_cast<size_t>(m * k));
      w.resize(e.size());
      const std::vector<hsize_t> start = {static_cast<hsize_t>(l), static_cast<hsize_t>(b), 0},
                                 count = {1, static_cast<hsize_t>(m), static_cast<hsize_t>(k)};
      trace_h5::read_slab(experts, H5T_NATIVE_INT32, start, count, e.data(), path,
                          "/routing/experts");
      trace_h5::read_slab(weights, H5T_NATIVE_FLOAT, start, count, w.data(), path,
                          "/routing/weights");
      for (int64_t t = 0; t < m; ++t) {
        const int32_t* ids = &e[static_cast<size_t>(t * k)];
        const float* ws = &w[static_cast<size_t>(t * k)];
        if (topk_ok(ids, static_cast<int>(k), h.num_experts) &&
            std::all_of(ws, ws + k, [](float x) { return std::isfinite(x) && x >= 0; }))
          continue;
        const std::string where = "layer " + std::to_string(l) + ", token " + std::to_string(b + t);
        check_topk(ids, static_cast<int>(k), h.num_experts, path,
                   "/routing/experts[" + where + "]");
        for (int64_t j = 0; j < k; ++j)
          if (!std::isfinite(ws[j]) || ws[j] < 0)
            fail(path, "/routing/weights[" + where + "]: gate weight " + std::to_string(ws[j]) +
                           ", expected a finite number >= 0");
      }
    }
}

}  // namespace moeb::trace_check
