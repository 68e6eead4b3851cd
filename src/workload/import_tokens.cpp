// Records -> tokens: the trace shape (data, model preset, options), range checks, grouping of
// records by token (a token is kept when every layer has exactly one record), and assembly of
// the RoutingTrace with its family table.
#include <algorithm>
#include <numeric>
#include <tuple>

#include "core/error.hpp"
#include "core/model.hpp"
#include "workload/import_common.hpp"
#include "workload/trace_limits.hpp"

namespace moeb::import_detail {

namespace {

struct Shape {
  int layers = 0, experts = 0, k = 0;
};

// The first record (in input order) that does not fit `s`, reported.
void check_records_fit(const std::vector<Record>& records, const Tables& tables, const Shape& s,
                       const std::string& why) {
  for (const Record& r : records) {
    if (r.layer >= s.layers)
      bad(tables.where(r), "layer " + std::to_string(r.layer) + " outside [0, " +
                               std::to_string(s.layers) + ")" + why);
    for (int32_t e : r.experts)
      if (e >= s.experts)
        bad(tables.where(r), "expert id " + std::to_string(e) + " outside [0, " +
                                 std::to_string(s.experts) + ")" + why);
  }
}

Shape shape_of(const std::vector<Record>& records, const Tables& tables, const ImportOptions& opt) {
  Shape s;
  s.k = static_cast<int>(records[0].experts.size());
  int32_t max_layer = 0, max_expert = 0;
  for (const Record& r : records) {
    if (static_cast<int>(r.experts.size()) != s.k)
      bad(tables.where(r), "expected top-" + std::to_string(s.k) + " (as the first record), got " +
                               std::to_string(r.experts.size()) + " experts");
    max_layer = std::max(max_layer, r.layer);
    for (int32_t e : r.experts) max_expert = std::max(max_expert, e);
  }
  s.layers = max_layer + 1;
  s.experts = max_expert + 1;
  std::string why;
  if (!opt.model.empty()) {
    const ModelSpec& m = model_preset(opt.model);
    s.layers = m.num_layers;
    s.experts = m.num_experts;
    why = " (model " + opt.model + ")";
    if (m.top_k != s.k)
      bad(tables.where(records[0]), "records are top-" + std::to_string(s.k) + ", model " +
                                        opt.model + " is top-" + std::to_string(m.top_k));
  }
  if (opt.num_layers > 0) s.layers = static_cast<int>(opt.num_layers);
  if (opt.num_experts > 0) s.experts = static_cast<int>(opt.num_experts);
  if (opt.num_layers > 0 || opt.num_experts > 0) why += " (--layers / --experts)";
  if (s.k > s.experts)
    bad(tables.where(records[0]), "top-" + std::to_string(s.k) + " needs at least " +
                                      std::to_string(s.k) + " experts, the trace has " +
                                      std::to_string(s.experts));
  if (max_layer >= s.layers || max_expert >= s.experts) check_records_fit(records, tables, s, why);
  return s;
}

// Records grouped by (request, token), layers ascending; the groups holding every layer once.
struct Groups {
  std::vector<size_t> order;  // record indices sorted by (request, token, layer), stable
  std::vector<size_t> kept;   // start (in `order`) of each complete token
  int64_t dropped = 0;
};

Groups group_tokens(const std::vector<Record>& rec, const Tables& tables, int layers) {
  Groups g;
  g.order.resize(rec.size());
  std::iota(g.order.begin(), g.order.end(), 0);
  std::stable_sort(g.order.begin(), g.order.end(), [&](size_t a, size_t b) {
    const Record &x = rec[a], &y = rec[b];
    return std::tie(x.request, x.token, x.layer) < std::tie(y.request, y.token, y.layer);
  });
  for (size_t i = 0; i < g.order.size();) {
    const Record& first = rec[g.order[i]];
    size_t j = i + 1;
    for (; j < g.order.size(); ++j) {
      const Record &prev = rec[g.order[j - 1]], &r = rec[g.order[j]];
      if (r.request != first.request || r.token != first.token) break;
      if (r.layer == prev.layer)
        bad(tables.where(r),
            "second record for the same (request, token, layer); first at " + tables.where(prev));
    }
    if (static_cast<int>(j - i) == layers)
      g.kept.push_back(i);
    else
      ++g.dropped;
    i = j;
  }
  return g;
}

}  // namespace

ImportResult assemble_tokens(std::vector<Record>& records, const Tables& tables,
                             const ImportOptions& opt) {
  const std::string source = tables.inputs.empty() ? "" : tables.inputs.front();
  if (records.empty()) throw InputError(source + ": no routing records found");
  const Shape s = shape_of(records, tables, opt);
  Groups g = group_tokens(records, tables, s.layers);
  if (g.kept.empty())
    throw InputError(source + ": every token lacks a record at some layer (" +
                     std::to_string(s.layers) + " layers expected)");
  const int64_t n = static_cast<int64_t>(g.kept.size());
  auto entries = checked_product(n, s.layers, s.k);
  if (!entries || *entries > TraceLimits::kMaxImportEntries)
    throw InputError(source + ": " + product_text(n, "tokens", s.layers, "layers", s.k, "top-k") +
                     " is too large to import at once (at most 2^31 entries; split the input)");
  // Families: drop "default" when no kept token uses it and other names exist.
  std::vector<int64_t> fam_count(tables.families.size(), 0);
  for (size_t start : g.kept) ++fam_count[static_cast<size_t>(records[g.order[start]].family)];
  std::vector<int32_t> fam_map(tables.families.size(), -1);
  std::vector<std::string> names;
  for (size_t f = 0; f < tables.families.size(); ++f)
    if (fam_count[f] > 0 || (f == 0 && tables.families.size() == 1)) {
      fam_map[f] = static_cast<int32_t>(names.size());
      names.push_back(tables.families[f]);
    }
  ImportResult out;
  RoutingTrace& t = out.tokens;
  t = RoutingTrace(s.layers, s.k, s.experts, n);
  t.family_names = names;
  int64_t request = -1, last_request = -1;
  for (int64_t i = 0; i < n; ++i) {
    const size_t start = g.kept[static_cast<size_t>(i)];
    const Record& r0 = records[g.order[start]];
    if (r0.request != last_request) ++request, last_request = r0.request;
    t.meta(i) = {request, fam_map[static_cast<size_t>(r0.family)], r0.phase,
                 static_cast<int32_t>(r0.token)};
    for (int l = 0; l < s.layers; ++l) {
      const Record& r = records[g.order[start + static_cast<size_t>(l)]];
      auto e = t.experts(l, i);
      auto w = t.weights(l, i);
      for (int j = 0; j < s.k; ++j) {
        e[j] = r.experts[static_cast<size_t>(j)];
        w[j] =
            r.weights.empty() ? 1.0f / static_cast<float>(s.k) : r.weights[static_cast<size_t>(j)];
      }
    }
  }
  ImportSummary& sum = out.summary;
  sum.records = static_cast<int64_t>(records.size());
  sum.tokens = n;
  sum.requests = request + 1;
  sum.dropped_tokens = g.dropped;
  sum.num_layers = s.layers;
  sum.num_experts = s.experts;
  sum.top_k = s.k;
  sum.family_names = names;
  sum.family_tokens.assign(names.size(), 0);
  for (int64_t i = 0; i < n; ++i) ++sum.family_tokens[static_cast<size_t>(t.meta(i).family)];
  return out;
}

}  // namespace moeb::import_detail
