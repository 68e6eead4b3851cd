// Counter-based randomness: a value is a pure function of (seed, stream, counters), so any rank
// can recompute any other rank's draw and results never depend on the rank count.
#pragma once

#include <cstdint>

namespace moeb {

constexpr uint64_t splitmix64(uint64_t x) {
  x += 0x9E3779B97F4A7C15ULL;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ULL;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBULL;
  return x ^ (x >> 31);
}

// hash_counters in steps, for draws that share leading counters: hash_counters(seed, a, b, c, d)
// == hash_step_d(hash_step_c(hash_step_b(hash_prefix(seed, a), b), c), d). A bulk generator
// computes the prefix once per (seed, stream) and the (b, c) step once per token and layer.
constexpr uint64_t hash_prefix(uint64_t seed, uint64_t a) {
  return splitmix64(splitmix64(seed ^ 0x6A09E667F3BCC909ULL) ^ a);
}
constexpr uint64_t hash_step_b(uint64_t h, uint64_t b) {
  return splitmix64(h ^ (b + 0x3C6EF372FE94F82BULL));
}
constexpr uint64_t hash_step_c(uint64_t h, uint64_t c) {
  return splitmix64(h ^ (c + 0xA54FF53A5F1D36F1ULL));
}
constexpr uint64_t hash_step_d(uint64_t h, uint64_t d) {
  return splitmix64(h ^ (d + 0x510E527FADE682D1ULL));
}

// Hash of a seed and up to four counters.
constexpr uint64_t hash_counters(uint64_t seed, uint64_t a, uint64_t b = 0, uint64_t c = 0,
                                 uint64_t d = 0) {
  return hash_step_d(hash_step_c(hash_step_b(hash_prefix(seed, a), b), c), d);
}

// Uniform double in [0, 1) from a 64-bit hash.
constexpr double unit_double(uint64_t h) { return static_cast<double>(h >> 11) * 0x1.0p-53; }

// Uniform integer in [0, n) from a 64-bit hash (n > 0).
constexpr uint64_t bounded(uint64_t h, uint64_t n) {
  return static_cast<uint64_t>((static_cast<unsigned __int128>(h) * n) >> 64);
}

// Small sequential generator for generators that draw many values in order (std-compatible).
class Rng {
 public:
  using result_type = uint64_t;
  explicit Rng(uint64_t seed) : state_(seed) {}
  static constexpr result_type min() { return 0; }
  static constexpr result_type max() { return ~0ULL; }
  result_type operator()() {
    state_ += 0x9E3779B97F4A7C15ULL;
    uint64_t x = state_;
    x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ULL;
    x = (x ^ (x >> 27)) * 0x94D049BB133111EBULL;
    return x ^ (x >> 31);
  }
  double uniform() { return unit_double((*this)()); }
  uint64_t below(uint64_t n) { return bounded((*this)(), n); }

 private:
  uint64_t state_;
};

}  // namespace moeb
