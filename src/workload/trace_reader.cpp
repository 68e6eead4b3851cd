// TraceReader: opens a routing-trace file from anywhere after checking it (trace_check.cpp),
// then reads any token list by hyperslab without loading the routing whole.
#include <hdf5.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <numeric>

#include "core/error.hpp"
#include "platform/h5_guard.hpp"
#include "workload/sha256.hpp"
#include "workload/trace_check.hpp"
#include "workload/trace_file.hpp"
#include "workload/trace_h5.hpp"
#include "workload/trace_limits.hpp"

namespace moeb {

using namespace trace_h5;

namespace {
constexpr size_t kChunkCacheBytes = 16u << 20;

// What a file that is not HDF5 looks like, for the message.
std::string not_hdf5_hint(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  char c = 0;
  while (in.get(c) && (c == ' ' || c == '\n' || c == '\r' || c == '\t')) {
  }
  if (c == '{')
    return " (it looks like JSON lines: import it with `moebench trace import --format "
           "jsonl-topk`)";
  if (std::isalpha(static_cast<unsigned char>(c)))
    return " (it looks like text, CSV perhaps: import it with `moebench trace import --format "
           "csv` or `coact-csv`)";
  return "";
}

Id open_trace_file(const std::string& path) {
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) throw InputError(path + ": no such trace file");
  if (std::filesystem::is_directory(path, ec))
    throw InputError(path + ": is a directory, expected a routing-trace file");
  if (H5Fis_hdf5(path.c_str()) <= 0) {
    H5Eclear2(H5E_DEFAULT);
    throw InputError(path + ": not an HDF5 file" + not_hdf5_hint(path));
  }
  // A crash inside libhdf5 ends a child, not this process: the same reading there first.
  h5::guard_untrusted_file(path, "trace", [&path] { TraceReader child(path); });
  Id fapl(check_read_id(H5Pcreate(H5P_FILE_ACCESS), path, "file"));
  H5Pset_fclose_degree(fapl, H5F_CLOSE_STRONG);
  Id file(H5Fopen(path.c_str(), H5F_ACC_RDONLY, fapl));
  if (file.get() < 0) {
    H5Eclear2(H5E_DEFAULT);
    throw InputError(path + ": cannot open as HDF5 (damaged file, or no read permission)");
  }
  if (H5Aexists(file, "format") <= 0 || read_attr_str(file, "format", path) != kTraceFormatName)
    throw InputError(path + ": not a moebench routing trace (root attribute 'format' is not '" +
                     std::string(kTraceFormatName) + "'; a results file? see `moebench validate`)");
  const int64_t version = read_attr_i64(file, "format_version", path);
  if (version != kTraceFormatVersion)
    throw InputError(path + ": routing-trace format version " + std::to_string(version) +
                     ", this moebench reads version " + std::to_string(kTraceFormatVersion));
  return file;
}
// Runs of nearby tokens (gaps <= kGap) of `order` (sorted (token, slot) pairs), each read as
// one hyperslab per layer, so buffers stay at kMaxSpan * k values whatever the batch. Layers
// outermost: consecutive runs of one layer share chunks, which the chunk cache decompresses once.
struct Run {
  int64_t a, b;
  size_t i, j;  // entries [i, j) of `order`
};
std::vector<Run> plan_runs(const std::vector<std::pair<int64_t, int64_t>>& order) {
  constexpr int64_t kGap = 512, kMaxSpan = 1 << 14;
  std::vector<Run> runs;
  for (size_t i = 0; i < order.size();) {
    int64_t a = order[i].first, b = a + 1;
    size_t j = i + 1;
    while (j < order.size() && order[j].first - b <= kGap && order[j].first + 1 - a <= kMaxSpan)
      b = std::max(b, order[j++].first + 1);
    runs.push_back({a, b, i, j});
    i = j;
  }
  return runs;
}

// A whole /stats dataset, checked: shape as the attributes say, values finite and >= 0.
std::vector<double> read_stats(hid_t file, const char* name, const std::vector<hsize_t>& dims,
                               const std::string& path) {
  Id ds = trace_check::open_dataset(file, name, H5T_FLOAT, dims, H5P_DEFAULT, path);
  size_t n = 1;
  for (hsize_t d : dims) n *= static_cast<size_t>(d);
  std::vector<double> v(n);
  check_read(H5Dread(ds, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, v.data()), path,
             std::string("dataset '") + name + "'");
  for (size_t i = 0; i < n; ++i)
    if (!std::isfinite(v[i]) || v[i] < 0)
      throw InputError(path + ": " + name + "[" + std::to_string(i) + "]: count " +
                       std::to_string(v[i]) + ", expected a finite number >= 0");
  return v;
}
}  // namespace

bool is_routing_trace_file(const std::string& path) {
  h5::silence_errors();
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec) || H5Fis_hdf5(path.c_str()) <= 0) {
    H5Eclear2(H5E_DEFAULT);
    return false;
  }
  h5::guard_untrusted_file(path);
  Id file(H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT));
  bool trace = false;
  if (file.get() >= 0 && H5Aexists(file, "format") > 0) {
    try {
      trace = read_attr_str(file, "format", path) == kTraceFormatName;
    } catch (const Error&) {
      trace = false;
    }
  }
  H5Eclear2(H5E_DEFAULT);
  return trace;
}

struct TraceReader::Impl {
  Id file, experts, weights;
};

