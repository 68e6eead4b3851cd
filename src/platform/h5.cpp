#include "platform/h5.hpp"

#include "platform/h5_guard.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <thread>

namespace moeb::h5 {

void silence_errors() {
  static std::once_flag once;
  std::call_once(once, [] { H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr); });
}

namespace {
herr_t first_message(unsigned n, const H5E_error2_t* e, void* out) {
  auto* s = static_cast<std::string*>(out);
  if (n == 0 && e && e->desc) *s = e->desc;
  return 0;
}
}  // namespace

void fail(const char* call, const char* file, int line) {
  std::string detail;
  H5Ewalk2(H5E_DEFAULT, H5E_WALK_DOWNWARD, first_message, &detail);
  // The system error underneath (a full disk: "No space left on device") says what to fix.
  const std::string reason = system_reason();
  if (!reason.empty() && detail.find(reason) == std::string::npos)
    detail += (detail.empty() ? "" : ": ") + reason;
  H5Eclear2(H5E_DEFAULT);
  std::string c(call);
  auto paren = c.find('(');
  if (paren != std::string::npos) c = c.substr(0, paren);
  throw H5Error(source_location_prefix(file, line) + "HDF5 call " + c + " failed" +
                (detail.empty() ? "" : ": " + detail));
}

Handle& Handle::operator=(Handle&& o) noexcept {
  if (this != &o) {
    Handle tmp(std::move(*this));
    id_ = o.id_;
    o.id_ = -1;
  }
  return *this;
}

bool Handle::reset() {
  if (id_ < 0) return true;
  herr_t rc = 0;
  switch (H5Iget_type(id_)) {
    case H5I_FILE:
      rc = H5Fclose(id_);
      break;
    case H5I_GROUP:
      rc = H5Gclose(id_);
      break;
    case H5I_DATASET:
      rc = H5Dclose(id_);
      break;
    case H5I_ATTR:
      rc = H5Aclose(id_);
      break;
    case H5I_DATATYPE:
      rc = H5Tclose(id_);
      break;
    case H5I_DATASPACE:
      rc = H5Sclose(id_);
      break;
    case H5I_GENPROP_LST:
      rc = H5Pclose(id_);
      break;
    default:
      break;
  }
  id_ = -1;
  return rc >= 0;
}

namespace {
bool g_skip_exit_cleanup = false;
void close_hdf5_at_exit() {
  if (!g_skip_exit_cleanup) H5close();
}
[[maybe_unused]] const bool kExitHookInstalled = [] {
  if (H5dont_atexit() >= 0) std::atexit(close_hdf5_at_exit);
  return true;
}();

herr_t find_reason(unsigned, const H5E_error2_t* e, void* out) {
  auto* reason = static_cast<std::string*>(out);
  if (!e->desc) return 0;
  const char* m = std::strstr(e->desc, "error message = '");
  if (!m) return 0;
  m += std::strlen("error message = '");
  const char* end = std::strchr(m, '\'');
  *reason = std::string(m, end ? static_cast<size_t>(end - m) : std::strlen(m));
  return 0;
}
}  // namespace

void skip_exit_cleanup() { g_skip_exit_cleanup = true; }

std::string system_reason() {
  std::string reason;
  H5Ewalk2(H5E_DEFAULT, H5E_WALK_DOWNWARD, find_reason, &reason);
  return reason;
}

namespace {
// File access: lock where the file system supports it, carry on where it does not (Lustre and
// NFS mounts on clusters often refuse flock, which would otherwise fail every open).
Handle access_plist() {
  Handle fapl(MOEB_H5_CHECK(H5Pcreate(H5P_FILE_ACCESS)));
#if H5_VERSION_GE(1, 10, 7)
  MOEB_H5_CHECK(H5Pset_file_locking(fapl, true, true));
#endif
  return fapl;
}
}  // namespace

Handle create_file(const std::string& path) {
  silence_errors();
  Handle fcpl(MOEB_H5_CHECK(H5Pcreate(H5P_FILE_CREATE)));
  MOEB_H5_CHECK(H5Pset_attr_creation_order(fcpl, H5P_CRT_ORDER_TRACKED));
  Handle fapl = access_plist();
  return Handle(MOEB_H5_CHECK(H5Fcreate(path.c_str(), H5F_ACC_TRUNC, fcpl, fapl)));
}

