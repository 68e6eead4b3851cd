#include "workload/trace_h5.hpp"

#include <cstring>

#include "core/error.hpp"

namespace moeb::trace_h5 {

hid_t check_id(hid_t id, const std::string& path, const std::string& what) {
  if (id < 0) check(-1, path, what);
  return id;
}

void check(herr_t rc, const std::string& path, const std::string& what) {
  if (rc >= 0) return;
  const std::string reason = system_reason();
  H5Eclear2(H5E_DEFAULT);
  throw H5Error(path + ": HDF5 " + what + " failed" + (reason.empty() ? "" : ": " + reason));
}

hid_t check_read_id(hid_t id, const std::string& path, const std::string& what) {
  if (id < 0) check_read(-1, path, what);
  return id;
}

void check_read(herr_t rc, const std::string& path, const std::string& what) {
  if (rc >= 0) return;
  H5Eclear2(H5E_DEFAULT);
  throw InputError(path + ": cannot read " + what + " (damaged file?)");
}

void write_attr_i64(hid_t obj, const char* name, int64_t v, const std::string& path) {
  Id space(check_id(H5Screate(H5S_SCALAR), path, "H5Screate"));
  Id attr(check_id(H5Acreate2(obj, name, H5T_STD_I64LE, space, H5P_DEFAULT, H5P_DEFAULT), path,
                   std::string("create attribute ") + name));
  check(H5Awrite(attr, H5T_NATIVE_INT64, &v), path, std::string("write attribute ") + name);
}

void write_attr_str(hid_t obj, const char* name, const std::string& v, const std::string& path) {
  Id type = h5::vlen_string_type();
  Id space(check_id(H5Screate(H5S_SCALAR), path, "H5Screate"));
  Id attr(check_id(H5Acreate2(obj, name, type, space, H5P_DEFAULT, H5P_DEFAULT), path,
                   std::string("create attribute ") + name));
  const char* p = v.c_str();
  check(H5Awrite(attr, type, &p), path, std::string("write attribute ") + name);
}

namespace {
// Opens root attribute `name`, which must be a scalar of class `cls`.
Id open_scalar_attr(hid_t obj, const char* name, H5T_class_t cls, const char* expected,
                    const std::string& path) {
  if (H5Aexists(obj, name) <= 0) throw InputError(path + ": attribute '" + name + "' missing");
  const std::string what = std::string("attribute '") + name + "'";
  Id attr(check_read_id(H5Aopen(obj, name, H5P_DEFAULT), path, what));
  Id space(check_read_id(H5Aget_space(attr), path, what));
  Id type(check_read_id(H5Aget_type(attr), path, what));
  if (H5Sget_simple_extent_npoints(space) != 1 || H5Tget_class(type) != cls)
    throw InputError(path + ": " + what + ": expected " + expected);
  return attr;
}
}  // namespace

int64_t read_attr_i64(hid_t obj, const char* name, const std::string& path) {
  Id attr = open_scalar_attr(obj, name, H5T_INTEGER, "one integer", path);
  int64_t v = 0;
  check_read(H5Aread(attr, H5T_NATIVE_INT64, &v), path, std::string("attribute '") + name + "'");
  return v;
}

std::string read_attr_str(hid_t obj, const char* name, const std::string& path) {
  Id attr = open_scalar_attr(obj, name, H5T_STRING, "one string", path);
  const std::string what = std::string("attribute '") + name + "'";
  Id ftype(check_read_id(H5Aget_type(attr), path, what));
  if (H5Tis_variable_str(ftype) > 0) {
    Id type = h5::vlen_string_type();
    char* p = nullptr;
    check_read(H5Aread(attr, type, &p), path, what);
    std::string s = p ? p : "";
    H5free_memory(p);
    return s;
  }
  const size_t n = H5Tget_size(ftype);
  if (n == 0 || n > (1u << 20))
    throw InputError(path + ": " + what + ": string size " + std::to_string(n) + " out of range");
  std::string s(n, '\0');
  Id mtype(check_read_id(H5Tcopy(H5T_C_S1), path, what));
  check_read(H5Tset_size(mtype, n), path, what);
  check_read(H5Aread(attr, mtype, s.data()), path, what);
  s.resize(std::strlen(s.c_str()));
  return s;
}

Id create_growing(hid_t loc, const char* name, hid_t file_type, std::vector<hsize_t> dims,
                  int token_axis, std::vector<hsize_t> chunk, const std::string& path) {
  std::vector<hsize_t> maxdims = dims;
  maxdims[static_cast<size_t>(token_axis)] = H5S_UNLIMITED;
  Id space(check_id(H5Screate_simple(static_cast<int>(dims.size()), dims.data(), maxdims.data()),
                    path, "H5Screate_simple"));
  Id dcpl(check_id(H5Pcreate(H5P_DATASET_CREATE), path, "H5Pcreate"));
  check(H5Pset_chunk(dcpl, static_cast<int>(chunk.size()), chunk.data()), path, "H5Pset_chunk");
  check(H5Pset_shuffle(dcpl), path, "H5Pset_shuffle");
  check(H5Pset_deflate(dcpl, 1), path, "H5Pset_deflate");
  return Id(check_id(H5Dcreate2(loc, name, file_type, space, H5P_DEFAULT, dcpl, H5P_DEFAULT), path,
                     std::string("create dataset ") + name));
}

void append_rows(hid_t ds, hid_t mem_type, const void* buf, int64_t offset, int64_t n,
                 int token_axis, const std::string& path) {
  Id fspace0(check_id(H5Dget_space(ds), path, "H5Dget_space"));
  const int rank = H5Sget_simple_extent_ndims(fspace0);
  std::vector<hsize_t> dims(static_cast<size_t>(rank));
  H5Sget_simple_extent_dims(fspace0, dims.data(), nullptr);
  const size_t axis = static_cast<size_t>(token_axis);
  dims[axis] = static_cast<hsize_t>(offset + n);
  check(H5Dset_extent(ds, dims.data()), path, "H5Dset_extent");
  Id fspace(check_id(H5Dget_space(ds), path, "H5Dget_space"));
  std::vector<hsize_t> start(static_cast<size_t>(rank), 0), count = dims;
  start[axis] = static_cast<hsize_t>(offset);
  count[axis] = static_cast<hsize_t>(n);
  check(H5Sselect_hyperslab(fspace, H5S_SELECT_SET, start.data(), nullptr, count.data(), nullptr),
        path, "H5Sselect_hyperslab");
  Id mspace(check_id(H5Screate_simple(rank, count.data(), nullptr), path, "H5Screate_simple"));
  check(H5Dwrite(ds, mem_type, mspace, fspace, H5P_DEFAULT, buf), path, "H5Dwrite");
}

void write_dense(hid_t loc, const char* name, std::vector<hsize_t> dims, const double* data,
                 const std::string& path) {
  Id space(check_id(H5Screate_simple(static_cast<int>(dims.size()), dims.data(), nullptr), path,
                    "H5Screate_simple"));
  // Contiguous: the write goes straight to the file (no chunk cache left dirty on a failure).
  Id ds(
      check_id(H5Dcreate2(loc, name, H5T_IEEE_F64LE, space, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT),
               path, std::string("create dataset ") + name));
  check(H5Dwrite(ds, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, data), path, "H5Dwrite");
}

void read_slab(hid_t ds, hid_t mem_type, const std::vector<hsize_t>& start,
               const std::vector<hsize_t>& count, void* buf, const std::string& path,
               const char* name) {
  const std::string what = std::string("dataset '") + name + "'";
  Id fspace(check_read_id(H5Dget_space(ds), path, what));
  check_read(
      H5Sselect_hyperslab(fspace, H5S_SELECT_SET, start.data(), nullptr, count.data(), nullptr),
      path, what);
  Id mspace(check_read_id(H5Screate_simple(static_cast<int>(count.size()), count.data(), nullptr),
                          path, what));
  check_read(H5Dread(ds, mem_type, mspace, fspace, H5P_DEFAULT, buf), path, what);
}

}  // namespace moeb::trace_h5
