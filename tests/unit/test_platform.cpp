// platform/: the atomic file (whole or nothing), the host name and the HDF5 guard.
#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "core/error.hpp"
#include "platform/atomic_file.hpp"
#include "platform/h5.hpp"
#include "platform/h5_guard.hpp"
#include "platform/host.hpp"

namespace fs = std::filesystem;
using namespace moeb;

namespace {

fs::path scratch() {
  const fs::path d = fs::temp_directory_path() / ("moeb_platform_" + std::to_string(getpid()));
  fs::create_directories(d);
  return d;
}

std::string slurp(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

TEST(AtomicFile, WritesWholeFileAndLeavesNoTemporary) {
  const fs::path p = scratch() / "a.txt";
  write_file_atomically(p.string(), "first\n");
  EXPECT_EQ(slurp(p), "first\n");
  write_file_atomically(p.string(), "second, longer\n");
  EXPECT_EQ(slurp(p), "second, longer\n");
  EXPECT_FALSE(fs::exists(p.string() + ".tmp"));
}

TEST(AtomicFile, UncommittedWriteLeavesTheOldFile) {
  const fs::path p = scratch() / "b.txt";
  write_file_atomically(p.string(), "old\n");
  {
    AtomicFile f(p.string());
    EXPECT_EQ(f.temp_path(), p.string() + ".tmp");
    std::ofstream(f.temp_path()) << "half";
    // No commit: an error on the way out.
  }
  EXPECT_EQ(slurp(p), "old\n");
  EXPECT_FALSE(fs::exists(p.string() + ".tmp"));
}

TEST(AtomicFile, UnwritableDirectoryIsOneLineInputError) {
  const std::string p = (scratch() / "no_such_dir" / "c.txt").string();
  try {
    write_file_atomically(p, "x");
    FAIL() << "expected InputError";
  } catch (const InputError& e) {
    const std::string msg = e.what();
    EXPECT_EQ(msg.rfind(p + ": cannot write " + p + ".tmp", 0), 0u) << msg;
    EXPECT_EQ(msg.find('\n'), std::string::npos) << msg;
  }
  EXPECT_FALSE(fs::exists(p));
}

TEST(AtomicFile, FailedRenameRemovesTheTemporary) {
  // The target is a non-empty directory: rename(2) cannot replace it.
  const fs::path dir = scratch() / "d_is_dir";
  fs::create_directories(dir / "inside");
  AtomicFile f(dir.string());
  std::ofstream(f.temp_path()) << "data";
  EXPECT_THROW(f.commit(), InputError);
  EXPECT_FALSE(fs::exists(f.temp_path()));
  EXPECT_TRUE(fs::is_directory(dir));
}

TEST(Host, NameIsTheSystemsHostName) {
  char buf[256] = {};
  ASSERT_EQ(gethostname(buf, sizeof buf - 1), 0);
  EXPECT_EQ(host_name(), std::string(buf));
}

class Cleanup : public ::testing::Environment {
 public:
  void TearDown() override { fs::remove_all(scratch()); }
};
const auto* const kCleanup = ::testing::AddGlobalTestEnvironment(new Cleanup);

}  // namespace

// The HDF5 guard (platform/h5_guard.hpp): files on which libhdf5 1.10.8 itself crashes or spins
// (tests/malformed/libhdf5/) end as an InputError naming the file; this process survives.
namespace {
std::string guard_error(const std::string& path) {
  h5::forget_checked_files();
  try {
    h5::guard_untrusted_file(path);
  } catch (const InputError& e) {
    return e.what();
  }
  return "";
}
const std::string kLibhdf5Cases = std::string(MOEB_SOURCE_DIR) + "/tests/malformed/libhdf5/";
}  // namespace

TEST(H5Guard, CrashInsideLibhdf5IsOneErrorNamingTheFile) {
  const std::string path = kLibhdf5Cases + "trace-segv-h5hg-read-families.h5";
  const std::string e = guard_error(path);
  EXPECT_NE(e.find(path + ": the HDF5 library crashed (SIGSEGV)"), std::string::npos) << e;
}

TEST(H5Guard, SpinInsideLibhdf5EndsAtTheTimeLimit) {
  ::setenv("MOEB_HDF5_GUARD_TIMEOUT_S", "1", 1);
  const std::string e = guard_error(kLibhdf5Cases + "trace-spin.h5");
  ::unsetenv("MOEB_HDF5_GUARD_TIMEOUT_S");
  EXPECT_NE(e.find("read nothing further of the file's structure for 1 s"), std::string::npos)
      << e;
}

// The time limit is on a read that makes no progress: a reader that goes on past it, reporting
// progress (as the h5 readers do after each dataset), is not cut off; the same reader silent
// is ended at the limit.
TEST(H5Guard, AReadThatMakesProgressPastTheTimeLimitIsNotCutOff) {
  const fs::path d = scratch();
  const std::string path = (d / "ok.h5").string();
  { h5::Handle f = h5::create_file(path); }
  auto slow = [](bool progress) {
    return [progress] {
      for (int i = 0; i < 25; ++i) {
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
        if (progress) h5::guard_progress();
      }
    };
  };
  ::setenv("MOEB_HDF5_GUARD_TIMEOUT_S", "1", 1);
  h5::forget_checked_files();
  std::string e;
  try {
    h5::guard_untrusted_file(path, "slow", slow(true));
  } catch (const InputError& err) {
    e = err.what();
  }
  EXPECT_EQ(e, "");
  h5::forget_checked_files();
  try {
    h5::guard_untrusted_file(path, "silent", slow(false));
  } catch (const InputError& err) {
    e = err.what();
  }
  ::unsetenv("MOEB_HDF5_GUARD_TIMEOUT_S");
  EXPECT_NE(e.find("read nothing further of the file's structure for 1 s"), std::string::npos)
      << e;
  fs::remove_all(d);
}

TEST(H5Guard, ReaderRunsInTheChildAndAWellFormedFilePasses) {
  const fs::path d = scratch();
  const std::string path = (d / "ok.h5").string();
  {
    h5::Handle f = h5::create_file(path);
    h5::write_attr(f, "note", std::string("variable-length string"));
  }
  bool parent_ran = false;
  h5::forget_checked_files();
  h5::guard_untrusted_file(path, "test", [&parent_ran] { parent_ran = true; });
  EXPECT_FALSE(parent_ran);  // the reader ran in the child only
  // A reader that crashes in the child is reported like a crash inside libhdf5.
  h5::forget_checked_files();
  std::string e;
  try {
    h5::guard_untrusted_file(path, "test", [] { std::abort(); });
  } catch (const InputError& err) {
    e = err.what();
  }
  EXPECT_NE(e.find("crashed (SIGABRT)"), std::string::npos) << e;
  fs::remove_all(d);
}