namespace {
herr_t find_lock_conflict(unsigned, const H5E_error2_t* e, void* out) {
  if (e->min_num == H5E_CANTLOCKFILE) *static_cast<bool*>(out) = true;
  return 0;
}

// True when the open that just failed failed on the file lock another process holds, not on
// the file itself. A reader (h5py, h5ls, HDFView, moebench validate) holds it shared for as long
// as it has the file open; a writer (a run appending a strategy) exclusive while it writes.
bool failed_on_lock() {
  bool lock = false;
  H5Ewalk2(H5E_DEFAULT, H5E_WALK_DOWNWARD, find_lock_conflict, &lock);
  return lock;
}

// False while another process holds the file's lock exclusively (probed with the flock that
// HDF5 takes); true otherwise, also where the file cannot be opened or the file system has no
// locks (the open that follows says what is wrong).
bool no_writer_holds(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return true;
  bool free = true;
  if (::flock(fd, LOCK_SH | LOCK_NB) == 0)
    ::flock(fd, LOCK_UN);
  else
    free = errno != EWOULDBLOCK;
  ::close(fd);
  return free;
}

// A wait for another process's lock on `path`: pauses growing to 25 ms, one note on stderr (per
// process) once it passes 2 s, and pause() false once it passes `limit`: a reader that peeks at
// a results file while a run writes it holds the lock for a moment, and neither side should fail
// on that (the run would lose the strategy it measured).
class LockWait {
 public:
  LockWait(const std::string& path, std::chrono::milliseconds limit)
      : path_(path), limit_(limit), start_(std::chrono::steady_clock::now()) {}
  bool pause() {
    const auto waited = std::chrono::steady_clock::now() - start_;
    if (waited >= limit_) return false;
    static std::atomic<bool> said{false};
    if (waited >= std::chrono::seconds(2) && !said.exchange(true))
      std::fprintf(stderr,
                   "moebench: note: %s is locked by another process (HDF5 file lock); waiting up "
                   "to %lld s for it\n",
                   path_.c_str(), seconds(limit_));
    std::this_thread::sleep_for(pause_);
    pause_ = std::min(pause_ * 2, std::chrono::milliseconds(25));
    return true;
  }
  std::string waited() const {
    return "waited " + std::to_string(seconds(std::chrono::steady_clock::now() - start_)) + " s";
  }

 private:
  static long long seconds(std::chrono::steady_clock::duration d) {
    return static_cast<long long>(std::chrono::duration_cast<std::chrono::seconds>(d).count());
  }
  std::string path_;
  std::chrono::milliseconds limit_;
  std::chrono::steady_clock::time_point start_;
  std::chrono::milliseconds pause_{2};
};
}  // namespace

Handle open_file_read(const std::string& path, std::chrono::milliseconds wait_for_lock) {
  silence_errors();
  Handle fapl = access_plist();
  LockWait wait(path, in_guard_child() ? std::chrono::milliseconds(0) : wait_for_lock);
  const auto locked_error = [&] {
    return InputError(path + ": cannot open for reading: another process is writing it (HDF5 " +
                      "file lock held, e.g. by a moebench run appending a strategy); " +
                      wait.waited());
  };
  for (;;) {
    if (!no_writer_holds(path)) {  // before the guard, whose child would not get in either
      if (!wait.pause()) throw locked_error();
      continue;
    }
    guard_untrusted_file(path);  // a crash inside libhdf5 ends a child, not this process
    hid_t f = H5Fopen(path.c_str(), H5F_ACC_RDONLY, fapl);
    if (f >= 0) return Handle(f);
    const bool locked = failed_on_lock();  // a writer came in between
    H5Eclear2(H5E_DEFAULT);
    if (!locked) throw InputError(path + ": cannot open as an HDF5 file");
    if (!wait.pause()) throw locked_error();
  }
}

Handle open_file_rw(const std::string& path, std::chrono::milliseconds wait_for_lock) {
  silence_errors();
  Handle fapl = access_plist();
  LockWait wait(path, wait_for_lock);
  for (;;) {
    hid_t f = H5Fopen(path.c_str(), H5F_ACC_RDWR, fapl);
    if (f >= 0) return Handle(f);
    const bool locked = failed_on_lock();
    H5Eclear2(H5E_DEFAULT);
    if (!locked) throw InputError(path + ": cannot open as an HDF5 file for writing");
    if (!wait.pause())
      throw InputError(path + ": cannot open for writing: another process has it open (HDF5 " +
                       "file lock held, e.g. by h5py, h5ls or HDFView); " + wait.waited() +
                       " for it to close");
  }
}

