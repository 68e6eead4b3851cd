// The HDF5 routing-trace file (results_schema/TRACE.md, format version 1): written in streamed
// chunks to NAME.tmp and renamed on finish(); read token lists at a time without loading the
// routing whole (only the per-token metadata, 16 bytes a token, is held in memory).
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "core/stats.hpp"
#include "core/trace.hpp"
#include "platform/atomic_file.hpp"

namespace moeb {

constexpr int kTraceFormatVersion = 1;
inline constexpr char kTraceFormatName[] = "moebench-routing-trace";

struct TraceHeader {
  int num_layers = 0, num_experts = 0, top_k = 0;
  std::vector<std::string> family_names{"default"};
  std::string source;          // what was imported ("file.jsonl", "synthetic:calibrated ...")
  std::string source_sha256;   // sha256 of the imported input files (hex), "" for synthetic
  std::string import_format;   // jsonl-topk | csv | coact-csv | synthetic
  std::string model;           // model preset the trace belongs to, "" when unknown
  int64_t dropped_tokens = 0;  // tokens the importer dropped (incomplete records)
  bool statistics_only = false;
  // Read back only:
  int64_t num_tokens = 0, num_requests = 0;
};

class TraceWriter {
 public:
  // Creates `path`.tmp; nothing appears at `path` until finish().
  TraceWriter(const std::string& path, const TraceHeader& header);
  ~TraceWriter();  // removes the .tmp when finish() was not reached
  TraceWriter(const TraceWriter&) = delete;
  TraceWriter& operator=(const TraceWriter&) = delete;

  // Appends the tokens of `chunk` (same layers/experts/top_k as the header; family ids index the
  // header's name table).
  void append(const RoutingTrace& chunk);
  // Statistics-only files: per-layer loads [E] and co-activation [E*E] (statistics_only = true).
  void write_statistics(const std::vector<std::vector<double>>& load,
                        const std::vector<std::vector<double>>& coact);
  void set_dropped_tokens(int64_t n) { header_.dropped_tokens = n; }
  // Writes the remaining attributes, closes, renames NAME.tmp -> NAME.
  void finish();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
  TraceHeader header_;
  std::string path_;
  AtomicFile out_;  // path_.tmp, renamed onto path_ by finish(), removed otherwise
  int64_t tokens_ = 0;
  bool finished_ = false;
};

// True when `path` is an HDF5 file whose root attribute 'format' names a routing trace (a quick
// look for messages such as "this is a trace, not a results file"; no other check).
bool is_routing_trace_file(const std::string& path);

class TraceReader {
 public:
  // Throws InputError naming the file when it is not a routing trace of a known version, or
  // when any attribute, dataset shape or value breaks results_schema/TRACE.md (ids outside
  // [0, E), repeated ids in a top-k, gate weights not finite or negative, sizes above the
  // limits): the routing is read once, in blocks, to check it.
  explicit TraceReader(const std::string& path);
  ~TraceReader();
  TraceReader(const TraceReader&) = delete;
  TraceReader& operator=(const TraceReader&) = delete;

  const TraceHeader& header() const { return header_; }
  const std::string& path() const { return path_; }
  int64_t num_tokens() const { return static_cast<int64_t>(metas_.size()); }
  const std::vector<TokenMeta>& metas() const { return metas_; }
  // The listed tokens, in the listed order, first `num_layers` layers (<= header num_layers).
  RoutingTrace read(std::span<const int64_t> tokens, int num_layers) const;
  // Tokens [begin, end), all layers.
  RoutingTrace read_range(int64_t begin, int64_t end) const;
  // Statistics-only files: the stored loads and co-activation as RoutingStats (first
  // `num_layers` layers). For token files: computed from all tokens, streamed.
  RoutingStats statistics(int num_layers) const;
  // sha256 (hex) of the file's bytes, computed on first use.
  std::string file_sha256() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
  TraceHeader header_;
  std::string path_;
  std::vector<TokenMeta> metas_;
  mutable std::string sha_;
};

}  // namespace moeb
