// HDF5 pieces of the routing-trace file that the generic wrapper does not have: datasets that
// grow along their token axis, hyperslab appends, and checked reads that report a damaged file
// as InputError (exit 2) naming the dataset. Internal to src/workload.
#pragma once

#include <hdf5.h>

#include <cstdint>
#include <string>
#include <vector>

namespace moeb::trace_h5 {

// RAII for one HDF5 id; closes it with the closer matching its kind (file, group, dataset, ...).
class Id {
 public:
  Id() = default;
  explicit Id(hid_t id) : id_(id) {}
  Id(Id&& o) noexcept : id_(o.id_) { o.id_ = -1; }
  Id& operator=(Id&& o) noexcept;
  Id(const Id&) = delete;
  Id& operator=(const Id&) = delete;
  ~Id() { reset(); }
  // Closes the id; returns false when HDF5 reports an error while closing (a file whose last
  // flush fails, e.g. on a full disk).
  bool reset();
  hid_t get() const { return id_; }
  operator hid_t() const { return id_; }  // NOLINT: ids pass straight into the C API

 private:
  hid_t id_ = -1;
};

void quiet();
// Tells the exit hook not to run libhdf5's cleanup (H5close), which crashes on a file whose
// writing failed part-way (1.10.8, H5F__close_cb). Called by a writer that gives up on a file.
void skip_exit_cleanup();
// The system error behind the current HDF5 error stack ("No space left on device"), or "".
std::string system_reason();

// Writing: throws H5Error "PATH: HDF5 WHAT failed[: reason]".
hid_t check_id(hid_t id, const std::string& path, const std::string& what);
void check(herr_t rc, const std::string& path, const std::string& what);
// Reading a file from elsewhere: throws InputError "PATH: cannot read WHAT (damaged file?)".
hid_t check_read_id(hid_t id, const std::string& path, const std::string& what);
void check_read(herr_t rc, const std::string& path, const std::string& what);

void write_attr_i64(hid_t obj, const char* name, int64_t v, const std::string& path);
void write_attr_str(hid_t obj, const char* name, const std::string& v, const std::string& path);
Id vlen_string_type(const std::string& path);
// Root attributes of a file from elsewhere: present, scalar, of the right class.
int64_t read_attr_i64(hid_t obj, const char* name, const std::string& path);
std::string read_attr_str(hid_t obj, const char* name, const std::string& path);

// A dataset that grows along `token_axis` (chunked, shuffle + deflate 1).
Id create_growing(hid_t loc, const char* name, hid_t file_type, std::vector<hsize_t> dims,
                  int token_axis, std::vector<hsize_t> chunk, const std::string& path);
// Appends `n` tokens (buffer laid out as the dataset with `n` on the token axis).
void append_rows(hid_t ds, hid_t mem_type, const void* buf, int64_t offset, int64_t n,
                 int token_axis, const std::string& path);
void write_dense(hid_t loc, const char* name, std::vector<hsize_t> dims, const double* data,
                 const std::string& path);
// Reads a whole hyperslab [start, start + count) of a dataset into `buf` (checked read).
void read_slab(hid_t ds, hid_t mem_type, const std::vector<hsize_t>& start,
               const std::vector<hsize_t>& count, void* buf, const std::string& path,
               const char* name);

}  // namespace moeb::trace_h5