Handle create_group(hid_t parent, const std::string& name, bool track_order) {
  Handle gcpl(MOEB_H5_CHECK(H5Pcreate(H5P_GROUP_CREATE)));
  if (track_order) MOEB_H5_CHECK(H5Pset_attr_creation_order(gcpl, H5P_CRT_ORDER_TRACKED));
  return Handle(MOEB_H5_CHECK(H5Gcreate2(parent, name.c_str(), H5P_DEFAULT, gcpl, H5P_DEFAULT)));
}

Handle create_unlinked_group(hid_t file, bool track_order) {
  Handle gcpl(MOEB_H5_CHECK(H5Pcreate(H5P_GROUP_CREATE)));
  if (track_order) MOEB_H5_CHECK(H5Pset_attr_creation_order(gcpl, H5P_CRT_ORDER_TRACKED));
  return Handle(MOEB_H5_CHECK(H5Gcreate_anon(file, gcpl, H5P_DEFAULT)));
}

void link(hid_t obj, hid_t parent, const std::string& name) {
  MOEB_H5_CHECK(H5Olink(obj, parent, name.c_str(), H5P_DEFAULT, H5P_DEFAULT));
}

void flush(hid_t file) { MOEB_H5_CHECK(H5Fflush(file, H5F_SCOPE_GLOBAL)); }

Handle open_group(hid_t parent, const std::string& name) {
  return Handle(MOEB_H5_CHECK(H5Gopen2(parent, name.c_str(), H5P_DEFAULT)));
}

Handle open_dataset(hid_t parent, const std::string& name) {
  return Handle(MOEB_H5_CHECK(H5Dopen2(parent, name.c_str(), H5P_DEFAULT)));
}

bool exists(hid_t parent, const std::string& name) {
  return MOEB_H5_CHECK(H5Lexists(parent, name.c_str(), H5P_DEFAULT)) > 0;
}

bool has_attr(hid_t obj, const std::string& name) {
  return MOEB_H5_CHECK(H5Aexists(obj, name.c_str())) > 0;
}

Handle vlen_string_type() {
  Handle t(MOEB_H5_CHECK(H5Tcopy(H5T_C_S1)));
  MOEB_H5_CHECK(H5Tset_size(t, H5T_VARIABLE));
  MOEB_H5_CHECK(H5Tset_cset(t, H5T_CSET_UTF8));
  return t;
}

namespace {

void replace_attr(hid_t obj, const std::string& name) {
  if (has_attr(obj, name)) MOEB_H5_CHECK(H5Adelete(obj, name.c_str()));
}

// Overwrites attribute `name` in place when it is a scalar of `file_type`; false otherwise.
bool overwrite_scalar_attr(hid_t obj, const std::string& name, hid_t mem_type, hid_t file_type,
                           const void* buf) {
  if (!has_attr(obj, name)) return false;
  Handle a(MOEB_H5_CHECK(H5Aopen(obj, name.c_str(), H5P_DEFAULT)));
  Handle t(MOEB_H5_CHECK(H5Aget_type(a)));
  Handle space(MOEB_H5_CHECK(H5Aget_space(a)));
  if (MOEB_H5_CHECK(H5Tequal(t, file_type)) <= 0 ||
      MOEB_H5_CHECK(H5Sget_simple_extent_type(space)) != H5S_SCALAR)
    return false;
  MOEB_H5_CHECK(H5Awrite(a, mem_type, buf));
  return true;
}

void write_attr_raw(hid_t obj, const std::string& name, hid_t mem_type, hid_t file_type,
                    const void* buf) {
  if (overwrite_scalar_attr(obj, name, mem_type, file_type, buf)) return;
  replace_attr(obj, name);
  Handle space(MOEB_H5_CHECK(H5Screate(H5S_SCALAR)));
  Handle a(
      MOEB_H5_CHECK(H5Acreate2(obj, name.c_str(), file_type, space, H5P_DEFAULT, H5P_DEFAULT)));
  MOEB_H5_CHECK(H5Awrite(a, mem_type, buf));
}

// Reads strings (variable or fixed length) from an attribute or dataset of `n` elements.
std::vector<std::string> read_string_elems(hid_t obj, bool is_attr, size_t n) {
  Handle ftype(MOEB_H5_CHECK(is_attr ? H5Aget_type(obj) : H5Dget_type(obj)));
  if (H5Tget_class(ftype) != H5T_STRING) throw H5Error("expected a string, found another type");
  std::vector<std::string> out(n);
  if (n == 0) return out;
  if (MOEB_H5_CHECK(H5Tis_variable_str(ftype)) > 0) {
    Handle mtype = vlen_string_type();
    std::vector<char*> buf(n, nullptr);
    if (is_attr)
      MOEB_H5_CHECK(H5Aread(obj, mtype, buf.data()));
    else
      MOEB_H5_CHECK(H5Dread(obj, mtype, H5S_ALL, H5S_ALL, H5P_DEFAULT, buf.data()));
    for (size_t i = 0; i < n; ++i) {
      out[i] = buf[i] ? buf[i] : "";
      H5free_memory(buf[i]);
    }
  } else {
    const size_t sz = H5Tget_size(ftype);
    Handle mtype(MOEB_H5_CHECK(H5Tcopy(H5T_C_S1)));
    MOEB_H5_CHECK(H5Tset_size(mtype, sz));
    std::vector<char> buf(sz * n);
    if (is_attr)
      MOEB_H5_CHECK(H5Aread(obj, mtype, buf.data()));
    else
      MOEB_H5_CHECK(H5Dread(obj, mtype, H5S_ALL, H5S_ALL, H5P_DEFAULT, buf.data()));
    for (size_t i = 0; i < n; ++i) {
      const char* p = buf.data() + i * sz;
      out[i] = std::string(p, strnlen(p, sz));
    }
  }
  return out;
}

size_t space_elems(hid_t space) {
  auto n = MOEB_H5_CHECK(H5Sget_simple_extent_npoints(space));
  return static_cast<size_t>(n);
}

}  // namespace

