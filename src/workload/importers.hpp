// Importers from public routing-data shapes into the HDF5 routing-trace file, and exporters
// back (so every format round-trips). Malformed input raises InputError with one line: file,
// line number, what was expected; the output file is only created (by rename) on success.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "workload/trace_file.hpp"

namespace moeb {

// Field names of per-token JSON lines (defaults: ../shared/traces/mixtral-8x7b).
struct JsonlFields {
  std::string request = "problem_id";  // request id (integer or string)
  std::string token = "token_idx";     // position of the token within its request
  std::string layer = "layer";
  std::string experts = "experts";       // array of top-k expert ids, best first
  std::string weights = "gating_probs";  // array of gate weights ("" = none: equal weights)
  std::string family = "dataset";        // task family name ("" or absent field = "default")
  std::string phase = "";                // "prefill"/"decode" or 0/1 ("" = every token decode)
};

struct ImportOptions {
  std::string format;   // jsonl-topk | csv | coact-csv
  std::string model;    // preset: fixes experts, top_k and layers ("" = from the data)
  int num_experts = 0;  // 0 = model's, else max id + 1
  int num_layers = 0;   // 0 = model's, else max layer + 1
  int top_k = 0;        // coact-csv: needed to derive loads (0 = model's, else 2)
  JsonlFields jsonl;
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

// Imports `files` (one format) into `out_path` (written to out_path.tmp, renamed at the end).
// Policy for incomplete tokens (a token lacking a record at some layer): dropped and counted.
ImportSummary import_trace(const std::vector<std::string>& files, const std::string& out_path,
                           const ImportOptions& opt);

// Writes a routing-trace file as jsonl-topk (default field names) or csv; for coact-csv, its
// co-activation counts (layer,expert_i,expert_j,count, all i != j). Tokens are streamed.
void export_trace(const std::string& trace_path, const std::string& format,
                  const std::string& out_path);

}  // namespace moeb
