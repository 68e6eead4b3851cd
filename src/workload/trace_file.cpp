#include "workload/trace_file.hpp"

#include <hdf5.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <numeric>

#include "core/error.hpp"
#include "workload/sha256.hpp"

namespace moeb {

namespace {

constexpr const char* kFormatName = "moebench-routing-trace";
constexpr size_t kChunkCacheBytes = 16u << 20;

// RAII for one HDF5 id; the closer matches the id's kind.
class H5Id {
 public:
  H5Id() = default;
  H5Id(hid_t id, herr_t (*closer)(hid_t)) : id_(id), closer_(closer) {}
  H5Id(H5Id&& o) noexcept : id_(o.id_), closer_(o.closer_) { o.id_ = -1; }
  H5Id& operator=(H5Id&& o) noexcept {
    reset();
    id_ = o.id_;
    closer_ = o.closer_;
    o.id_ = -1;
    return *this;
  }
  ~H5Id() { reset(); }
  void reset() {
    if (id_ >= 0 && closer_) closer_(id_);
    id_ = -1;
  }
  hid_t get() const { return id_; }
  operator hid_t() const { return id_; }

 private:
  hid_t id_ = -1;
  herr_t (*closer_)(hid_t) = nullptr;
};

hid_t check_id(hid_t id, const std::string& path, const std::string& what) {
  if (id < 0) throw H5Error(path + ": HDF5 " + what + " failed");
  return id;
}
void check(herr_t rc, const std::string& path, const std::string& what) {
  if (rc < 0) throw H5Error(path + ": HDF5 " + what + " failed");
}

void quiet_hdf5() { H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr); }

void write_attr_i64(hid_t obj, const char* name, int64_t v, const std::string& path) {
  H5Id space(check_id(H5Screate(H5S_SCALAR), path, "H5Screate"), H5Sclose);
  H5Id attr(check_id(H5Acreate2(obj, name, H5T_STD_I64LE, space, H5P_DEFAULT, H5P_DEFAULT), path,
                     std::string("create attribute ") + name),
            H5Aclose);
  check(H5Awrite(attr, H5T_NATIVE_INT64, &v), path, std::string("write attribute ") + name);
}

H5Id vlen_string_type(const std::string& path) {
  H5Id t(check_id(H5Tcopy(H5T_C_S1), path, "H5Tcopy"), H5Tclose);
  check(H5Tset_size(t, H5T_VARIABLE), path, "H5Tset_size");
  check(H5Tset_cset(t, H5T_CSET_UTF8), path, "H5Tset_cset");
  return t;
}

void write_attr_str(hid_t obj, const char* name, const std::string& v, const std::string& path) {
  H5Id type = vlen_string_type(path);
  H5Id space(check_id(H5Screate(H5S_SCALAR), path, "H5Screate"), H5Sclose);
  H5Id attr(check_id(H5Acreate2(obj, name, type, space, H5P_DEFAULT, H5P_DEFAULT), path,
                     std::string("create attribute ") + name),
            H5Aclose);
  const char* p = v.c_str();
  check(H5Awrite(attr, type, &p), path, std::string("write attribute ") + name);
}

bool has_attr(hid_t obj, const char* name) { return H5Aexists(obj, name) > 0; }

int64_t read_attr_i64(hid_t obj, const char* name, const std::string& path) {
  if (!has_attr(obj, name)) throw InputError(path + ": attribute '" + name + "' missing");
  H5Id attr(check_id(H5Aopen(obj, name, H5P_DEFAULT), path, "H5Aopen"), H5Aclose);
  int64_t v = 0;
  check(H5Aread(attr, H5T_NATIVE_INT64, &v), path, std::string("read attribute ") + name);
  return v;
}

std::string read_attr_str(hid_t obj, const char* name, const std::string& path) {
  if (!has_attr(obj, name)) throw InputError(path + ": attribute '" + name + "' missing");
  H5Id attr(check_id(H5Aopen(obj, name, H5P_DEFAULT), path, "H5Aopen"), H5Aclose);
  H5Id ftype(check_id(H5Aget_type(attr), path, "H5Aget_type"), H5Tclose);
  if (H5Tget_class(ftype) != H5T_STRING)
    throw InputError(path + ": attribute '" + name + "': expected a string");
  if (H5Tis_variable_str(ftype) > 0) {
    H5Id type = vlen_string_type(path);
    char* p = nullptr;
    check(H5Aread(attr, type, &p), path, std::string("read attribute ") + name);
    std::string s = p ? p : "";
    H5free_memory(p);
    return s;
  }
  size_t n = H5Tget_size(ftype);
  std::string s(n, '\0');
  H5Id mtype(check_id(H5Tcopy(H5T_C_S1), path, "H5Tcopy"), H5Tclose);
  H5Tset_size(mtype, n);
  check(H5Aread(attr, mtype, s.data()), path, std::string("read attribute ") + name);
  s.resize(std::strlen(s.c_str()));
  return s;
}

// A 1-D or 3-D dataset that grows along its token axis.
H5Id create_growing(hid_t loc, const char* name, hid_t file_type, std::vector<hsize_t> dims,
                    int token_axis, std::vector<hsize_t> chunk, const std::string& path) {
  std::vector<hsize_t> maxdims = dims;
  maxdims[token_axis] = H5S_UNLIMITED;
  H5Id space(check_id(H5Screate_simple(static_cast<int>(dims.size()), dims.data(), maxdims.data()),
                      path, "H5Screate_simple"),
             H5Sclose);
  H5Id dcpl(check_id(H5Pcreate(H5P_DATASET_CREATE), path, "H5Pcreate"), H5Pclose);
  check(H5Pset_chunk(dcpl, static_cast<int>(chunk.size()), chunk.data()), path, "H5Pset_chunk");
  check(H5Pset_shuffle(dcpl), path, "H5Pset_shuffle");
  check(H5Pset_deflate(dcpl, 1), path, "H5Pset_deflate");
  return H5Id(check_id(H5Dcreate2(loc, name, file_type, space, H5P_DEFAULT, dcpl, H5P_DEFAULT),
                       path, std::string("create dataset ") + name),
              H5Dclose);
}

// Appends `n` tokens (buffer laid out as the dataset with `n` on the token axis).
void append_rows(hid_t ds, hid_t mem_type, const void* buf, int64_t offset, int64_t n,
                 int token_axis, const std::string& path) {
  H5Id fspace0(check_id(H5Dget_space(ds), path, "H5Dget_space"), H5Sclose);
  int rank = H5Sget_simple_extent_ndims(fspace0);
  std::vector<hsize_t> dims(rank);
  H5Sget_simple_extent_dims(fspace0, dims.data(), nullptr);
  dims[token_axis] = static_cast<hsize_t>(offset + n);
  check(H5Dset_extent(ds, dims.data()), path, "H5Dset_extent");
  H5Id fspace(check_id(H5Dget_space(ds), path, "H5Dget_space"), H5Sclose);
  std::vector<hsize_t> start(rank, 0), count = dims;
  start[token_axis] = static_cast<hsize_t>(offset);
  count[token_axis] = static_cast<hsize_t>(n);
  check(H5Sselect_hyperslab(fspace, H5S_SELECT_SET, start.data(), nullptr, count.data(), nullptr),
        path, "H5Sselect_hyperslab");
  H5Id mspace(check_id(H5Screate_simple(rank, count.data(), nullptr), path, "H5Screate_simple"),
              H5Sclose);
  check(H5Dwrite(ds, mem_type, mspace, fspace, H5P_DEFAULT, buf), path, "H5Dwrite");
}

void write_dense(hid_t loc, const char* name, std::vector<hsize_t> dims, const double* data,
                 const std::string& path) {
  H5Id space(check_id(H5Screate_simple(static_cast<int>(dims.size()), dims.data(), nullptr), path,
                      "H5Screate_simple"),
             H5Sclose);
  H5Id dcpl(check_id(H5Pcreate(H5P_DATASET_CREATE), path, "H5Pcreate"), H5Pclose);
  std::vector<hsize_t> chunk = dims;
  chunk[0] = 1;
  check(H5Pset_chunk(dcpl, static_cast<int>(chunk.size()), chunk.data()), path, "H5Pset_chunk");
  check(H5Pset_deflate(dcpl, 1), path, "H5Pset_deflate");
  H5Id ds(check_id(H5Dcreate2(loc, name, H5T_IEEE_F64LE, space, H5P_DEFAULT, dcpl, H5P_DEFAULT),
                   path, std::string("create dataset ") + name),
          H5Dclose);
  check(H5Dwrite(ds, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, data), path, "H5Dwrite");
}

template <class T>
std::vector<T> read_1d(hid_t file, const char* name, hid_t mem_type, int64_t n,
                       const std::string& path) {
  if (H5Lexists(file, name, H5P_DEFAULT) <= 0)
    throw InputError(path + ": dataset '" + name + "' missing");
  H5Id ds(check_id(H5Dopen2(file, name, H5P_DEFAULT), path, std::string("open ") + name), H5Dclose);
  H5Id space(check_id(H5Dget_space(ds), path, "H5Dget_space"), H5Sclose);
  hsize_t dim = 0;
  if (H5Sget_simple_extent_ndims(space) != 1) throw InputError(path + ": '" + name + "' not 1-D");
  H5Sget_simple_extent_dims(space, &dim, nullptr);
  if (static_cast<int64_t>(dim) != n)
    throw InputError(path + ": dataset '" + name + "' has " + std::to_string(dim) +
                     " entries, expected num_tokens = " + std::to_string(n));
  std::vector<T> v(static_cast<size_t>(n));
  if (n > 0) check(H5Dread(ds, mem_type, H5S_ALL, H5S_ALL, H5P_DEFAULT, v.data()), path, name);
  return v;
}

}  // namespace

