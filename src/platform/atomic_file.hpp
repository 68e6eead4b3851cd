// Files that appear whole or not at all: write to PATH.tmp, then rename it onto PATH (atomic on
// POSIX within one file system), so that a reader or a crash never sees a half-written PATH.
#pragma once

#include <string>

namespace moeb {

// The temporary PATH.tmp a writer fills; commit() renames it onto PATH. Destroyed without a
// commit (an error on the way), it removes the temporary and leaves PATH as it was.
class AtomicFile {
 public:
  explicit AtomicFile(std::string path);
  ~AtomicFile();
  AtomicFile(const AtomicFile&) = delete;
  AtomicFile& operator=(const AtomicFile&) = delete;

  const std::string& path() const { return path_; }
  const std::string& temp_path() const { return temp_; }
  // Renames the temporary onto path(). Throws InputError "PATH: cannot rename PATH.tmp: reason"
  // (and removes the temporary) when the rename fails.
  void commit();
  bool committed() const { return committed_; }

 private:
  std::string path_, temp_;
  bool committed_ = false;
};

// Writes `text` to `path` through AtomicFile. Throws InputError "PATH: cannot write PATH.tmp:
// reason" when the temporary cannot be written, or commit()'s error.
void write_file_atomically(const std::string& path, const std::string& text);

}  // namespace moeb
