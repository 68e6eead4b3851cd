// coact-csv (statistics only): layer,expert_i,expert_j,count rows (both orders of a pair may be
// listed and must agree), optionally inputs of layer,expert,count loads. Without loads, loads
// are derived as sum_j count(i, j) / (k - 1).
#include <algorithm>

#include "core/error.hpp"
#include "core/model.hpp"
#include "workload/import_common.hpp"
#include "workload/trace_limits.hpp"

namespace moeb::import_detail {

namespace {

struct Cell {
  int32_t layer = 0, i = 0, j = -1;  // j = -1: a load row
  double count = 0;
  int32_t input = 0;
  int64_t line = 0;
};

struct CoactRows {
  std::vector<Cell> pairs, loads;
  int32_t max_layer = 0, max_expert = 0;
  Cell max_layer_at, max_expert_at;
};

void parse_coact_text(const ImportText& in, int32_t input, const Tables& tables, CoactRows& rows) {
  CsvHeader h;
  bool have_header = false, is_load = false;
  for_each_line(in.text, [&](int64_t line_no, std::string_view line) {
    const std::string where = tables.where(input, line_no);
    if (!have_header) {
      h = read_csv_header(line);
      is_load = h.has("expert") && !h.has("expert_i");
      std::string missing;
      int n_missing = 0;
      for (const char* c : is_load
                               ? std::vector<const char*>{"layer", "expert", "count"}
                               : std::vector<const char*>{"layer", "expert_i", "expert_j", "count"})
        if (!h.has(c)) missing += (n_missing++ ? ", '" : "'") + std::string(c) + "'";
      if (n_missing > 0)
        bad(where, "header: column" + std::string(n_missing > 1 ? "s " : " ") + missing +
                       " missing (expected layer,expert_i,expert_j,count or layer,expert,count); "
                       "the header has: " +
                       h.names());
      have_header = true;
      return;
    }
    auto cells = split_csv(line);
    if (cells.size() != h.cells)
      bad(where, "expected " + std::to_string(h.cells) + " comma-separated cells, got " +
                     std::to_string(cells.size()));
    Cell c;
    c.input = input;
    c.line = line_no;
    c.layer = static_cast<int32_t>(parse_id(cells[h.at("layer")], IdKind::kLayer, where, "layer"));
    c.count = parse_nonneg(cells[h.at("count")], where, "count");
    const char* ci = is_load ? "expert" : "expert_i";
    c.i = static_cast<int32_t>(parse_id(cells[h.at(ci)], IdKind::kExpert, where, ci));
    if (!is_load) {
      c.j = static_cast<int32_t>(
          parse_id(cells[h.at("expert_j")], IdKind::kExpert, where, "expert_j"));
      if (c.i == c.j) bad(where, "expert_i == expert_j: the diagonal is not a co-activation");
    }
    if (c.layer > rows.max_layer) rows.max_layer = c.layer, rows.max_layer_at = c;
    if (std::max(c.i, c.j) > rows.max_expert)
      rows.max_expert = std::max(c.i, c.j), rows.max_expert_at = c;
    (is_load ? rows.loads : rows.pairs).push_back(c);
  });
  if (!have_header)
    bad(in.name + ":1",
        "expected a CSV header (layer,expert_i,expert_j,count or "
        "layer,expert,count)");
}

TraceHeader coact_header(const CoactRows& rows, const Tables& tables, const ImportOptions& opt) {
  TraceHeader h;
  h.num_layers = rows.max_layer + 1;
  h.num_experts = rows.max_expert + 1;
  h.top_k = 2;
  if (!opt.model.empty()) {
    const ModelSpec& m = model_preset(opt.model);
    h.num_layers = m.num_layers;
    h.num_experts = m.num_experts;
    h.top_k = m.top_k;
  }
  if (opt.num_layers > 0) h.num_layers = static_cast<int>(opt.num_layers);
  if (opt.num_experts > 0) h.num_experts = static_cast<int>(opt.num_experts);
  if (opt.top_k > 0) h.top_k = static_cast<int>(opt.top_k);
  if (rows.max_layer >= h.num_layers)
    bad(tables.where(rows.max_layer_at.input, rows.max_layer_at.line),
        "layer " + std::to_string(rows.max_layer) + " outside [0, " + std::to_string(h.num_layers) +
            ")");
  if (rows.max_expert >= h.num_experts)
    bad(tables.where(rows.max_expert_at.input, rows.max_expert_at.line),
        "expert " + std::to_string(rows.max_expert) + " outside [0, " +
            std::to_string(h.num_experts) + ")");
  auto cells = checked_product(h.num_layers, h.num_experts, h.num_experts);
  if (!cells || *cells > TraceLimits::kMaxCoactCells)
    bad(tables.where(rows.max_expert_at.input, rows.max_expert_at.line),
        "co-activation statistics of " +
            product_text(h.num_layers, "layers", h.num_experts, "experts", h.num_experts,
                         "experts") +
            " are too large (at most 2^26 cells; results_schema/TRACE.md, Limits)");
  if (h.top_k > h.num_experts)
    throw InputError("trace import: top-" + std::to_string(h.top_k) + " above the " +
                     std::to_string(h.num_experts) + " experts of the statistics");
  return h;
}

void fill_statistics(const CoactRows& rows, const Tables& tables, ImportResult& out) {
  const TraceHeader& h = out.header;
  const size_t e = static_cast<size_t>(h.num_experts);
  const size_t layers = static_cast<size_t>(h.num_layers);
  out.coact.assign(layers, std::vector<double>(e * e, 0.0));
  std::vector<std::vector<char>> given(layers, std::vector<char>(e * e, 0));
  for (const Cell& c : rows.pairs) {
    const size_t l = static_cast<size_t>(c.layer), i = static_cast<size_t>(c.i),
                 j = static_cast<size_t>(c.j);
    const size_t a = i * e + j, b = j * e + i;
    if (given[l][a])
      bad(tables.where(c.input, c.line), "second row for the same (layer, expert_i, expert_j)");
    if (given[l][b] && out.coact[l][b] != c.count)
      bad(tables.where(c.input, c.line),
          "count differs from the mirrored pair (expected a symmetric matrix)");
    given[l][a] = 1;
    out.coact[l][a] = c.count;
    out.coact[l][b] = c.count;
  }
  out.load.assign(layers, std::vector<double>(e, 0.0));
  for (const Cell& c : rows.loads)
    out.load[static_cast<size_t>(c.layer)][static_cast<size_t>(c.i)] += c.count;
  if (!rows.loads.empty()) return;
  // Every token with expert i in its top-k co-activates i with k-1 others.
  for (size_t l = 0; l < layers; ++l)
    for (size_t i = 0; i < e; ++i) {
      double sum = 0;
      for (size_t j = 0; j < e; ++j) sum += out.coact[l][i * e + j];
      out.load[l][i] = h.top_k > 1 ? sum / (h.top_k - 1) : 0.0;
    }
}

}  // namespace

ImportResult import_coact(const std::vector<ImportText>& inputs, const ImportOptions& opt) {
  Tables tables;
  CoactRows rows;
  for (const ImportText& in : inputs) {
    tables.inputs.push_back(in.name);
    parse_coact_text(in, static_cast<int32_t>(tables.inputs.size() - 1), tables, rows);
  }
  if (rows.pairs.empty())
    throw InputError(inputs.front().name +
                     ": no co-activation rows (layer,expert_i,expert_j,count)");
  ImportResult out;
  out.header = coact_header(rows, tables, opt);
  out.header.statistics_only = true;
  out.header.import_format = "coact-csv";
  out.header.model = opt.model;
  fill_statistics(rows, tables, out);
  ImportSummary& s = out.summary;
  s.records = static_cast<int64_t>(rows.pairs.size() + rows.loads.size());
  s.num_layers = out.header.num_layers;
  s.num_experts = out.header.num_experts;
  s.top_k = out.header.top_k;
  s.family_names = {"default"};
  return out;
}

}  // namespace moeb::import_detail