// ---- writer ---------------------------------------------------------------------------------

struct TraceWriter::Impl {
  H5Id file, tokens, routing;
  H5Id request_id, family, phase, position, experts, weights;
};

TraceWriter::TraceWriter(const std::string& path, const TraceHeader& header)
    : impl_(std::make_unique<Impl>()), header_(header), path_(path), tmp_path_(path + ".tmp") {
  quiet_hdf5();
  if (header_.num_layers < 1 || header_.num_experts < 1 || header_.top_k < 1 ||
      header_.top_k > header_.num_experts)
    throw InputError(path +
                     ": trace header needs layers >= 1, experts >= 1, 1 <= top_k <= experts");
  if (header_.family_names.empty()) header_.family_names = {"default"};
  auto& m = *impl_;
  m.file = H5Id(H5Fcreate(tmp_path_.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT), H5Fclose);
  if (m.file.get() < 0) throw InputError(tmp_path_ + ": cannot create file");
  if (header_.statistics_only) return;
  m.tokens = H5Id(check_id(H5Gcreate2(m.file, "tokens", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT),
                           path_, "create group"),
                  H5Gclose);
  m.routing = H5Id(check_id(H5Gcreate2(m.file, "routing", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT),
                            path_, "create group"),
                   H5Gclose);
  const hsize_t meta_chunk = 65536;
  m.request_id = create_growing(m.tokens, "request_id", H5T_STD_I64LE, {0}, 0, {meta_chunk}, path_);
  m.family = create_growing(m.tokens, "family", H5T_STD_I32LE, {0}, 0, {meta_chunk}, path_);
  m.phase = create_growing(m.tokens, "phase", H5T_STD_U8LE, {0}, 0, {meta_chunk}, path_);
  m.position = create_growing(m.tokens, "position", H5T_STD_I32LE, {0}, 0, {meta_chunk}, path_);
  const hsize_t l = static_cast<hsize_t>(header_.num_layers),
                k = static_cast<hsize_t>(header_.top_k);
  const hsize_t tok_chunk = std::max<hsize_t>(1024, 131072 / k);
  hid_t id_type = header_.num_experts <= 32767 ? H5T_STD_I16LE : H5T_STD_I32LE;
  m.experts = create_growing(m.routing, "experts", id_type, {l, 0, k}, 1, {1, tok_chunk, k}, path_);
  m.weights =
      create_growing(m.routing, "weights", H5T_IEEE_F32LE, {l, 0, k}, 1, {1, tok_chunk, k}, path_);
}