void write_attr(hid_t obj, const std::string& name, const std::string& v) {
  Handle t = vlen_string_type();
  const char* p = v.c_str();
  write_attr_raw(obj, name, t, t, &p);
}

void write_attr(hid_t obj, const std::string& name, int64_t v) {
  write_attr_raw(obj, name, H5T_NATIVE_INT64, H5T_STD_I64LE, &v);
}

void write_attr(hid_t obj, const std::string& name, double v) {
  write_attr_raw(obj, name, H5T_NATIVE_DOUBLE, H5T_IEEE_F64LE, &v);
}

void write_attr(hid_t obj, const std::string& name, const std::vector<std::string>& v) {
  replace_attr(obj, name);
  Handle t = vlen_string_type();
  hsize_t n = v.size();
  Handle space(MOEB_H5_CHECK(H5Screate_simple(1, &n, nullptr)));
  Handle a(MOEB_H5_CHECK(H5Acreate2(obj, name.c_str(), t, space, H5P_DEFAULT, H5P_DEFAULT)));
  std::vector<const char*> ptrs;
  for (const auto& s : v) ptrs.push_back(s.c_str());
  if (!ptrs.empty()) MOEB_H5_CHECK(H5Awrite(a, t, ptrs.data()));
}

AttrClass attr_class(hid_t obj, const std::string& name) {
  Handle a(MOEB_H5_CHECK(H5Aopen(obj, name.c_str(), H5P_DEFAULT)));
  Handle t(MOEB_H5_CHECK(H5Aget_type(a)));
  switch (H5Tget_class(t)) {
    case H5T_STRING:
      return AttrClass::kString;
    case H5T_INTEGER:
      return AttrClass::kInt;
    case H5T_FLOAT:
      return AttrClass::kFloat;
    default:
      return AttrClass::kOther;
  }
}

std::string read_attr_str(hid_t obj, const std::string& name) {
  Handle a(MOEB_H5_CHECK(H5Aopen(obj, name.c_str(), H5P_DEFAULT)));
  Handle space(MOEB_H5_CHECK(H5Aget_space(a)));
  if (space_elems(space) != 1) throw H5Error("attribute '" + name + "': expected one string");
  return read_string_elems(a, true, 1)[0];
}

int64_t read_attr_int(hid_t obj, const std::string& name) {
  Handle a(MOEB_H5_CHECK(H5Aopen(obj, name.c_str(), H5P_DEFAULT)));
  Handle t(MOEB_H5_CHECK(H5Aget_type(a)));
  if (H5Tget_class(t) != H5T_INTEGER)
    throw H5Error("attribute '" + name + "': expected an integer");
  int64_t v = 0;
  MOEB_H5_CHECK(H5Aread(a, H5T_NATIVE_INT64, &v));
  return v;
}