TraceReader::TraceReader(const std::string& path) : impl_(std::make_unique<Impl>()), path_(path) {
  h5::silence_errors();
  auto& m = *impl_;
  m.file = open_trace_file(path);
  header_ = trace_check::read_header(m.file, path);
  const hsize_t l = static_cast<hsize_t>(header_.num_layers),
                e = static_cast<hsize_t>(header_.num_experts),
                k = static_cast<hsize_t>(header_.top_k);
  if (header_.statistics_only) {
    trace_check::open_dataset(m.file, "/stats/load", H5T_FLOAT, {l, e}, H5P_DEFAULT, path);
    trace_check::open_dataset(m.file, "/stats/coact", H5T_FLOAT, {l, e, e}, H5P_DEFAULT, path);
    return;
  }
  metas_ = trace_check::read_metas(m.file, header_, path);
  const hsize_t n = static_cast<hsize_t>(header_.num_tokens);
  Id dapl(check_read_id(H5Pcreate(H5P_DATASET_ACCESS), path, "file"));
  check_read(H5Pset_chunk_cache(dapl, 1021, kChunkCacheBytes, 0.75), path, "file");
  m.experts =
      trace_check::open_dataset(m.file, "/routing/experts", H5T_INTEGER, {l, n, k}, dapl, path);
  m.weights =
      trace_check::open_dataset(m.file, "/routing/weights", H5T_FLOAT, {l, n, k}, dapl, path);
  trace_check::scan_routing(m.experts, m.weights, header_, path);
}

TraceReader::~TraceReader() = default;

RoutingTrace TraceReader::read(std::span<const int64_t> tokens, int num_layers) const {
  if (header_.statistics_only)
    throw InputError(path_ + ": statistics-only trace has no tokens to replay");
  if (num_layers < 1 || num_layers > header_.num_layers)
    throw InputError(path_ + ": asked for " + std::to_string(num_layers) + " layers, trace has " +
                     std::to_string(header_.num_layers));
  const int k = header_.top_k;
  const int64_t n = static_cast<int64_t>(tokens.size());
  RoutingTrace out(num_layers, k, header_.num_experts, n);
  out.family_names = header_.family_names;
  out.source = path_;
  out.sha256 = sha_;
  // (token, output slot), sorted by token: contiguous runs become one hyperslab read each.
  std::vector<std::pair<int64_t, int64_t>> order(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) {
    if (tokens[i] < 0 || tokens[i] >= num_tokens())
      throw InputError(path_ + ": token " + std::to_string(tokens[i]) + " outside the trace");
    order[i] = {tokens[i], i};
    out.meta(i) = metas_[tokens[i]];
  }
  std::sort(order.begin(), order.end());
  const std::vector<Run> runs = plan_runs(order);
  std::vector<int32_t> ebuf;
  std::vector<float> wbuf;
  for (int l = 0; l < num_layers; ++l) {
    for (const Run& run : runs) {
      const int64_t span = run.b - run.a;
      ebuf.resize(static_cast<size_t>(span) * k);
      wbuf.resize(ebuf.size());
      const std::vector<hsize_t> start = {static_cast<hsize_t>(l), static_cast<hsize_t>(run.a), 0};
      const std::vector<hsize_t> count = {1, static_cast<hsize_t>(span), static_cast<hsize_t>(k)};
      read_slab(impl_->experts, H5T_NATIVE_INT32, start, count, ebuf.data(), path_,
                "/routing/experts");
      read_slab(impl_->weights, H5T_NATIVE_FLOAT, start, count, wbuf.data(), path_,
                "/routing/weights");
      for (size_t q = run.i; q < run.j; ++q) {
        const size_t src = static_cast<size_t>(order[q].first - run.a) * k;
        // Checked at open; checked again so that a file changed since cannot index out of range.
        trace_check::check_topk(&ebuf[src], k, header_.num_experts, path_,
                                "/routing/experts[layer " + std::to_string(l) + "]");
        std::copy_n(&ebuf[src], k, out.experts(l, order[q].second).begin());
        std::copy_n(&wbuf[src], k, out.weights(l, order[q].second).begin());
      }
    }
  }
  return out;
}

RoutingTrace TraceReader::read_range(int64_t begin, int64_t end) const {
  std::vector<int64_t> idx(static_cast<size_t>(std::max<int64_t>(0, end - begin)));
  std::iota(idx.begin(), idx.end(), begin);
  return read(idx, header_.num_layers);
}

RoutingStats TraceReader::statistics(int num_layers) const {
  if (num_layers < 1 || num_layers > header_.num_layers)
    throw InputError(path_ + ": asked for " + std::to_string(num_layers) + " layers, trace has " +
                     std::to_string(header_.num_layers));
  const int e = header_.num_experts;
  RoutingStats stats(num_layers, e, header_.family_names);
  if (!header_.statistics_only) {
    constexpr int64_t kBlock = 16384;
    for (int64_t b = 0; b < num_tokens(); b += kBlock) {
      std::vector<int64_t> idx(static_cast<size_t>(std::min(kBlock, num_tokens() - b)));
      std::iota(idx.begin(), idx.end(), b);
      stats.add_batch(read(idx, num_layers));
    }
    return stats;
  }
  const hsize_t l_all = static_cast<hsize_t>(header_.num_layers), ue = static_cast<hsize_t>(e);
  auto load = read_stats(impl_->file, "/stats/load", {l_all, ue}, path_);
  auto coact = read_stats(impl_->file, "/stats/coact", {l_all, ue, ue}, path_);
  for (int l = 0; l < num_layers; ++l)
    for (int i = 0; i < e; ++i) {
      stats.add_load(l, i, load[static_cast<size_t>(l) * e + i]);
      for (int j = i + 1; j < e; ++j) {
        double c = coact[(static_cast<size_t>(l) * e + i) * e + j];
        if (c != 0) stats.add_coactivation(l, i, j, c);
      }
    }
  return stats;
}

std::string TraceReader::file_sha256() const {
  if (sha_.empty()) sha_ = sha256_file(path_);
  return sha_;
}

}  // namespace moeb