TraceWriter::~TraceWriter() {
  if (!finished_) {
    impl_.reset();
    std::error_code ec;
    std::filesystem::remove(tmp_path_, ec);
  }
}

void TraceWriter::append(const RoutingTrace& chunk) {
  if (header_.statistics_only) throw InputError(path_ + ": statistics-only trace takes no tokens");
  if (chunk.num_layers() != header_.num_layers || chunk.num_experts() != header_.num_experts ||
      chunk.top_k() != header_.top_k)
    throw InputError(path_ + ": appended tokens have another shape than the trace header");
  const int64_t n = chunk.num_tokens();
  if (n == 0) return;
  std::vector<int64_t> req(n);
  std::vector<int32_t> fam(n), pos(n);
  std::vector<uint8_t> ph(n);
  for (int64_t t = 0; t < n; ++t) {
    const auto& mt = chunk.meta(t);
    if (mt.family < 0 || mt.family >= static_cast<int32_t>(header_.family_names.size()))
      throw InputError(path_ + ": token family " + std::to_string(mt.family) +
                       " outside the family table");
    req[t] = mt.request_id;
    fam[t] = mt.family;
    pos[t] = mt.position;
    ph[t] = static_cast<uint8_t>(mt.phase);
  }
  auto& m = *impl_;
  append_rows(m.request_id, H5T_NATIVE_INT64, req.data(), tokens_, n, 0, path_);
  append_rows(m.family, H5T_NATIVE_INT32, fam.data(), tokens_, n, 0, path_);
  append_rows(m.phase, H5T_NATIVE_UINT8, ph.data(), tokens_, n, 0, path_);
  append_rows(m.position, H5T_NATIVE_INT32, pos.data(), tokens_, n, 0, path_);
  append_rows(m.experts, H5T_NATIVE_INT32, chunk.layer_experts(0).data(), tokens_, n, 1, path_);
  append_rows(m.weights, H5T_NATIVE_FLOAT, chunk.layer_weights(0).data(), tokens_, n, 1, path_);
  tokens_ += n;
}