double read_attr_float(hid_t obj, const std::string& name) {
  Handle a(MOEB_H5_CHECK(H5Aopen(obj, name.c_str(), H5P_DEFAULT)));
  Handle t(MOEB_H5_CHECK(H5Aget_type(a)));
  const auto c = H5Tget_class(t);
  if (c != H5T_INTEGER && c != H5T_FLOAT)
    throw H5Error("attribute '" + name + "': expected a number");
  double v = 0;
  MOEB_H5_CHECK(H5Aread(a, H5T_NATIVE_DOUBLE, &v));
  return v;
}

std::vector<std::string> read_attr_str_list(hid_t obj, const std::string& name) {
  Handle a(MOEB_H5_CHECK(H5Aopen(obj, name.c_str(), H5P_DEFAULT)));
  Handle space(MOEB_H5_CHECK(H5Aget_space(a)));
  return read_string_elems(a, true, space_elems(space));
}

namespace {
herr_t collect_attr(hid_t, const char* name, const H5A_info_t*, void* out) {
  static_cast<std::vector<std::string>*>(out)->push_back(name);
  return 0;
}
#if H5_VERSION_GE(1, 12, 0)
using LinkInfo = H5L_info2_t;
#define MOEB_H5_LITERATE H5Literate2
#else
using LinkInfo = H5L_info_t;
#define MOEB_H5_LITERATE H5Literate
#endif
herr_t collect_link(hid_t, const char* name, const LinkInfo*, void* out) {
  static_cast<std::vector<std::string>*>(out)->push_back(name);
  return 0;
}
}  // namespace

std::vector<std::string> attr_names(hid_t obj) {
  std::vector<std::string> names;
  hsize_t idx = 0;
  // Creation order when the object tracks it; otherwise fall back to name order.
  if (H5Aiterate2(obj, H5_INDEX_CRT_ORDER, H5_ITER_INC, &idx, collect_attr, &names) < 0) {
    H5Eclear2(H5E_DEFAULT);
    names.clear();
    idx = 0;
    MOEB_H5_CHECK(H5Aiterate2(obj, H5_INDEX_NAME, H5_ITER_INC, &idx, collect_attr, &names));
  }
  return names;
}

std::vector<std::string> child_names(hid_t group) {
  std::vector<std::string> names;
  hsize_t idx = 0;
  MOEB_H5_CHECK(MOEB_H5_LITERATE(group, H5_INDEX_NAME, H5_ITER_INC, &idx, collect_link, &names));
  return names;
}

namespace {
Compression g_compression;
}  // namespace

Compression compression() { return g_compression; }
void set_compression(Compression c) { g_compression = c; }

size_t element_count(const std::vector<hsize_t>& dims) {
  size_t n = 1;
  for (auto d : dims) n *= d;
  return n;
}

Handle create_numeric(hid_t parent, const std::string& name, const std::vector<hsize_t>& dims,
                      hid_t file_type) {
  Handle space(
      MOEB_H5_CHECK(H5Screate_simple(static_cast<int>(dims.size()), dims.data(), nullptr)));
  Handle dcpl(MOEB_H5_CHECK(H5Pcreate(H5P_DATASET_CREATE)));
  if (element_count(dims) >= kChunkThreshold) {
    // Chunk along the leading dimension so that one chunk holds ~64k elements.
    std::vector<hsize_t> chunk = dims;
    size_t inner = 1;
    for (size_t k = 1; k < dims.size(); ++k) inner *= dims[k];
    chunk[0] = std::max<hsize_t>(1, std::min<hsize_t>(dims[0], 65536 / std::max<size_t>(1, inner)));
    MOEB_H5_CHECK(H5Pset_chunk(dcpl, static_cast<int>(chunk.size()), chunk.data()));
    const Compression c = compression();
    if (c.deflate_level > 0 && H5Zfilter_avail(H5Z_FILTER_DEFLATE) > 0) {
      if (c.shuffle) MOEB_H5_CHECK(H5Pset_shuffle(dcpl));
      MOEB_H5_CHECK(H5Pset_deflate(dcpl, static_cast<unsigned>(c.deflate_level)));
    }
  }
  return Handle(MOEB_H5_CHECK(
      H5Dcreate2(parent, name.c_str(), file_type, space, H5P_DEFAULT, dcpl, H5P_DEFAULT)));
}

