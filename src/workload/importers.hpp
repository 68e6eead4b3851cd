// Importers from public routing-data shapes into the HDF5 routing-trace file, and exporters
// back (so every format round-trips). Malformed input raises InputError with one line: file,
// line number, what was expected; the output file is only created (by rename) on success.
//
// The parsing half works on text in memory (import_from_text): no file system, no HDF5, every
// size checked against TraceLimits before it is allocated. Fuzz targets and the malformed-input
// tests call it directly; import_trace() reads the files and writes the result.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "core/trace.hpp"
#include "workload/trace_file.hpp"

namespace moeb {

// Field (jsonl-topk) or column (csv) names of a per-token record. Keys of the field map:
// request, token, layer, experts, weights, family, phase. For csv, `experts` and `weights` name
// column prefixes (experts=expert_ reads expert_0..expert_{k-1}).
struct ImportFields {
  std::string request, token, layer, experts, weights, family, phase;
};

// The names a format uses when the field map does not override them.
ImportFields default_fields(const std::string& format);
// Defaults of `format` with `overrides` applied (keys as above; an empty value turns an
// optional field off: weights= means equal weights, family= one family, phase= all decode).
ImportFields resolve_fields(const std::string& format,
                            const std::map<std::string, std::string>& overrides);
// Parses "request=problem,token=pos,..." (the --fields option). Throws InputError naming the
// bad entry and the known keys.
std::map<std::string, std::string> parse_field_map(const std::string& text);

struct ImportOptions {
  std::string format;  // jsonl-topk | csv | coact-csv
  std::string model;   // preset: fixes experts, top_k and layers ("" = from the data)
  // Shape overrides, checked against TraceLimits (64-bit so that --layers 1e10 is reported as
  // too large rather than wrapped).
  int64_t num_experts = 0;  // 0 = model's, else max id + 1
  int64_t num_layers = 0;   // 0 = model's, else max layer + 1
  int64_t top_k = 0;        // coact-csv: needed to derive loads (0 = model's, else 2)
  std::map<std::string, std::string> fields;  // field map overrides (see resolve_fields)
};

struct ImportSummary {
  int64_t records = 0;  // lines / rows read
  int64_t tokens = 0;   // tokens written
  int64_t requests = 0;
  int64_t dropped_tokens = 0;  // tokens missing a record at some layer, dropped
  int num_layers = 0, num_experts = 0, top_k = 0;
  std::vector<std::string> family_names;
  std::vector<int64_t> family_tokens;
  std::string source_sha256;
};

// One input: a name for messages ("file.jsonl") and its bytes.
struct ImportText {
  std::string name;
  std::string_view text;
};

// An import assembled in memory: the trace header and either the tokens (jsonl-topk, csv) or
// the statistics (coact-csv: load [L][E], coact [L][E*E]).
struct ImportResult {
  TraceHeader header;
  ImportSummary summary;
  RoutingTrace tokens;
  std::vector<std::vector<double>> load, coact;
};

// Parses, sniffs (a format that looks like another gets a suggestion), validates against the
// model and TraceLimits, sorts each token's experts by gate weight (descending), and assembles.
// Throws InputError "NAME:LINE: what was expected". Fuzz entry point.
ImportResult import_from_text(const std::vector<ImportText>& inputs, const ImportOptions& opt);

// Imports `files` (one format) into `out_path` (written to out_path.tmp, renamed at the end).
// Policy for incomplete tokens (a token lacking a record at some layer): dropped and counted.
ImportSummary import_trace(const std::vector<std::string>& files, const std::string& out_path,
                           const ImportOptions& opt);

// Writes a routing-trace file as jsonl-topk (default field names) or csv; for coact-csv, its
// co-activation counts (layer,expert_i,expert_j,count, all i != j). Tokens are streamed.
void export_trace(const std::string& trace_path, const std::string& format,
                  const std::string& out_path);

}  // namespace moeb
