// SHA-256 (FIPS 180-4) for trace provenance: checksums of imported inputs and replayed files.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

namespace moeb {

class Sha256 {
 public:
  Sha256();
  void update(const void* data, size_t n);
  std::string hex_digest();  // finalizes; call once

 private:
  void block(const uint8_t* p);
  uint32_t h_[8];
  uint8_t buf_[64];
  size_t buf_len_ = 0;
  uint64_t total_ = 0;
};

// sha256 (hex) of a file's bytes; throws InputError when it cannot be read.
std::string sha256_file(const std::string& path);

}  // namespace moeb