namespace {

void write_numeric(hid_t parent, const std::string& name, const std::vector<hsize_t>& dims,
                   hid_t mem_type, hid_t file_type, const void* data, const char* units) {
  Handle d = create_numeric(parent, name, dims, file_type);
  if (element_count(dims) > 0)
    MOEB_H5_CHECK(H5Dwrite(d, mem_type, H5S_ALL, H5S_ALL, H5P_DEFAULT, data));
  if (units) write_attr(d, "units", std::string(units));
}

}  // namespace

void write_dataset(hid_t parent, const std::string& name, const std::vector<hsize_t>& dims,
                   const int64_t* data, const char* units) {
  write_numeric(parent, name, dims, H5T_NATIVE_INT64, H5T_STD_I64LE, data, units);
}
void write_dataset(hid_t parent, const std::string& name, const std::vector<hsize_t>& dims,
                   const int32_t* data, const char* units) {
  write_numeric(parent, name, dims, H5T_NATIVE_INT32, H5T_STD_I32LE, data, units);
}
void write_dataset(hid_t parent, const std::string& name, const std::vector<hsize_t>& dims,
                   const double* data, const char* units) {
  write_numeric(parent, name, dims, H5T_NATIVE_DOUBLE, H5T_IEEE_F64LE, data, units);
}

void write_dataset(hid_t parent, const std::string& name, const std::vector<std::string>& v) {
  Handle t = vlen_string_type();
  hsize_t n = v.size();
  Handle space(MOEB_H5_CHECK(H5Screate_simple(1, &n, nullptr)));
  Handle d(MOEB_H5_CHECK(
      H5Dcreate2(parent, name.c_str(), t, space, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT)));
  std::vector<const char*> ptrs;
  for (const auto& s : v) ptrs.push_back(s.c_str());
  if (!ptrs.empty()) MOEB_H5_CHECK(H5Dwrite(d, t, H5S_ALL, H5S_ALL, H5P_DEFAULT, ptrs.data()));
}

unsigned hard_links(hid_t loc, const std::string& path) {
#if H5_VERSION_GE(1, 12, 0)
  H5O_info2_t info;
  MOEB_H5_CHECK(H5Oget_info_by_name3(loc, path.c_str(), &info, H5O_INFO_BASIC, H5P_DEFAULT));
#else
  H5O_info_t info;
  MOEB_H5_CHECK(H5Oget_info_by_name2(loc, path.c_str(), &info, H5O_INFO_BASIC, H5P_DEFAULT));
#endif
  return info.rc;
}

std::vector<hsize_t> dataset_dims(hid_t dset) {
  Handle space(MOEB_H5_CHECK(H5Dget_space(dset)));
  const int rank = MOEB_H5_CHECK(H5Sget_simple_extent_ndims(space));
  std::vector<hsize_t> dims(static_cast<size_t>(rank));
  if (rank > 0) MOEB_H5_CHECK(H5Sget_simple_extent_dims(space, dims.data(), nullptr));
  return dims;
}

namespace {
template <class T>
std::vector<T> read_numeric(hid_t dset, hid_t mem_type) {
  Handle t(MOEB_H5_CHECK(H5Dget_type(dset)));
  const auto c = H5Tget_class(t);
  if (c != H5T_INTEGER && c != H5T_FLOAT) throw H5Error("expected a numeric dataset");
  Handle space(MOEB_H5_CHECK(H5Dget_space(dset)));
  std::vector<T> out(space_elems(space));
  if (!out.empty())
    MOEB_H5_CHECK(H5Dread(dset, mem_type, H5S_ALL, H5S_ALL, H5P_DEFAULT, out.data()));
  guard_progress();
  return out;
}
}  // namespace

std::vector<int64_t> read_int64(hid_t dset) {
  return read_numeric<int64_t>(dset, H5T_NATIVE_INT64);
}
std::vector<int32_t> read_int32(hid_t dset) {
  return read_numeric<int32_t>(dset, H5T_NATIVE_INT32);
}
std::vector<double> read_double(hid_t dset) {
  return read_numeric<double>(dset, H5T_NATIVE_DOUBLE);
}

std::vector<std::string> read_strings(hid_t dset) {
  Handle space(MOEB_H5_CHECK(H5Dget_space(dset)));
  return read_string_elems(dset, false, space_elems(space));
}

}  // namespace moeb::h5
