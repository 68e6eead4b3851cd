// TraceWriter: the routing-trace file written in streamed chunks to NAME.tmp, renamed on
// finish(). The reader is trace_reader.cpp; the HDF5 pieces trace_h5.cpp.
#include "workload/trace_file.hpp"

#include <hdf5.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>

#include "core/error.hpp"
#include "workload/trace_h5.hpp"

namespace moeb {

using namespace trace_h5;

// ---- writer ---------------------------------------------------------------------------------

struct TraceWriter::Impl {
  Id file, tokens, routing;
  Id request_id, family, phase, position, experts, weights;
  std::vector<int64_t> request_ids;  // of every token, for num_requests
  // Closes datasets and groups, then the file; false when a close fails (the last flush, e.g.
  // on a full disk).
  bool close() {
    bool ok = true;
    for (Id* id : {&request_id, &family, &phase, &position, &experts, &weights, &tokens, &routing})
      ok = id->reset() && ok;
    return file.reset() && ok;
  }
  // After a failed write: shrinks every growing dataset to no tokens, which drops its cached
  // chunks without writing them, so that closing has only metadata left to flush.
  void abandon() {
    for (Id* id : {&request_id, &family, &phase, &position, &experts, &weights}) {
      if (id->get() < 0) continue;
      hid_t space = H5Dget_space(*id);
      hsize_t dims[3] = {0, 0, 0};
      const int rank = space >= 0 ? H5Sget_simple_extent_dims(space, dims, nullptr) : -1;
      if (space >= 0) H5Sclose(space);
      if (rank == 3) dims[1] = 0;
      if (rank == 1) dims[0] = 0;
      if (rank == 1 || rank == 3) H5Dset_extent(*id, dims);
    }
    H5Eclear2(H5E_DEFAULT);
  }
  ~Impl() { close(); }
};

namespace {
// Creates `tmp` with every object closed by the file's close (H5F_CLOSE_STRONG), so that no id
// outlives a failed write into HDF5's own exit cleanup.
Id create_file(const std::string& tmp) {
  Id fapl(check_id(H5Pcreate(H5P_FILE_ACCESS), tmp, "H5Pcreate"));
  check(H5Pset_fclose_degree(fapl, H5F_CLOSE_STRONG), tmp, "H5Pset_fclose_degree");
  hid_t f = H5Fcreate(tmp.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, fapl);
  if (f < 0) {
    const std::string reason = system_reason();
    H5Eclear2(H5E_DEFAULT);
    throw InputError(tmp + ": cannot create file" + (reason.empty() ? "" : ": " + reason));
  }
  return Id(f);
}
}  // namespace

TraceWriter::TraceWriter(const std::string& path, const TraceHeader& header)
    : impl_(std::make_unique<Impl>()), header_(header), path_(path), out_(path) {
  h5::silence_errors();
  if (header_.num_layers < 1 || header_.num_experts < 1 || header_.top_k < 1 ||
      header_.top_k > header_.num_experts)
    throw InputError(path +
                     ": trace header needs layers >= 1, experts >= 1, 1 <= top_k <= experts");
  if (header_.family_names.empty()) header_.family_names = {"default"};
  auto& m = *impl_;
  m.file = create_file(out_.temp_path());
  if (header_.statistics_only) return;
  m.tokens = Id(check_id(H5Gcreate2(m.file, "tokens", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT), path_,
                         "create group"));
  m.routing = Id(check_id(H5Gcreate2(m.file, "routing", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT),
                          path_, "create group"));
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
  if (finished_) return;
  // Truncating first frees the space a failed write (a full disk) left behind, so that closing,
  // which flushes HDF5's metadata, succeeds: a file that fails to close stays open inside
  // libhdf5, whose exit cleanup then crashes on it (1.10.8).
  std::error_code ec;
  std::filesystem::resize_file(out_.temp_path(), 0, ec);
  if (impl_) impl_->abandon();
  impl_.reset();
  skip_exit_cleanup();
}  // out_ removes the temporary

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
    impl_->request_ids.push_back(mt.request_id);
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
  Id g(check_id(H5Gcreate2(impl_->file, "stats", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT), path_,
                "create group"));
  write_dense(g, "load", {l, e}, flat_load.data(), path_);
  write_dense(g, "coact", {l, e, e}, flat_coact.data(), path_);
}

namespace {
void write_families(hid_t f, const std::vector<std::string>& names, const std::string& path) {
  Id type = h5::vlen_string_type();
  hsize_t n = names.size();
  Id space(check_id(H5Screate_simple(1, &n, nullptr), path, "H5Screate_simple"));
  Id ds(check_id(H5Dcreate2(f, "families", type, space, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT),
                 path, "create dataset families"));
  std::vector<const char*> p;
  for (const auto& s : names) p.push_back(s.c_str());
  check(H5Dwrite(ds, type, H5S_ALL, H5S_ALL, H5P_DEFAULT, p.data()), path, "write families");
}
}  // namespace

void TraceWriter::finish() {
  auto& m = *impl_;
  hid_t f = m.file;
  // Requests: distinct ids (tokens of one request need not be contiguous in a log).
  std::sort(m.request_ids.begin(), m.request_ids.end());
  const int64_t requests =
      std::unique(m.request_ids.begin(), m.request_ids.end()) - m.request_ids.begin();
  write_attr_str(f, "format", kTraceFormatName, path_);
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
  write_families(f, header_.family_names, path_);
  check(H5Fflush(f, H5F_SCOPE_GLOBAL), path_, "H5Fflush");
  if (!m.close()) check(-1, out_.temp_path(), "close");  // the last flush failed: nothing renamed
  out_.commit();
  finished_ = true;
}

}  // namespace moeb