void TraceWriter::write_statistics(const std::vector<std::vector<double>>& load,
                                   const std::vector<std::vector<double>>& coact) {
  const size_t l = static_cast<size_t>(header_.num_layers),
               e = static_cast<size_t>(header_.num_experts);
  if (!header_.statistics_only || load.size() != l || coact.size() != l)
    throw InputError(path_ + ": statistics need a statistics-only header and one entry per layer");
  std::vector<double> flat_load, flat_coact;
  for (size_t i = 0; i < l; ++i) {
    if (load[i].size() != e || coact[i].size() != e * e)
      throw InputError(path_ + ": statistics of layer " + std::to_string(i) + " have a wrong size");
    flat_load.insert(flat_load.end(), load[i].begin(), load[i].end());
    flat_coact.insert(flat_coact.end(), coact[i].begin(), coact[i].end());
  }
  H5Id g(check_id(H5Gcreate2(impl_->file, "stats", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT), path_,
                  "create group"),
         H5Gclose);
  write_dense(g, "load", {l, e}, flat_load.data(), path_);
  write_dense(g, "coact", {l, e, e}, flat_coact.data(), path_);
}

void TraceWriter::finish() {
  auto& m = *impl_;
  hid_t f = m.file;
  // Requests: distinct ids (tokens of one request need not be contiguous in a log).
  int64_t requests = 0;
  if (tokens_ > 0) {
    auto ids = read_1d<int64_t>(f, "/tokens/request_id", H5T_NATIVE_INT64, tokens_, tmp_path_);
    std::sort(ids.begin(), ids.end());
    requests = std::unique(ids.begin(), ids.end()) - ids.begin();
  }
  write_attr_str(f, "format", kFormatName, path_);
  write_attr_i64(f, "format_version", kTraceFormatVersion, path_);
  write_attr_i64(f, "num_layers", header_.num_layers, path_);
  write_attr_i64(f, "num_experts", header_.num_experts, path_);
  write_attr_i64(f, "top_k", header_.top_k, path_);
  write_attr_i64(f, "num_tokens", tokens_, path_);
  write_attr_i64(f, "num_requests", requests, path_);
  write_attr_i64(f, "dropped_tokens", header_.dropped_tokens, path_);
  write_attr_i64(f, "statistics_only", header_.statistics_only ? 1 : 0, path_);
  write_attr_str(f, "source", header_.source, path_);
  write_attr_str(f, "source_sha256", header_.source_sha256, path_);
  write_attr_str(f, "import_format", header_.import_format, path_);
  write_attr_str(f, "model", header_.model, path_);
  {
    H5Id type = vlen_string_type(path_);
    hsize_t n = header_.family_names.size();
    H5Id space(check_id(H5Screate_simple(1, &n, nullptr), path_, "H5Screate_simple"), H5Sclose);
    H5Id ds(check_id(H5Dcreate2(f, "families", type, space, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT),
                     path_, "create dataset families"),
            H5Dclose);
    std::vector<const char*> p;
    for (const auto& s : header_.family_names) p.push_back(s.c_str());
    check(H5Dwrite(ds, type, H5S_ALL, H5S_ALL, H5P_DEFAULT, p.data()), path_, "write families");
  }
  check(H5Fflush(f, H5F_SCOPE_GLOBAL), path_, "H5Fflush");
  impl_ = std::make_unique<Impl>();  // closes every id, the file last
  std::error_code ec;
  std::filesystem::rename(tmp_path_, path_, ec);
  if (ec) throw InputError(path_ + ": cannot rename " + tmp_path_ + ": " + ec.message());
  finished_ = true;
}

