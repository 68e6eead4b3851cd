// The routing-trace file's HDF5 policy over the one wrapper (platform/h5.hpp): errors name the
// trace path (writing: H5Error; reading a file from elsewhere: InputError, exit 2), datasets grow
// along their token axis with hyperslab appends. Internal to src/workload.
#pragma once

#include <hdf5.h>

#include <cstdint>
#include <string>
#include <vector>

#include "platform/h5.hpp"

namespace moeb::trace_h5 {

// Ids, the exit hook and the error stack's system reason come from the one HDF5 wrapper.
using Id = h5::Handle;
using h5::skip_exit_cleanup;
using h5::system_reason;

// Writing: throws H5Error "PATH: HDF5 WHAT failed[: reason]".
hid_t check_id(hid_t id, const std::string& path, const std::string& what);
void check(herr_t rc, const std::string& path, const std::string& what);
// Reading a file from elsewhere: throws InputError "PATH: cannot read WHAT (damaged file?)".
hid_t check_read_id(hid_t id, const std::string& path, const std::string& what);
void check_read(herr_t rc, const std::string& path, const std::string& what);

void write_attr_i64(hid_t obj, const char* name, int64_t v, const std::string& path);
void write_attr_str(hid_t obj, const char* name, const std::string& v, const std::string& path);
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
