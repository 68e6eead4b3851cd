// Format sniffing: an input that looks like another format than the one asked for gets a
// suggestion instead of a parse error on its first line.
#include <algorithm>
#include <nlohmann/json.hpp>

#include "workload/import_common.hpp"

namespace moeb::import_detail {

namespace {

bool starts_with(std::string_view s, std::string_view p) { return s.substr(0, p.size()) == p; }

// Binary content that is certainly not JSON or CSV text, with what to do about it.
const char* binary_kind(std::string_view text) {
  if (starts_with(text, "\x89HDF\r\n\x1a\n"))
    return "an HDF5 file, not text (a routing trace already? see `moebench trace info FILE`)";
  if (starts_with(text, "\x1f\x8b")) return "gzip-compressed; decompress it first (gunzip)";
  if (starts_with(text, "PK\x03\x04")) return "a zip archive; extract it first";
  if (starts_with(text, "\x80") && text.size() > 1 && text[1] >= 2 && text[1] <= 5)
    return "a Python pickle; convert it to JSON lines or CSV first";
  if (text.substr(0, 4096).find('\0') != std::string_view::npos) return "binary data, not text";
  return nullptr;
}

std::string_view first_line(std::string_view text) {
  if (starts_with(text, "\xEF\xBB\xBF")) text.remove_prefix(3);  // UTF-8 byte order mark
  size_t pos = text.find_first_not_of(" \t\r\n");
  if (pos == std::string_view::npos) return {};
  text.remove_prefix(pos);
  std::string_view line = text.substr(0, text.find('\n'));
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  return line;
}

enum class Shape { kEmpty, kJson, kJsonArray, kCoactCsv, kLoadCsv, kTokenCsv, kOtherCsv, kText };

Shape shape_of(std::string_view line) {
  if (line.empty()) return Shape::kEmpty;
  if (line.front() == '[') return Shape::kJsonArray;
  if (line.front() == '{') return Shape::kJson;
  CsvHeader h = read_csv_header(line);
  if (h.has("expert_i") && h.has("expert_j")) return Shape::kCoactCsv;
  if (h.has("expert") && h.has("count") && h.has("layer")) return Shape::kLoadCsv;
  if (h.has("expert_0")) return Shape::kTokenCsv;
  if (h.cells > 1) return Shape::kOtherCsv;
  return Shape::kText;
}

std::string jsonl_hint(std::string_view line) {
  if (nlohmann::json::accept(line)) return "";
  return "the first line is not a whole JSON object: jsonl-topk reads one object per line "
         "(a pretty-printed JSON document converts with: jq -c . FILE)";
}

}  // namespace

void sniff(const ImportText& in, const std::string& format) {
  const std::string where = in.name + ":1";
  if (const char* kind = binary_kind(in.text)) bad(in.name, std::string("this is ") + kind);
  const std::string_view line = first_line(in.text);
  const Shape shape = shape_of(line);
  const bool jsonl = format == "jsonl-topk", coact = format == "coact-csv";
  if (shape == Shape::kJsonArray && jsonl)
    bad(where,
        "looks like one JSON array; jsonl-topk reads one object per line "
        "(convert with: jq -c '.[]' FILE)");
  if ((shape == Shape::kJson || shape == Shape::kJsonArray) && !jsonl)
    bad(where, "looks like JSON, not a CSV header; use --format jsonl-topk");
  if (shape == Shape::kJson && jsonl) {
    std::string hint = jsonl_hint(line);
    if (!hint.empty()) bad(where, hint);
  }
  if ((shape == Shape::kCoactCsv || shape == Shape::kLoadCsv) && !coact)
    bad(where,
        std::string("looks like a co-activation CSV (") +
            (shape == Shape::kCoactCsv ? "layer,expert_i,expert_j,count" : "layer,expert,count") +
            "); use --format coact-csv");
  if (shape == Shape::kTokenCsv && !(format == "csv"))
    bad(where, "looks like a per-token CSV (request,token,layer,expert_0,...); use --format csv");
  if (shape == Shape::kOtherCsv && jsonl)
    bad(where,
        "looks like CSV, not JSON lines; use --format csv (request,token,layer,expert_0,"
        "... rows) or coact-csv (layer,expert_i,expert_j,count rows)");
}

}  // namespace moeb::import_detail
