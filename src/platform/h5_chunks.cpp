// write_datasets (h5.hpp): numeric datasets whose chunks are shuffled and deflated on threads and
// stored with H5Dwrite_chunk, the bytes HDF5's own shuffle and deflate filters would store.
#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <memory>

#include "core/parallel.hpp"
#include "platform/h5.hpp"

#if defined(MOEB_HAVE_ZLIB) && H5_VERSION_GE(1, 10, 3)
#include <zlib.h>
#define MOEB_DIRECT_CHUNKS 1
#else
#define MOEB_DIRECT_CHUNKS 0
#endif

namespace moeb::h5 {

namespace {

NumericData make(std::string name, std::vector<hsize_t> dims, const void* data, size_t size,
                 hid_t mem_type, hid_t file_type, const char* units) {
  NumericData d;
  d.name = std::move(name);
  d.dims = std::move(dims);
  d.data = data;
  d.elem_size = size;
  d.mem_type = mem_type;
  d.file_type = file_type;
  d.units = units;
  return d;
}

}  // namespace

NumericData numeric(std::string name, std::vector<hsize_t> dims, const int64_t* data,
                    const char* units) {
  return make(std::move(name), std::move(dims), data, 8, H5T_NATIVE_INT64, H5T_STD_I64LE, units);
}
NumericData numeric(std::string name, std::vector<hsize_t> dims, const int32_t* data,
                    const char* units) {
  return make(std::move(name), std::move(dims), data, 4, H5T_NATIVE_INT32, H5T_STD_I32LE, units);
}
NumericData numeric(std::string name, std::vector<hsize_t> dims, const double* data,
                    const char* units) {
  return make(std::move(name), std::move(dims), data, 8, H5T_NATIVE_DOUBLE, H5T_IEEE_F64LE, units);
}

bool direct_chunk_write_available() { return MOEB_DIRECT_CHUNKS != 0; }

namespace {
std::atomic<uint64_t> g_direct_chunks{0};
}  // namespace

uint64_t direct_chunks_written() { return g_direct_chunks.load(); }

namespace {

// A created dataset and, when its chunks can be written directly, how: its chunks span
// `chunk_rows` rows of dim 0 and every other dim whole (create_numeric's layout), filtered by an
// optional shuffle then deflate at `level` (the filter at index `deflate_index`).
struct Target {
  const NumericData* data = nullptr;
  Handle dset;
  bool direct = false;
  bool shuffle = false;
  int level = 0;
  unsigned deflate_index = 0;
  hsize_t chunk_rows = 0;
  size_t row_bytes = 0;
  size_t chunk_bytes() const { return static_cast<size_t>(chunk_rows) * row_bytes; }
  hsize_t chunks() const { return (data->dims[0] + chunk_rows - 1) / chunk_rows; }
};

// Fills t.direct and the chunk plan from the dataset's creation properties: chunked, the chunk
// whole in every dim but the first, filters exactly [shuffle,] deflate, no type conversion.
void plan_direct(Target& t) {
  const NumericData& d = *t.data;
  if (!MOEB_DIRECT_CHUNKS || d.dims.empty() || element_count(d.dims) == 0) return;
  if (MOEB_H5_CHECK(H5Tequal(d.mem_type, d.file_type)) <= 0) return;
  Handle dcpl(MOEB_H5_CHECK(H5Dget_create_plist(t.dset)));
  if (H5Pget_layout(dcpl) != H5D_CHUNKED) return;
  const int rank = static_cast<int>(d.dims.size());
  std::vector<hsize_t> chunk(d.dims.size());
  if (MOEB_H5_CHECK(H5Pget_chunk(dcpl, rank, chunk.data())) != rank || chunk[0] == 0) return;
  for (int k = 1; k < rank; ++k)
    if (chunk[k] != d.dims[k]) return;
  const int n = MOEB_H5_CHECK(H5Pget_nfilters(dcpl));
  bool deflate = false;
  for (int i = 0; i < n; ++i) {
    unsigned flags = 0, cd[8] = {};
    size_t ncd = 8;
    const H5Z_filter_t id =
        H5Pget_filter2(dcpl, static_cast<unsigned>(i), &flags, &ncd, cd, 0, nullptr, nullptr);
    if (id == H5Z_FILTER_SHUFFLE && i == 0 && n > 1) {
      t.shuffle = true;
    } else if (id == H5Z_FILTER_DEFLATE && i == n - 1 && ncd >= 1 && cd[0] <= 9) {
      deflate = true;
      t.level = static_cast<int>(cd[0]);
      t.deflate_index = static_cast<unsigned>(i);
    } else {
      return;  // any other filter (or order): HDF5's pipeline writes it
    }
  }
  if (!deflate) return;
  t.chunk_rows = chunk[0];
  t.row_bytes = d.elem_size * (element_count(d.dims) / d.dims[0]);
  t.direct = true;
}

#if MOEB_DIRECT_CHUNKS
// One stored chunk: its bytes and the filter mask (bit i set: filter i was skipped).
struct StoredChunk {
  std::unique_ptr<unsigned char[]> bytes;  // not zero-filled: every byte stored is written first
  size_t size = 0;
  uint32_t mask = 0;
};

// Byte shuffle as HDF5's shuffle filter does it: byte j of element i goes to j * n + i (n whole
// elements; leftover bytes, none for whole chunks, copied at the end). The element size is a
// template argument for the sizes written here (the inner loop then unrolls).
template <size_t kSize>
void shuffle_fixed(const unsigned char* in, size_t n, unsigned char* out) {
  for (size_t i = 0; i < n; ++i)
    for (size_t j = 0; j < kSize; ++j) out[j * n + i] = in[i * kSize + j];
}

// 8-byte elements, 8 at a time (the direct path runs only where the memory type is the file's
// little-endian type): the 8 x 8 byte matrix (row k = element i + k)
// transposed in registers (swaps of 4-, 2- and 1-byte blocks), so row j then holds byte j of the
// 8 elements and is stored with one 8-byte write to its stream; the rest element by element.
void shuffle8(const unsigned char* in, size_t n, unsigned char* out) {
  size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    uint64_t x[8];
    std::memcpy(x, in + i * 8, sizeof(x));
    for (int k = 0; k < 4; ++k) {
      const uint64_t t = ((x[k] >> 32) ^ x[k + 4]) & 0x00000000FFFFFFFFull;
      x[k] ^= t << 32;
      x[k + 4] ^= t;
    }
    for (int k : {0, 1, 4, 5}) {
      const uint64_t t = ((x[k] >> 16) ^ x[k + 2]) & 0x0000FFFF0000FFFFull;
      x[k] ^= t << 16;
      x[k + 2] ^= t;
    }
    for (int k : {0, 2, 4, 6}) {
      const uint64_t t = ((x[k] >> 8) ^ x[k + 1]) & 0x00FF00FF00FF00FFull;
      x[k] ^= t << 8;
      x[k + 1] ^= t;
    }
    for (size_t j = 0; j < 8; ++j) std::memcpy(out + j * n + i, &x[j], 8);
  }
  for (; i < n; ++i)
    for (size_t j = 0; j < 8; ++j) out[j * n + i] = in[i * 8 + j];
}

void shuffle_bytes(const unsigned char* in, size_t nbytes, size_t size, unsigned char* out) {
  const size_t n = nbytes / size;
  if (size == 8) {
    shuffle8(in, n, out);
  } else if (size == 4) {
    shuffle_fixed<4>(in, n, out);
  } else {
    for (size_t i = 0; i < n; ++i)
      for (size_t j = 0; j < size; ++j) out[j * n + i] = in[i * size + j];
  }
  std::memcpy(out + n * size, in + n * size, nbytes - n * size);
}

// Chunk `k` of `t` filtered as HDF5 would: the chunk's rows (an edge chunk padded with zeros, the
// fill value HDF5 pads it with), shuffled, then zlib's compress2 at the level, into a destination
// of HDF5 1.10's size for the deflate filter (ceil(1.001 n) + 12 bytes). A result that does not
// fit fails that optional filter in HDF5, which then stores the chunk without it (mask bit set):
// the same here.
StoredChunk filter_chunk(const Target& t, hsize_t k) {
  const size_t nbytes = t.chunk_bytes();
  const hsize_t first = k * t.chunk_rows;
  const size_t rows = static_cast<size_t>(std::min(t.chunk_rows, t.data->dims[0] - first));
  const auto* src = static_cast<const unsigned char*>(t.data->data) + first * t.row_bytes;
  std::vector<unsigned char> padded;
  std::unique_ptr<unsigned char[]> shuffled;
  if (rows < t.chunk_rows) {
    padded.assign(nbytes, 0);
    std::memcpy(padded.data(), src, rows * t.row_bytes);
    src = padded.data();
  }
  if (t.shuffle && t.data->elem_size > 1 && nbytes / t.data->elem_size > 1) {
    shuffled.reset(new unsigned char[nbytes]);
    shuffle_bytes(src, nbytes, t.data->elem_size, shuffled.get());
    src = shuffled.get();
  }
  StoredChunk out;
  uLongf size = static_cast<uLongf>(std::ceil(static_cast<double>(nbytes) * 1.001) + 12);
  out.bytes.reset(new unsigned char[size]);
  const int rc = compress2(out.bytes.get(), &size, src, static_cast<uLong>(nbytes), t.level);
  if (rc == Z_OK) {
    out.size = size;
  } else if (rc == Z_BUF_ERROR) {
    out.bytes.reset(new unsigned char[nbytes]);
    std::memcpy(out.bytes.get(), src, nbytes);
    out.size = nbytes;
    out.mask = 1u << t.deflate_index;
  } else {
    throw H5Error("zlib compress2 failed (" + std::to_string(rc) + ") on a chunk of '" +
                  t.data->name + "'");
  }
  return out;
}

// Compresses and stores every chunk of the direct targets, a window of at most
// kChunkWindowBytes raw bytes at a time (at least one chunk).
void write_chunks(const std::vector<Target>& targets, int threads) {
  struct Job {
    const Target* t;
    hsize_t k;
  };
  std::vector<Job> jobs;
  for (const auto& t : targets)
    if (t.direct)
      for (hsize_t k = 0; k < t.chunks(); ++k) jobs.push_back({&t, k});
  std::vector<StoredChunk> out;
  for (size_t begin = 0, end = 0; begin < jobs.size(); begin = end) {
    size_t bytes = 0;
    for (end = begin; end < jobs.size(); ++end) {
      bytes += jobs[end].t->chunk_bytes();
      if (end > begin && bytes > kChunkWindowBytes) break;
    }
    out.clear();
    out.resize(end - begin);
    parallel_for(static_cast<int>(end - begin), threads,
                 [&](int i) { out[i] = filter_chunk(*jobs[begin + i].t, jobs[begin + i].k); });
    for (size_t i = 0; i < out.size(); ++i) {
      const Job& j = jobs[begin + i];
      std::vector<hsize_t> offset(j.t->data->dims.size(), 0);
      offset[0] = j.k * j.t->chunk_rows;
      MOEB_H5_CHECK(H5Dwrite_chunk(j.t->dset, H5P_DEFAULT, out[i].mask, offset.data(), out[i].size,
                                   out[i].bytes.get()));
      ++g_direct_chunks;
    }
  }
}
#else
void write_chunks(const std::vector<Target>&, int) {}
#endif

}  // namespace

void write_datasets(hid_t parent, const std::vector<NumericData>& sets, const ChunkWrite& how) {
  std::vector<Target> targets(sets.size());
  for (size_t i = 0; i < sets.size(); ++i) {
    Target& t = targets[i];
    t.data = &sets[i];
    t.dset = create_numeric(parent, sets[i].name, sets[i].dims, sets[i].file_type);
    if (how.direct) plan_direct(t);
    if (!t.direct && element_count(sets[i].dims) > 0)
      MOEB_H5_CHECK(
          H5Dwrite(t.dset, sets[i].mem_type, H5S_ALL, H5S_ALL, H5P_DEFAULT, sets[i].data));
    if (sets[i].units) write_attr(t.dset, "units", std::string(sets[i].units));
  }
  write_chunks(targets, std::max(1, how.threads));
}

}  // namespace moeb::h5
