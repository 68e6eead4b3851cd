#include "platform/h5_guard.hpp"

#include <hdf5.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <set>
#include <thread>
#include <vector>

#include "core/error.hpp"
#include "platform/h5.hpp"
#include "platform/mpi_env.hpp"

namespace moeb::h5 {
namespace {

std::atomic<bool> g_on{true};
bool g_in_child = false;  // this process is a guard's child
int g_progress_fd = -1;   // in the child: the pipe's end that tells the parent the read goes on
std::chrono::steady_clock::time_point g_last_progress;
constexpr hsize_t kMaxReadBytes = hsize_t{1} << 24;  // data read per attribute or dataset

// Reads n elements of `ftype` from an attribute (ds < 0) or dataset through the native type,
// then frees what libhdf5 allocated for variable-length values. Errors are ignored: only a
// crash or a hang matters here.
void read_values(hid_t attr, hid_t ds, hid_t ftype, hid_t space) {
  const hssize_t n = H5Sget_simple_extent_npoints(space);
  hid_t mtype = H5Tget_native_type(ftype, H5T_DIR_ASCEND);
  if (n <= 0 || mtype < 0) {
    if (mtype >= 0) H5Tclose(mtype);
    return;
  }
  const size_t size = H5Tget_size(mtype);
  if (size > 0 && static_cast<hsize_t>(n) <= kMaxReadBytes / size) {
    std::vector<unsigned char> buf(static_cast<size_t>(n) * size);
    const herr_t rc = attr >= 0 ? H5Aread(attr, mtype, buf.data())
                                : H5Dread(ds, mtype, H5S_ALL, H5S_ALL, H5P_DEFAULT, buf.data());
    if (rc >= 0 && (H5Tdetect_class(mtype, H5T_VLEN) > 0 || H5Tis_variable_str(mtype) > 0))
      H5Dvlen_reclaim(mtype, space, H5P_DEFAULT, buf.data());
  }
  H5Tclose(mtype);
}

herr_t read_attribute(hid_t loc, const char* name, const H5A_info_t*, void*) {
  hid_t a = H5Aopen(loc, name, H5P_DEFAULT);
  if (a < 0) return 0;
  hid_t t = H5Aget_type(a), s = H5Aget_space(a);
  if (t >= 0 && s >= 0) read_values(a, -1, t, s);
  if (s >= 0) H5Sclose(s);
  if (t >= 0) H5Tclose(t);
  H5Aclose(a);
  return 0;
}

herr_t read_object(hid_t parent, const char* name, const H5O_info_t* info, void*) {
  hid_t obj = H5Oopen(parent, name, H5P_DEFAULT);
  if (obj < 0) return 0;
  hsize_t idx = 0;
  H5Aiterate2(obj, H5_INDEX_NAME, H5_ITER_NATIVE, &idx, read_attribute, nullptr);
  if (info->type == H5O_TYPE_DATASET) {
    hid_t t = H5Dget_type(obj), s = H5Dget_space(obj);
    if (t >= 0 && s >= 0) read_values(-1, obj, t, s);
    if (s >= 0) H5Sclose(s);
    if (t >= 0) H5Tclose(t);
  }
  H5Oclose(obj);
  guard_progress();  // H5Ovisit calls this once per object, so a spin inside it reports nothing
  return 0;
}

// The child: what the readers do, without moebench's checks, then the library's teardown.
[[noreturn]] void read_in_child(const std::string& path, const std::function<void()>& read) {
  // A crash ends the child by its signal (under AddressSanitizer too, whose handler would
  // report it as its own finding and exit 1).
  for (int sig : {SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT}) signal(sig, SIG_DFL);
  // What a failing libhdf5 prints on its way down (glibc's "free(): invalid pointer", a
  // sanitizer's report from an interceptor) is not the user's one line: the parent says what
  // happened. MOEB_HDF5_GUARD_STDERR=1 keeps it, to debug the reader itself.
  const char* keep = std::getenv("MOEB_HDF5_GUARD_STDERR");
  if (!(keep && *keep && std::strcmp(keep, "0") != 0)) {
    const int null_fd = open("/dev/null", O_WRONLY);
    if (null_fd >= 0) dup2(null_fd, STDERR_FILENO);
  }
  H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr);
  g_on = false;
  g_in_child = true;
  if (read) {
    try {
      read();
    } catch (...) {  // the real read in the parent reports it
    }
  }
  hid_t f = H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT);
  if (f >= 0) {
    H5Ovisit(f, H5_INDEX_NAME, H5_ITER_NATIVE, read_object, nullptr);
    H5Fclose(f);
  }
  H5close();
  _exit(0);
}

double timeout_s() {
  const char* v = std::getenv("MOEB_HDF5_GUARD_TIMEOUT_S");
  const double t = v && *v ? std::atof(v) : 60.0;
  return t > 0 ? t : 60.0;
}

std::string library_version() {
  unsigned maj = 0, min = 0, rel = 0;
  H5get_libversion(&maj, &min, &rel);
  return "libhdf5 " + std::to_string(maj) + "." + std::to_string(min) + "." + std::to_string(rel);
}

