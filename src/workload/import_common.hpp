// Shared pieces of the importers (importers.hpp): the record every per-token format produces,
// line iteration, strict number parsing against TraceLimits, CSV splitting, format sniffing and
// the one-line messages. Internal to src/workload.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "core/trace.hpp"
#include "workload/importers.hpp"

namespace moeb::import_detail {

// One (token, layer) routing record as read from any per-token format.
struct Record {
  int64_t request = 0;  // index into the request table (first appearance)
  int64_t token = 0;    // position within the request
  int32_t layer = 0;
  int32_t family = 0;
  Phase phase = Phase::kDecode;
  int32_t input = 0;  // index of the input it came from
  int64_t line = 0;   // line number in that input
  std::vector<int32_t> experts;
  std::vector<float> weights;  // empty: equal weights
};

// Names seen while parsing: inputs (for messages), requests and families.
struct Tables {
  std::vector<std::string> inputs;
  std::map<std::string, int64_t> requests;  // key -> index (key = family + '\x1f' + id)
  std::vector<std::string> families{"default"};
  std::map<std::string, int32_t> family_index{{"default", 0}};
  int32_t family(const std::string& name);
  int64_t request(const std::string& key);
  std::string where(int32_t input, int64_t line) const;
  std::string where(const Record& r) const { return where(r.input, r.line); }
};

// A value quoted for a message, cut at 40 characters.
std::string shown(std::string_view s);
[[noreturn]] void bad(const std::string& where, const std::string& what);

// Calls fn(line_number, line) for every non-empty line (a trailing '\r' removed).
template <class Fn>
void for_each_line(std::string_view text, Fn fn) {
  size_t pos = 0;
  int64_t line_no = 0;
  while (pos < text.size()) {
    size_t end = text.find('\n', pos);
    if (end == std::string_view::npos) end = text.size();
    ++line_no;
    std::string_view line = text.substr(pos, end - pos);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (!line.empty()) fn(line_no, line);
    pos = end + 1;
  }
}

Phase parse_phase(std::string_view s, const std::string& where);

// What an integer read from an import stands for; sets its limit and the wording of messages.
enum class IdKind { kLayer, kExpert, kPosition, kCount };
// Checks a value already read as an integer: >= 0 and within the limit of its kind.
int64_t check_id(int64_t v, IdKind kind, const std::string& where, const std::string& field);
// Parses a CSV cell as a decimal integer (no sign, no spaces, no exponent), then check_id.
int64_t parse_id(std::string_view s, IdKind kind, const std::string& where,
                 const std::string& column);
// Parses a CSV cell as a finite number >= 0.
double parse_nonneg(std::string_view s, const std::string& where, const std::string& column);

// Cells of one CSV line (no quoting; surrounding spaces trimmed).
std::vector<std::string_view> split_csv(std::string_view line);

struct CsvHeader {
  std::map<std::string, size_t, std::less<>> col;
  size_t cells = 0;
  bool has(std::string_view name) const { return col.find(name) != col.end(); }
  size_t at(std::string_view name) const { return col.find(name)->second; }
  std::string names() const;  // "a, b, c" in column order
};
CsvHeader read_csv_header(std::string_view line);

// One entry of a "fields missing" message: the name looked for and how to map it.
struct Missing {
  std::string name, key, meaning;
};
// "fields missing: 'x' (meaning; map with --fields key=NAME), ...; the record has: ..."
std::string missing_message(const char* noun, const std::vector<Missing>& missing,
                            const std::string& present);

// Throws a suggestion when `in` looks like another format than `format` (HDF5, compressed,
// JSON given as CSV, a co-activation CSV given as csv, ...). Cheap: looks at the first line.
void sniff(const ImportText& in, const std::string& format);

// Stable sort of a record's experts by gate weight, largest first (no-op without weights).
void sort_by_weight(Record& r);
// Throws when an expert id repeats within the record's top-k.
void check_distinct(const Record& r, const Tables& tables);

// The per-format parsers: text in, records out.
void parse_jsonl(const ImportText& in, int32_t input, const ImportFields& f, Tables& tables,
                 std::vector<Record>& out);
void parse_csv(const ImportText& in, int32_t input, const ImportFields& f, Tables& tables,
               std::vector<Record>& out);
// Records -> tokens: shape from the data, model and options; validation; incomplete tokens
// dropped and counted.
ImportResult assemble_tokens(std::vector<Record>& records, const Tables& tables,
                             const ImportOptions& opt);
// coact-csv: co-activation (and optional load) rows -> statistics.
ImportResult import_coact(const std::vector<ImportText>& inputs, const ImportOptions& opt);

// --layers / --experts / --top-k given on the command line, checked against TraceLimits.
void check_shape_options(const ImportOptions& opt);

}  // namespace moeb::import_detail
