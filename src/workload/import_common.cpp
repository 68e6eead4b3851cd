#include "workload/import_common.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdlib>
#include <numeric>

#include "core/error.hpp"
#include "workload/trace_limits.hpp"

namespace moeb::import_detail {

int32_t Tables::family(const std::string& name) {
  auto [it, fresh] = family_index.try_emplace(name, static_cast<int32_t>(families.size()));
  if (fresh) {
    if (static_cast<int64_t>(families.size()) >= TraceLimits::kMaxFamilies)
      throw InputError("import: more than " + std::to_string(TraceLimits::kMaxFamilies) +
                       " task families (results_schema/TRACE.md, Limits)");
    families.push_back(name);
  }
  return it->second;
}

int64_t Tables::request(const std::string& key) {
  auto [it, fresh] = requests.try_emplace(key, static_cast<int64_t>(requests.size()));
  return it->second;
}

std::string Tables::where(int32_t input, int64_t line) const {
  return inputs[static_cast<size_t>(input)] + ":" + std::to_string(line);
}

std::string shown(std::string_view s) {
  constexpr size_t kMax = 40;
  return "'" + std::string(s.substr(0, kMax)) + (s.size() > kMax ? "...'" : "'");
}

void bad(const std::string& where, const std::string& what) {
  throw InputError(where + ": " + what);
}

Phase parse_phase(std::string_view s, const std::string& where) {
  if (s == "prefill" || s == "0") return Phase::kPrefill;
  if (s == "decode" || s == "1") return Phase::kDecode;
  bad(where, "phase: expected prefill | decode | 0 | 1, got " + shown(s));
}

namespace {
struct KindInfo {
  int64_t limit;  // largest allowed value
  const char* what;
};
KindInfo kind_info(IdKind kind) {
  switch (kind) {
    case IdKind::kLayer:
      return {TraceLimits::kMaxLayers - 1, "layer ids (at most 4096 layers)"};
    case IdKind::kExpert:
      return {TraceLimits::kMaxExperts - 1, "expert ids (at most 65536 experts)"};
    case IdKind::kPosition:
      return {TraceLimits::kMaxPosition, "token positions"};
    case IdKind::kCount:
      break;
  }
  return {INT64_MAX, "counts"};
}
}  // namespace

int64_t check_id(int64_t v, IdKind kind, const std::string& where, const std::string& field) {
  if (v < 0) bad(where, field + ": expected a non-negative integer, got " + std::to_string(v));
  const KindInfo k = kind_info(kind);
  if (v > k.limit)
    bad(where, field + ": " + std::to_string(v) + " is too large: " + k.what + " go up to " +
                   std::to_string(k.limit) + " (results_schema/TRACE.md, Limits)");
  return v;
}

int64_t parse_id(std::string_view s, IdKind kind, const std::string& where,
                 const std::string& column) {
  const std::string field = "column '" + column + "'";
  uint64_t v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  const bool overflow = ec == std::errc::result_out_of_range;
  if (s.empty() || p != s.data() + s.size() || (ec != std::errc() && !overflow))
    bad(where, field + ": expected a non-negative integer, got " + shown(s));
  if (overflow || v > static_cast<uint64_t>(INT64_MAX))
    bad(where, field + ": " + shown(s) + " is too large (results_schema/TRACE.md, Limits)");
  return check_id(static_cast<int64_t>(v), kind, where, field);
}

double parse_nonneg(std::string_view s, const std::string& where, const std::string& column) {
  std::string tmp(s);
  char* end = nullptr;
  double v = tmp.empty() ? 0.0 : std::strtod(tmp.c_str(), &end);
  if (tmp.empty() || end != tmp.c_str() + tmp.size() || !std::isfinite(v) || v < 0)
    bad(where, "column '" + column + "': expected a finite number >= 0, got " + shown(s));
  return v;
}

std::vector<std::string_view> split_csv(std::string_view line) {
  std::vector<std::string_view> cells;
  size_t pos = 0;
  while (true) {
    size_t c = line.find(',', pos);
    std::string_view cell =
        line.substr(pos, c == std::string_view::npos ? std::string_view::npos : c - pos);
    while (!cell.empty() && (cell.front() == ' ' || cell.front() == '\t')) cell.remove_prefix(1);
    while (!cell.empty() && (cell.back() == ' ' || cell.back() == '\t')) cell.remove_suffix(1);
    cells.push_back(cell);
    if (c == std::string_view::npos) break;
    pos = c + 1;
  }
  return cells;
}

CsvHeader read_csv_header(std::string_view line) {
  CsvHeader h;
  auto cells = split_csv(line);
  h.cells = cells.size();
  for (size_t i = 0; i < cells.size(); ++i) h.col.emplace(std::string(cells[i]), i);
  return h;
}

std::string CsvHeader::names() const {
  std::vector<std::pair<size_t, std::string>> v;
  for (const auto& [name, i] : col) v.emplace_back(i, name);
  std::sort(v.begin(), v.end());
  std::string s;
  for (const auto& [i, name] : v) s += (s.empty() ? "" : ", ") + name;
  return s;
}

std::string missing_message(const char* noun, const std::vector<Missing>& missing,
                            const std::string& present) {
  std::string s = std::string(noun) + (missing.size() > 1 ? "s" : "") + " missing: ";
  for (size_t i = 0; i < missing.size(); ++i) {
    const Missing& m = missing[i];
    s += (i ? ", '" : "'") + m.name + "' (" + m.meaning + "; map with --fields " + m.key + "=NAME)";
  }
  return s + "; the record has: " + (present.empty() ? "nothing" : present);
}

void sort_by_weight(Record& r) {
  if (r.weights.empty() || std::is_sorted(r.weights.rbegin(), r.weights.rend())) return;
  std::vector<size_t> idx(r.experts.size());
  std::iota(idx.begin(), idx.end(), 0);
  std::stable_sort(idx.begin(), idx.end(),
                   [&](size_t a, size_t b) { return r.weights[a] > r.weights[b]; });
  std::vector<int32_t> e(idx.size());
  std::vector<float> w(idx.size());
  for (size_t i = 0; i < idx.size(); ++i) {
    e[i] = r.experts[idx[i]];
    w[i] = r.weights[idx[i]];
  }
  r.experts = std::move(e);
  r.weights = std::move(w);
}

void check_distinct(const Record& r, const Tables& tables) {
  std::vector<int32_t> ids = r.experts;
  std::sort(ids.begin(), ids.end());
  auto dup = std::adjacent_find(ids.begin(), ids.end());
  if (dup != ids.end())
    bad(tables.where(r), "layer " + std::to_string(r.layer) + ": expert " + std::to_string(*dup) +
                             " repeated in one top-k");
}

void check_shape_options(const ImportOptions& opt) {
  auto check = [](int64_t v, int64_t limit, const char* option, const char* what) {
    if (v < 0) throw InputError(std::string("trace import: ") + option + ": expected >= 1");
    if (v > limit)
      throw InputError(std::string("trace import: ") + option + " " + std::to_string(v) +
                       " is too large: at most " + std::to_string(limit) + " " + what +
                       " (results_schema/TRACE.md, Limits)");
  };
  check(opt.num_layers, TraceLimits::kMaxLayers, "--layers", "layers");
  check(opt.num_experts, TraceLimits::kMaxExperts, "--experts", "experts");
  check(opt.top_k, TraceLimits::kMaxTopK, "--top-k", "experts per token");
}

}  // namespace moeb::import_detail