// Waits for the child; its status, or false once it went `limit_s` without reporting progress
// on `progress_fd` (guard_progress; the child is killed).
bool wait_child(pid_t pid, int& status, double limit_s, int progress_fd) {
  using clock = std::chrono::steady_clock;
  const auto limit = std::chrono::duration_cast<clock::duration>(
      std::chrono::duration<double>(limit_s));
  auto end = clock::now() + limit;
  auto pause = std::chrono::milliseconds(1);
  for (;;) {
    const pid_t r = waitpid(pid, &status, WNOHANG);
    if (r == pid) return true;
    if (r < 0 && errno != EINTR) {
      status = 0;  // cannot tell: the real read goes ahead
      return true;
    }
    if (progress_fd >= 0) {  // drained: any byte since the last look moves the limit on
      char buf[64];
      const ssize_t n = read(progress_fd, buf, sizeof buf);
      if (n > 0) {
        end = clock::now() + limit;
        pause = std::chrono::milliseconds(1);
      }
    }
    if (clock::now() >= end) {
      kill(pid, SIGKILL);
      while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
      }
      return false;
    }
    std::this_thread::sleep_for(pause);
    pause = std::min(pause * 2, std::chrono::milliseconds(50));
  }
}

std::string signal_name(int sig) {
  switch (sig) {
    case SIGSEGV:
      return "SIGSEGV";
    case SIGBUS:
      return "SIGBUS";
    case SIGABRT:
      return "SIGABRT";
    case SIGFPE:
      return "SIGFPE";
    case SIGILL:
      return "SIGILL";
    case SIGKILL:
      return "SIGKILL: out of memory?";
    default:
      return "signal " + std::to_string(sig);
  }
}

void check_in_child(const std::string& path, const std::function<void()>& read) {
  std::fflush(nullptr);  // nothing buffered is written twice
  int pipe_fds[2] = {-1, -1};  // the child's progress reports (guard_progress), never blocking
  if (pipe2(pipe_fds, O_CLOEXEC | O_NONBLOCK) != 0) pipe_fds[0] = pipe_fds[1] = -1;
  const pid_t pid = fork();
  if (pid < 0) {  // no child to spare: read without the guard
    for (int fd : pipe_fds)
      if (fd >= 0) close(fd);
    return;
  }
  if (pid == 0) {
    if (pipe_fds[0] >= 0) close(pipe_fds[0]);
    g_progress_fd = pipe_fds[1];
    read_in_child(path, read);
  }
  if (pipe_fds[1] >= 0) close(pipe_fds[1]);
  int status = 0;
  const double limit = timeout_s();
  const std::string tail = "; the file is malformed (" + library_version() +
                           " cannot read it safely) and nothing was read from it";
  const bool ended = wait_child(pid, status, limit, pipe_fds[0]);
  if (pipe_fds[0] >= 0) close(pipe_fds[0]);
  if (!ended)
    throw InputError(path + ": the HDF5 library read nothing further of the file's structure for " +
                     std::to_string(static_cast<int>(limit)) + " s (MOEB_HDF5_GUARD_TIMEOUT_S)" +
                     tail);
  if (WIFSIGNALED(status)) {
    const int sig = WTERMSIG(status);
    if (sig == SIGINT || sig == SIGTERM || sig == SIGHUP) {  // the user's, not the file's
      raise(sig);
      throw Interrupted(path + ": interrupted while checking the file");
    }
    throw InputError(path + ": the HDF5 library crashed (" + signal_name(sig) +
                     ") reading the file's structure" + tail);
  }
  if (WIFEXITED(status) && WEXITSTATUS(status) != 0)
    throw InputError(path + ": the HDF5 library failed reading the file's structure (exit " +
                     std::to_string(WEXITSTATUS(status)) + ")" + tail);
}

}  // namespace

void set_guard(bool on) { g_on = on; }

bool in_guard_child() { return g_in_child; }

void guard_progress() {
  if (g_progress_fd < 0) return;
  const auto now = std::chrono::steady_clock::now();
  if (now - g_last_progress < std::chrono::milliseconds(100)) return;
  g_last_progress = now;
  const char b = 1;
  if (write(g_progress_fd, &b, 1) < 0) {  // a full pipe already says it
  }
}

namespace {
std::mutex g_mu;
std::set<std::string> g_checked;        // reader, path, inode, size and time of files checked
std::set<std::string> g_checked_files;  // path, inode, size and time
}  // namespace

void forget_checked_files() {
  std::lock_guard<std::mutex> lock(g_mu);
  g_checked.clear();
  g_checked_files.clear();
}

void guard_untrusted_file(const std::string& path, const char* what,
                          const std::function<void()>& read) {
  if (!g_on || mpi::is_up()) return;
  struct stat st {};
  if (stat(path.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) return;  // the read says why
  // The same file unchanged since it was checked (a file rewritten under the same name is not).
  const std::string file = path + '\0' + std::to_string(st.st_ino) + ':' +
                           std::to_string(st.st_size) + ':' + std::to_string(st.st_mtim.tv_sec) +
                           '.' + std::to_string(st.st_mtim.tv_nsec);
  const std::string key = std::string(what) + '\0' + file;
  const bool structure = std::string(what) == "structure";  // any earlier check covers it
  {
    std::lock_guard<std::mutex> lock(g_mu);
    if (g_checked.count(key) || (structure && g_checked_files.count(file))) return;
  }
  check_in_child(path, read);
  std::lock_guard<std::mutex> lock(g_mu);
  g_checked.insert(key);
  g_checked_files.insert(file);
}

}  // namespace moeb::h5
