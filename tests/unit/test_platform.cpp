// platform/: the atomic file (whole or nothing) and the host name.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "core/error.hpp"
#include "platform/atomic_file.hpp"
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
