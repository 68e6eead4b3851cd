// Thin, checked wrappers over the HDF5 C API: RAII handles, typed attributes and datasets.
// Every HDF5 call goes through MOEB_H5_CHECK, which throws moeb::H5Error naming the call.
#pragma once

#include <hdf5.h>

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/error.hpp"

namespace moeb::h5 {

// Turns off HDF5's own error-stack printing (once per process); errors surface as H5Error.
void silence_errors();

[[noreturn]] void fail(const char* call, const char* file, int line);

// The system error behind the current HDF5 error stack ("No space left on device"), or "".
std::string system_reason();

// libhdf5 closes every file still open when the process exits and crashes (1.10.8,
// H5F__close_cb) on a file whose H5Fclose failed (a last flush on a full disk). Its exit hook is
// replaced by one that skips that cleanup once this was called, by a writer that gave up on a
// file after reporting the error.
void skip_exit_cleanup();

}  // namespace moeb::h5

// Throws H5Error when an HDF5 call returns a negative value (herr_t, hid_t, htri_t, ssize_t).
#define MOEB_H5_CHECK(call)                                           \
  ([&]() {                                                            \
    auto moeb_h5_rc_ = (call);                                        \
    if (moeb_h5_rc_ < 0) ::moeb::h5::fail(#call, __FILE__, __LINE__); \
    return moeb_h5_rc_;                                               \
  }())

namespace moeb::h5 {

// Owns one hid_t and closes it with the matching H5*close.
class Handle {
 public:
  Handle() = default;
  explicit Handle(hid_t id) : id_(id) {}
  Handle(const Handle&) = delete;
  Handle& operator=(const Handle&) = delete;
  Handle(Handle&& o) noexcept : id_(o.id_) { o.id_ = -1; }
  Handle& operator=(Handle&& o) noexcept;
  ~Handle() { reset(); }
  // Closes the id now; false when HDF5 reports an error while closing (a file whose last flush
  // fails, e.g. on a full disk).
  bool reset();
  hid_t get() const { return id_; }
  operator hid_t() const { return id_; }  // NOLINT: handles pass straight into the C API
  bool valid() const { return id_ >= 0; }

 private:
  hid_t id_ = -1;
};

Handle vlen_string_type();                       // variable-length UTF-8 string
Handle create_file(const std::string& path);     // truncates
// Open for reading, and for writing. While another process holds the file's HDF5 lock against
// this open (for reading: a writer, e.g. a run appending a strategy; for writing: any reader
// with the file open, h5py, h5ls, HDFView, moebench validate), each waits for it, up to
// wait_for_lock, with one note on stderr if the wait passes 2 s; then, or on any other
// failure, throws InputError with one line.
Handle open_file_read(const std::string& path,
                      std::chrono::milliseconds wait_for_lock = std::chrono::seconds(120));
Handle open_file_rw(const std::string& path,
                    std::chrono::milliseconds wait_for_lock = std::chrono::seconds(120));
Handle create_group(hid_t parent, const std::string& name, bool track_order = false);
// A group linked nowhere yet (H5Gcreate_anon): fill it, then link() it into place. Written
// but never linked (an error or a crash on the way), it is unreachable space, not a torn group.
Handle create_unlinked_group(hid_t file, bool track_order = false);
void link(hid_t obj, hid_t parent, const std::string& name);  // hard link parent/name -> obj
Handle open_group(hid_t parent, const std::string& name);
Handle open_dataset(hid_t parent, const std::string& name);
bool exists(hid_t parent, const std::string& name);  // link exists (one path component)
bool has_attr(hid_t obj, const std::string& name);
void flush(hid_t file);  // every buffer of the file to disk (H5Fflush, global scope)

// Attributes. Writing an existing scalar attribute of the same type overwrites it in place
// (its creation order is kept); any other existing attribute of that name is replaced.
void write_attr(hid_t obj, const std::string& name, const std::string& v);
void write_attr(hid_t obj, const std::string& name, int64_t v);
void write_attr(hid_t obj, const std::string& name, double v);
void write_attr(hid_t obj, const std::string& name, const std::vector<std::string>& v);
enum class AttrClass { kString, kInt, kFloat, kOther };
AttrClass attr_class(hid_t obj, const std::string& name);
std::string read_attr_str(hid_t obj, const std::string& name);
int64_t read_attr_int(hid_t obj, const std::string& name);
double read_attr_float(hid_t obj, const std::string& name);  // ints are converted
std::vector<std::string> read_attr_str_list(hid_t obj, const std::string& name);
// Attribute names of an object, in creation order when tracked, else name order.
std::vector<std::string> attr_names(hid_t obj);
// Child link names of a group, in name order.
std::vector<std::string> child_names(hid_t group);

// Datasets. Large ones (>= kChunkThreshold elements) are chunked and deflated.
constexpr size_t kChunkThreshold = 4096;
// The filters of chunked datasets: shuffle, then deflate at `deflate_level` (0 = none).
// Lossless either way: a dataset's values do not depend on it. Process-wide; the default is
// chosen by measurement (bench/README.md, results file), the setter is for benchmarks.
struct Compression {
  int deflate_level = 1;
  bool shuffle = true;
};
Compression compression();
void set_compression(Compression c);
void write_dataset(hid_t parent, const std::string& name, const std::vector<hsize_t>& dims,
                   const int64_t* data, const char* units);
void write_dataset(hid_t parent, const std::string& name, const std::vector<hsize_t>& dims,
                   const int32_t* data, const char* units);
void write_dataset(hid_t parent, const std::string& name, const std::vector<hsize_t>& dims,
                   const double* data, const char* units);
void write_dataset(hid_t parent, const std::string& name, const std::vector<std::string>& v);

// What write_dataset does before writing: the dataset `name` created with its layout (contiguous
// below kChunkThreshold elements, else chunked along dim 0 with the compression() filters).
Handle create_numeric(hid_t parent, const std::string& name, const std::vector<hsize_t>& dims,
                      hid_t file_type);
size_t element_count(const std::vector<hsize_t>& dims);

// One numeric dataset for write_datasets: row-major values in the native layout, borrowed (they
// must live until write_datasets returns).
struct NumericData {
  std::string name;
  std::vector<hsize_t> dims;
  const void* data = nullptr;
  size_t elem_size = 0;
  hid_t mem_type = -1, file_type = -1;  // predefined HDF5 types, not owned
  const char* units = nullptr;
};
NumericData numeric(std::string name, std::vector<hsize_t> dims, const int64_t* data,
                    const char* units);
NumericData numeric(std::string name, std::vector<hsize_t> dims, const int32_t* data,
                    const char* units);
NumericData numeric(std::string name, std::vector<hsize_t> dims, const double* data,
                    const char* units);

// How write_datasets writes the chunks of chunked, filtered datasets. `direct`: each chunk is
// shuffled and deflated here, on `threads` threads (bytes as HDF5's shuffle and deflate filters
// produce them: zlib's compress2 at the dataset's level), and stored with H5Dwrite_chunk;
// otherwise, and for every dataset where that does not apply (see write_datasets), through
// HDF5's filter pipeline on the calling thread (H5Dwrite).
struct ChunkWrite {
  int threads = 1;
  bool direct = true;
};

// True when this build can write chunks directly (zlib headers found, HDF5 >= 1.10.3).
bool direct_chunk_write_available();
// Chunks this process stored with H5Dwrite_chunk so far (tests: the direct path was taken).
uint64_t direct_chunks_written();

// Writes every dataset of `sets` under `parent` as write_dataset would: same layout, filters,
// values and `units` attribute; a reader sees no difference. With how.direct, the datasets whose
// layout is chunked with exactly [shuffle,] deflate and whose memory type equals the file type get
// their chunks compressed on how.threads threads, at most kChunkWindowBytes of raw chunks at a
// time (their compressed bytes are written in chunk order by the calling thread before the next
// window), so memory stays bounded whatever the sizes. The others (small contiguous datasets, a
// build without direct chunk write) are written with H5Dwrite. The result does not depend on the
// thread count. Only the calling thread calls HDF5.
constexpr size_t kChunkWindowBytes = size_t{16} << 20;
void write_datasets(hid_t parent, const std::vector<NumericData>& sets, const ChunkWrite& how);

std::vector<hsize_t> dataset_dims(hid_t dset);
// How many hard links name the object at `path` (from `loc`): 1 unless it is linked under
// several names (a rows matrix shared by the cells of a system sweep).
unsigned hard_links(hid_t loc, const std::string& path);
std::vector<int64_t> read_int64(hid_t dset);  // any integer type, converted
std::vector<int32_t> read_int32(hid_t dset);
std::vector<double> read_double(hid_t dset);  // any numeric type, converted
std::vector<std::string> read_strings(hid_t dset);

}  // namespace moeb::h5
