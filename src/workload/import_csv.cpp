// csv: a header naming request, token, layer and expert_0..expert_{k-1} (optionally
// weight_0..weight_{k-1}, family, phase) in any order, then one row per (token, layer). Column
// names come from the field map; experts and weights name column prefixes.
#include <cmath>

#include "workload/import_common.hpp"
#include "workload/trace_limits.hpp"

namespace moeb::import_detail {

namespace {

struct CsvLayout {
  CsvHeader h;
  int k = 0;
  bool weights = false, family = false, phase = false;
};

CsvLayout read_layout(std::string_view line, const ImportFields& f, const std::string& where) {
  const ImportFields def = default_fields("csv");
  CsvLayout c;
  c.h = read_csv_header(line);
  while (c.k <= TraceLimits::kMaxTopK && c.h.has(f.experts + std::to_string(c.k))) ++c.k;
  if (c.k > TraceLimits::kMaxTopK)
    bad(where, "header: more than 1024 expert columns (at most 1024 experts a token)");
  std::vector<Missing> missing;
  auto need = [&](const std::string& name, const char* key, const char* meaning) {
    if (!c.h.has(name)) missing.push_back({name, key, meaning});
  };
  need(f.request, "request", "request id");
  need(f.token, "token", "position of the token in its request");
  need(f.layer, "layer",
       "MoE layer id; one line per token with all layers is read by jsonl-topk only");
  if (c.k == 0)
    missing.push_back({f.experts + "0", "experts",
                       "expert id columns " + f.experts + "0.." + f.experts + "{k-1}"});
  c.weights = !f.weights.empty() && c.h.has(f.weights + "0");
  if (!f.weights.empty() && f.weights != def.weights)
    need(f.weights + "0", "weights", "gate weight columns; or weights= for equal weights");
  for (int j = 1; c.weights && j < c.k; ++j)
    need(f.weights + std::to_string(j), "weights", "one gate weight column per expert column");
  c.family = !f.family.empty() && c.h.has(f.family);
  c.phase = !f.phase.empty() && c.h.has(f.phase);
  if (!f.family.empty() && f.family != def.family) need(f.family, "family", "task family");
  if (!f.phase.empty() && f.phase != def.phase) need(f.phase, "phase", "prefill | decode");
  if (!missing.empty()) bad(where, "header: " + missing_message("column", missing, c.h.names()));
  return c;
}

Record read_row(const CsvLayout& c, const std::vector<std::string_view>& cells,
                const ImportFields& f, Tables& tables, const std::string& where) {
  Record r;
  std::string family = c.family ? std::string(cells[c.h.at(f.family)]) : "default";
  if (family.empty()) family = "default";
  r.family = tables.family(family);
  std::string_view req = cells[c.h.at(f.request)];
  if (req.empty()) bad(where, "column '" + f.request + "': expected a request id, got nothing");
  r.request = tables.request(family + '\x1f' + std::string(req));
  r.token = parse_id(cells[c.h.at(f.token)], IdKind::kPosition, where, f.token);
  r.layer = static_cast<int32_t>(parse_id(cells[c.h.at(f.layer)], IdKind::kLayer, where, f.layer));
  if (c.phase) r.phase = parse_phase(cells[c.h.at(f.phase)], where);
  r.experts.reserve(static_cast<size_t>(c.k));
  for (int j = 0; j < c.k; ++j) {
    const std::string e = f.experts + std::to_string(j);
    r.experts.push_back(
        static_cast<int32_t>(parse_id(cells[c.h.at(e)], IdKind::kExpert, where, e)));
    if (c.weights) {
      const std::string w = f.weights + std::to_string(j);
      const double x = parse_nonneg(cells[c.h.at(w)], where, w);
      if (!std::isfinite(static_cast<float>(x)))
        bad(where, "column '" + w + "': gate weight beyond the float range");
      r.weights.push_back(static_cast<float>(x));
    }
  }
  return r;
}

}  // namespace

void parse_csv(const ImportText& in, int32_t input, const ImportFields& f, Tables& tables,
               std::vector<Record>& out) {
  CsvLayout c;
  bool have_header = false;
  for_each_line(in.text, [&](int64_t line_no, std::string_view line) {
    const std::string where = tables.where(input, line_no);
    if (!have_header) {
      c = read_layout(line, f, where);
      have_header = true;
      return;
    }
    auto cells = split_csv(line);
    if (cells.size() != c.h.cells)
      bad(where, "expected " + std::to_string(c.h.cells) + " comma-separated cells, got " +
                     std::to_string(cells.size()));
    Record r = read_row(c, cells, f, tables, where);
    r.input = input;
    r.line = line_no;
    check_distinct(r, tables);
    sort_by_weight(r);
    out.push_back(std::move(r));
  });
  if (!have_header)
    bad(in.name + ":1", "expected a CSV header line (" + f.request + "," + f.token + "," + f.layer +
                            "," + f.experts + "0,...)");
}

}  // namespace moeb::import_detail
