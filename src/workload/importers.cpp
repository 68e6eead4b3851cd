// import_from_text / import_trace: the field map, format dispatch and sniffing, and the file
// half (read inputs, write the trace through TraceWriter). Parsers: import_{jsonl,csv,coact}.cpp.
#include "workload/importers.hpp"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "core/error.hpp"
#include "workload/import_common.hpp"
#include "workload/sha256.hpp"

namespace moeb {

using namespace import_detail;

namespace {

constexpr const char* kFieldKeys = "request, token, layer, experts, weights, family, phase";

std::string* field_slot(ImportFields& f, const std::string& key) {
  if (key == "request") return &f.request;
  if (key == "token") return &f.token;
  if (key == "layer") return &f.layer;
  if (key == "experts") return &f.experts;
  if (key == "weights") return &f.weights;
  if (key == "family") return &f.family;
  if (key == "phase") return &f.phase;
  return nullptr;
}

void check_format(const std::string& format) {
  if (format != "jsonl-topk" && format != "csv" && format != "coact-csv")
    throw InputError("trace import: --format: expected jsonl-topk | csv | coact-csv, got '" +
                     format + "'");
}

std::string read_input(const std::string& path) {
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) throw InputError(path + ": no such file");
  if (std::filesystem::is_directory(path, ec))
    throw InputError(path + ": is a directory, expected a file");
  std::ifstream in(path, std::ios::binary);
  if (!in) throw InputError(path + ": cannot open for reading (permissions?)");
  std::stringstream ss;
  ss << in.rdbuf();
  if (in.bad()) throw InputError(path + ": read error");
  return ss.str();
}

}  // namespace

ImportFields default_fields(const std::string& format) {
  if (format == "csv")
    return {"request", "token", "layer", "expert_", "weight_", "family", "phase"};
  // jsonl-topk: the field names of ../shared/traces/mixtral-8x7b.
  return {"problem_id", "token_idx", "layer", "experts", "gating_probs", "dataset", ""};
}

ImportFields resolve_fields(const std::string& format,
                            const std::map<std::string, std::string>& overrides) {
  ImportFields f = default_fields(format);
  for (const auto& [key, value] : overrides) {
    std::string* slot = field_slot(f, key);
    if (!slot)
      throw InputError("trace import: --fields: unknown key '" + key + "' (known: " + kFieldKeys +
                       ")");
    const bool optional = key == "weights" || key == "family" || key == "phase";
    if (value.empty() && !optional)
      throw InputError("trace import: --fields: '" + key +
                       "' needs a name (only weights, "
                       "family and phase may be empty)");
    *slot = value;
  }
  return f;
}

std::map<std::string, std::string> parse_field_map(const std::string& text) {
  std::map<std::string, std::string> m;
  std::stringstream ss(text);
  std::string item;
  while (std::getline(ss, item, ',')) {
    if (item.empty()) continue;
    const size_t eq = item.find('=');
    if (eq == std::string::npos)
      throw InputError("trace import: --fields: expected KEY=NAME, got '" + item +
                       "' (keys: " + kFieldKeys + ")");
    const std::string key = item.substr(0, eq);
    ImportFields probe;
    if (!field_slot(probe, key))
      throw InputError("trace import: --fields: unknown key '" + key + "' (known: " + kFieldKeys +
                       ")");
    if (!m.emplace(key, item.substr(eq + 1)).second)
      throw InputError("trace import: --fields: key '" + key + "' given twice");
  }
  return m;
}

ImportResult import_from_text(const std::vector<ImportText>& inputs, const ImportOptions& opt) {
  if (inputs.empty()) throw InputError("trace import: no input files");
  check_format(opt.format);
  check_shape_options(opt);
  for (const ImportText& in : inputs) sniff(in, opt.format);
  if (opt.format == "coact-csv") return import_coact(inputs, opt);
  const ImportFields f = resolve_fields(opt.format, opt.fields);
  Tables tables;
  std::vector<Record> records;
  for (const ImportText& in : inputs) {
    tables.inputs.push_back(in.name);
    const int32_t idx = static_cast<int32_t>(tables.inputs.size() - 1);
    if (opt.format == "jsonl-topk")
      parse_jsonl(in, idx, f, tables, records);
    else
      parse_csv(in, idx, f, tables, records);
  }
  ImportResult out = assemble_tokens(records, tables, opt);
  TraceHeader& h = out.header;
  h.num_layers = out.summary.num_layers;
  h.num_experts = out.summary.num_experts;
  h.top_k = out.summary.top_k;
  h.family_names = out.summary.family_names;
  h.import_format = opt.format;
  h.model = opt.model;
  h.dropped_tokens = out.summary.dropped_tokens;
  return out;
}

ImportSummary import_trace(const std::vector<std::string>& files, const std::string& out_path,
                           const ImportOptions& opt) {
  if (files.empty()) throw InputError("trace import: no input files");
  check_format(opt.format);
  check_shape_options(opt);
  std::vector<std::string> texts;
  std::vector<ImportText> inputs;
  Sha256 sha;
  std::string source;
  for (const auto& path : files) {
    texts.push_back(read_input(path));
    sha.update(texts.back().data(), texts.back().size());
    source += (source.empty() ? "" : ",") + path;
  }
  for (size_t i = 0; i < files.size(); ++i) inputs.push_back({files[i], texts[i]});
  ImportResult r = import_from_text(inputs, opt);
  texts.clear();
  r.header.source = source;
  r.header.source_sha256 = sha.hex_digest();
  r.summary.source_sha256 = r.header.source_sha256;
  TraceWriter writer(out_path, r.header);
  if (r.header.statistics_only) {
    writer.write_statistics(r.load, r.coact);
  } else {
    constexpr int64_t kChunk = 65536;
    for (int64_t b = 0; b < r.tokens.num_tokens(); b += kChunk)
      writer.append(r.tokens.slice(b, std::min(r.tokens.num_tokens(), b + kChunk)));
  }
  writer.finish();
  return r.summary;
}

}  // namespace moeb
