// Helpers shared by the libFuzzer targets (fuzz/README.md).
#pragma once

#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <string>

namespace moeb::fuzz {

// A private temporary file holding one fuzz input (readers that take a path: HDF5 files and
// the importers). The file lives in $MOEB_FUZZ_TMP, else /dev/shm, else /tmp; removed on exit.
class TempFile {
 public:
  TempFile(const uint8_t* data, size_t size, const char* suffix) {
    path_ = dir() + "/moeb-fuzz-" + std::to_string(getpid()) + suffix;
    if (FILE* f = std::fopen(path_.c_str(), "wb")) {
      if (size) std::fwrite(data, 1, size, f);
      std::fclose(f);
    }
  }
  ~TempFile() { std::remove(path_.c_str()); }
  TempFile(const TempFile&) = delete;
  TempFile& operator=(const TempFile&) = delete;
  const std::string& path() const { return path_; }

  // A second path next to it (outputs of the code under test), removed by the caller.
  static std::string sibling(const char* suffix) {
    return dir() + "/moeb-fuzz-" + std::to_string(getpid()) + suffix;
  }

 private:
  static std::string dir() {
    if (const char* d = std::getenv("MOEB_FUZZ_TMP")) return d;
    return access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
  }
  std::string path_;
};

}  // namespace moeb::fuzz