// ---- reader ---------------------------------------------------------------------------------

struct TraceReader::Impl {
  H5Id file, experts, weights;
};

TraceReader::TraceReader(const std::string& path) : impl_(std::make_unique<Impl>()), path_(path) {
  quiet_hdf5();
  if (!std::filesystem::exists(path)) throw InputError(path + ": no such trace file");
  if (H5Fis_hdf5(path.c_str()) <= 0) throw InputError(path + ": not an HDF5 file");
  auto& m = *impl_;
  m.file = H5Id(H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT), H5Fclose);
  if (m.file.get() < 0) throw InputError(path + ": cannot open as HDF5");
  hid_t f = m.file;
  if (!has_attr(f, "format") || read_attr_str(f, "format", path) != kFormatName)
    throw InputError(path + ": not a moebench routing trace (root attribute 'format' is not '" +
                     std::string(kFormatName) + "')");
  int64_t version = read_attr_i64(f, "format_version", path);
  if (version != kTraceFormatVersion)
    throw InputError(path + ": routing-trace format version " + std::to_string(version) +
                     ", this moebench reads version " + std::to_string(kTraceFormatVersion));
  header_.num_layers = static_cast<int>(read_attr_i64(f, "num_layers", path));
  header_.num_experts = static_cast<int>(read_attr_i64(f, "num_experts", path));
  header_.top_k = static_cast<int>(read_attr_i64(f, "top_k", path));
  header_.num_tokens = read_attr_i64(f, "num_tokens", path);
  header_.num_requests = read_attr_i64(f, "num_requests", path);
  header_.dropped_tokens = read_attr_i64(f, "dropped_tokens", path);
  header_.statistics_only = read_attr_i64(f, "statistics_only", path) != 0;
  header_.source = read_attr_str(f, "source", path);
  header_.source_sha256 = read_attr_str(f, "source_sha256", path);
  header_.import_format = read_attr_str(f, "import_format", path);
  header_.model = read_attr_str(f, "model", path);
  if (header_.num_layers < 1 || header_.num_experts < 1 || header_.top_k < 1 ||
      header_.top_k > header_.num_experts || header_.num_tokens < 0)
    throw InputError(path + ": inconsistent header (layers, experts, top_k, num_tokens)");
  {
    if (H5Lexists(f, "families", H5P_DEFAULT) <= 0)
      throw InputError(path + ": dataset 'families' missing");
    H5Id ds(check_id(H5Dopen2(f, "families", H5P_DEFAULT), path, "open families"), H5Dclose);
    H5Id space(check_id(H5Dget_space(ds), path, "H5Dget_space"), H5Sclose);
    hsize_t n = 0;
    H5Sget_simple_extent_dims(space, &n, nullptr);
    H5Id type = vlen_string_type(path);
    std::vector<char*> p(n, nullptr);
    if (n > 0) check(H5Dread(ds, type, H5S_ALL, H5S_ALL, H5P_DEFAULT, p.data()), path, "families");
    header_.family_names.clear();
    for (char* s : p) header_.family_names.emplace_back(s ? s : "");
    if (n > 0) H5Dvlen_reclaim(type, space, H5P_DEFAULT, p.data());
    if (header_.family_names.empty()) throw InputError(path + ": empty family name table");
  }
  if (header_.statistics_only) return;
  const int64_t n = header_.num_tokens;
  auto req = read_1d<int64_t>(f, "/tokens/request_id", H5T_NATIVE_INT64, n, path);
  auto fam = read_1d<int32_t>(f, "/tokens/family", H5T_NATIVE_INT32, n, path);
  auto ph = read_1d<uint8_t>(f, "/tokens/phase", H5T_NATIVE_UINT8, n, path);
  auto pos = read_1d<int32_t>(f, "/tokens/position", H5T_NATIVE_INT32, n, path);
  metas_.resize(static_cast<size_t>(n));
  const int32_t nf = static_cast<int32_t>(header_.family_names.size());
  for (int64_t t = 0; t < n; ++t) {
    if (fam[t] < 0 || fam[t] >= nf || ph[t] > 1)
      throw InputError(path + ": token " + std::to_string(t) +
                       ": family outside the name table or phase not 0/1");
    metas_[t] = {req[t], fam[t], static_cast<Phase>(ph[t]), pos[t]};
  }
  H5Id dapl(check_id(H5Pcreate(H5P_DATASET_ACCESS), path, "H5Pcreate"), H5Pclose);
  check(H5Pset_chunk_cache(dapl, 1021, kChunkCacheBytes, 0.75), path, "H5Pset_chunk_cache");
  for (auto [name, slot] :
       {std::pair{"/routing/experts", &m.experts}, {"/routing/weights", &m.weights}}) {
    if (H5Lexists(f, "routing", H5P_DEFAULT) <= 0 || H5Lexists(f, name, H5P_DEFAULT) <= 0)
      throw InputError(path + ": dataset '" + name + "' missing");
    *slot = H5Id(check_id(H5Dopen2(f, name, dapl), path, std::string("open ") + name), H5Dclose);
    H5Id space(check_id(H5Dget_space(*slot), path, "H5Dget_space"), H5Sclose);
    hsize_t dims[3] = {0, 0, 0};
    if (H5Sget_simple_extent_ndims(space) != 3) throw InputError(path + ": '" + name + "' not 3-D");
    H5Sget_simple_extent_dims(space, dims, nullptr);
    if (dims[0] != static_cast<hsize_t>(header_.num_layers) || dims[1] != static_cast<hsize_t>(n) ||
        dims[2] != static_cast<hsize_t>(header_.top_k))
      throw InputError(path + ": dataset '" + name + "' is not [num_layers, num_tokens, top_k]");
  }
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
  // Runs of nearby tokens (gaps <= kGap) are read as one hyperslab per layer, so buffers stay
  // at kMaxSpan * k values whatever the batch. Layers outermost: consecutive runs of one layer
  // share chunks, which the chunk cache then decompresses once.
  constexpr int64_t kGap = 512, kMaxSpan = 1 << 14;
  struct Run {
    int64_t a, b;
    size_t i, j;  // entries [i, j) of `order`
  };
  std::vector<Run> runs;
  for (size_t i = 0; i < order.size();) {
    int64_t a = order[i].first, b = a + 1;
    size_t j = i + 1;
    while (j < order.size() && order[j].first - b <= kGap && order[j].first + 1 - a <= kMaxSpan)
      b = std::max(b, order[j++].first + 1);
    runs.push_back({a, b, i, j});
    i = j;
  }
  std::vector<int32_t> ebuf;
  std::vector<float> wbuf;
  for (int l = 0; l < num_layers; ++l) {
    for (const Run& run : runs) {
      const int64_t span = run.b - run.a;
      ebuf.resize(static_cast<size_t>(span) * k);
      wbuf.resize(ebuf.size());
      hsize_t start[3] = {static_cast<hsize_t>(l), static_cast<hsize_t>(run.a), 0};
      hsize_t count[3] = {1, static_cast<hsize_t>(span), static_cast<hsize_t>(k)};
      for (auto [ds, type, buf] :
           {std::tuple{impl_->experts.get(), H5T_NATIVE_INT32, static_cast<void*>(ebuf.data())},
            std::tuple{impl_->weights.get(), H5T_NATIVE_FLOAT, static_cast<void*>(wbuf.data())}}) {
        H5Id fspace(check_id(H5Dget_space(ds), path_, "H5Dget_space"), H5Sclose);
        check(H5Sselect_hyperslab(fspace, H5S_SELECT_SET, start, nullptr, count, nullptr), path_,
              "H5Sselect_hyperslab");
        H5Id mspace(check_id(H5Screate_simple(3, count, nullptr), path_, "H5Screate_simple"),
                    H5Sclose);
        check(H5Dread(ds, type, mspace, fspace, H5P_DEFAULT, buf), path_, "read routing");
      }
      for (size_t q = run.i; q < run.j; ++q) {
        const size_t src = static_cast<size_t>(order[q].first - run.a) * k;
        auto e = out.experts(l, order[q].second);
        auto w = out.weights(l, order[q].second);
        for (int x = 0; x < k; ++x) {
          e[x] = ebuf[src + x];
          w[x] = wbuf[src + x];
        }
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
  hid_t f = impl_->file;
  if (H5Lexists(f, "stats", H5P_DEFAULT) <= 0) throw InputError(path_ + ": group 'stats' missing");
  auto read_all = [&](const char* name, size_t expect) {
    if (H5Lexists(f, name, H5P_DEFAULT) <= 0)
      throw InputError(path_ + ": dataset '" + name + "' missing");
    H5Id ds(check_id(H5Dopen2(f, name, H5P_DEFAULT), path_, name), H5Dclose);
    H5Id space(check_id(H5Dget_space(ds), path_, "H5Dget_space"), H5Sclose);
    if (static_cast<size_t>(H5Sget_simple_extent_npoints(space)) != expect)
      throw InputError(path_ + ": dataset '" + name + "' has a wrong size");
    std::vector<double> v(expect);
    check(H5Dread(ds, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, v.data()), path_, name);
    return v;
  };
  const size_t l_all = static_cast<size_t>(header_.num_layers);
  auto load = read_all("/stats/load", l_all * e);
  auto coact = read_all("/stats/coact", l_all * e * e);
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
