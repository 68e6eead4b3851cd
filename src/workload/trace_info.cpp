#include "workload/trace_info.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>
#include <nlohmann/json.hpp>
#include <numeric>

#include "core/error.hpp"

namespace moeb {

namespace {
constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

double mean_skip_nan(const std::vector<double>& v) {
  double s = 0;
  int n = 0;
  for (double x : v)
    if (!std::isnan(x)) {
      s += x;
      ++n;
    }
  return n ? s / n : kNaN;
}

std::vector<double> ranks(const std::vector<double>& x) {
  std::vector<size_t> idx(x.size());
  std::iota(idx.begin(), idx.end(), 0);
  std::sort(idx.begin(), idx.end(), [&](size_t a, size_t b) { return x[a] < x[b]; });
  std::vector<double> r(x.size());
  for (size_t i = 0; i < idx.size();) {
    size_t j = i;
    while (j + 1 < idx.size() && x[idx[j + 1]] == x[idx[i]]) ++j;
    double avg = 0.5 * static_cast<double>(i + j);
    for (size_t q = i; q <= j; ++q) r[idx[q]] = avg;
    i = j + 1;
  }
  return r;
}

double skew_of(const std::vector<double>& load) {
  double total = std::accumulate(load.begin(), load.end(), 0.0);
  if (total <= 0) return kNaN;
  return *std::max_element(load.begin(), load.end()) / (total / static_cast<double>(load.size()));
}

}  // namespace

void summarize_layers(TraceInfo& info) {
  std::vector<double> skew, pair, sp, rec;
  for (const auto& l : info.layers) {
    skew.push_back(l.skew);
    pair.push_back(l.pair_top10_share);
    sp.push_back(l.phase_spearman);
    rec.push_back(l.recurrence);
  }
  info.mean_skew = mean_skip_nan(skew);
  info.max_skew = skew.empty() ? kNaN : *std::max_element(skew.begin(), skew.end());
  info.mean_pair_top10_share = mean_skip_nan(pair);
  info.mean_phase_spearman = mean_skip_nan(sp);
  info.mean_recurrence = mean_skip_nan(rec);
}

double spearman(const std::vector<double>& a, const std::vector<double>& b) {
  auto ra = ranks(a), rb = ranks(b);
  const double n = static_cast<double>(a.size());
  double ma = std::accumulate(ra.begin(), ra.end(), 0.0) / n;
  double mb = std::accumulate(rb.begin(), rb.end(), 0.0) / n;
  double sab = 0, saa = 0, sbb = 0;
  for (size_t i = 0; i < ra.size(); ++i) {
    sab += (ra[i] - ma) * (rb[i] - mb);
    saa += (ra[i] - ma) * (ra[i] - ma);
    sbb += (rb[i] - mb) * (rb[i] - mb);
  }
  if (saa <= 0 || sbb <= 0) return kNaN;
  return sab / std::sqrt(saa * sbb);
}

double top10_share(std::vector<double> values) {
  double total = std::accumulate(values.begin(), values.end(), 0.0);
  if (total <= 0 || values.empty()) return kNaN;
  size_t n = (values.size() + 9) / 10;
  // The n largest, summed largest first (as a partial sort leaves them): selection, then a sort
  // of those n alone.
  std::nth_element(values.begin(), values.begin() + (n - 1), values.end(), std::greater<double>());
  std::sort(values.begin(), values.begin() + n, std::greater<double>());
  return std::accumulate(values.begin(), values.begin() + n, 0.0) / total;
}

TraceInfoAccumulator::TraceInfoAccumulator(int num_layers, int num_experts, int top_k,
                                           std::vector<std::string> family_names)
    : num_layers_(num_layers),
      num_experts_(num_experts),
      top_k_(top_k),
      names_(std::move(family_names)),
      family_tokens_(names_.size(), 0),
      prefill_load_(num_layers, std::vector<double>(num_experts, 0.0)),
      decode_load_(num_layers, std::vector<double>(num_experts, 0.0)),
      coact_(num_layers, std::vector<uint32_t>(static_cast<size_t>(num_experts) * num_experts, 0)),
      shared_(num_layers, 0.0),
      pairs_(num_layers, 0.0),
      prev_experts_(static_cast<size_t>(num_layers) * top_k, -1) {}

void TraceInfoAccumulator::add(const RoutingTrace& block) {
  const size_t e = static_cast<size_t>(num_experts_);
  if (block.num_layers() < num_layers_ || block.top_k() != top_k_ ||
      block.num_experts() != num_experts_)
    throw InputError(block.source + ": trace info: block shape differs from the trace header");
  block.validate(block.source.empty() ? "trace info" : block.source);
  for (int64_t t = 0; t < block.num_tokens(); ++t) {
    const auto& m = block.meta(t);
    ++tokens_;
    if (m.family >= 0 && m.family < static_cast<int32_t>(family_tokens_.size()))
      ++family_tokens_[m.family];
    request_ids_.push_back(m.request_id);
    const bool prefill = m.phase == Phase::kPrefill;
    prefill_ += prefill;
    const bool adjacent = have_prev_ && prev_meta_.request_id == m.request_id &&
                          prev_meta_.position + 1 == m.position;
    for (int l = 0; l < num_layers_; ++l) {
      auto ids = block.experts(l, t);
      auto& load = prefill ? prefill_load_[l] : decode_load_[l];
      int32_t* prev = &prev_experts_[static_cast<size_t>(l) * top_k_];
      for (int a = 0; a < top_k_; ++a) {
        load[ids[a]] += 1;
        for (int b = a + 1; b < top_k_; ++b) {
          int32_t i = std::min(ids[a], ids[b]), j = std::max(ids[a], ids[b]);
          ++coact_[l][i * e + j];
        }
        if (adjacent) shared_[l] += std::count(prev, prev + top_k_, ids[a]);
      }
      if (adjacent) pairs_[l] += top_k_;
      std::copy(ids.begin(), ids.end(), prev);
    }
    prev_meta_ = m;
    have_prev_ = true;
  }
}

TraceInfo TraceInfoAccumulator::finish() const {
  TraceInfo info;
  info.num_layers = num_layers_;
  info.num_experts = num_experts_;
  info.top_k = top_k_;
  info.tokens = tokens_;
  info.prefill_tokens = prefill_;
  info.decode_tokens = tokens_ - prefill_;
  auto ids = request_ids_;
  std::sort(ids.begin(), ids.end());
  info.requests = std::unique(ids.begin(), ids.end()) - ids.begin();
  info.family_names = names_;
  info.family_tokens = family_tokens_;
  const size_t e = static_cast<size_t>(num_experts_);
  for (int l = 0; l < num_layers_; ++l) {
    LayerInfo li;
    std::vector<double> load(e);
    for (size_t i = 0; i < e; ++i) load[i] = prefill_load_[l][i] + decode_load_[l][i];
    li.skew = skew_of(load);
    std::vector<double> pairs;
    pairs.reserve(e * (e - 1) / 2);
    for (size_t i = 0; i < e; ++i)
      for (size_t j = i + 1; j < e; ++j) pairs.push_back(coact_[l][i * e + j]);
    li.pair_top10_share = top10_share(std::move(pairs));
    li.phase_spearman =
        (prefill_ > 0 && tokens_ > prefill_) ? spearman(prefill_load_[l], decode_load_[l]) : kNaN;
    li.recurrence = pairs_[l] > 0 ? shared_[l] / pairs_[l] : kNaN;
    info.layers.push_back(li);
  }
  summarize_layers(info);
  return info;
}

TraceInfo trace_info(const RoutingTrace& trace) {
  TraceInfoAccumulator acc(trace.num_layers(), trace.num_experts(), trace.top_k(),
                           trace.family_names);
  acc.add(trace);
  TraceInfo info = acc.finish();
  info.source = trace.source;
  return info;
}

TraceInfo trace_info(const TraceReader& reader) {
  const auto& h = reader.header();
  TraceInfo info;
  if (h.statistics_only) {
    RoutingStats st = reader.statistics(h.num_layers);
    info.num_layers = h.num_layers;
    info.num_experts = h.num_experts;
    info.top_k = h.top_k;
    info.family_names = h.family_names;
    info.family_tokens.assign(h.family_names.size(), 0);
    const size_t e = static_cast<size_t>(h.num_experts);
    for (int l = 0; l < h.num_layers; ++l) {
      LayerInfo li;
      li.skew = skew_of(st.layer(l).load);
      std::vector<double> pairs;
      for (size_t i = 0; i < e; ++i)
        for (size_t j = i + 1; j < e; ++j) pairs.push_back(st.layer(l).coact[i * e + j]);
      li.pair_top10_share = top10_share(std::move(pairs));
      li.phase_spearman = kNaN;
      li.recurrence = kNaN;
      info.layers.push_back(li);
    }
    summarize_layers(info);
  } else {
    TraceInfoAccumulator acc(h.num_layers, h.num_experts, h.top_k, h.family_names);
    constexpr int64_t kBlock = 16384;
    for (int64_t b = 0; b < reader.num_tokens(); b += kBlock)
      acc.add(reader.read_range(b, std::min(reader.num_tokens(), b + kBlock)));
    info = acc.finish();
  }
  info.path = reader.path();
  info.source = h.source;
  info.source_sha256 = h.source_sha256;
  info.import_format = h.import_format;
  info.model = h.model;
  info.statistics_only = h.statistics_only;
  info.dropped_tokens = h.dropped_tokens;
  return info;
}

namespace {
std::string num(double x, const char* fmt = "%.3f") {
  if (std::isnan(x)) return "n/a";
  char buf[64];
  std::snprintf(buf, sizeof buf, fmt, x);
  return buf;
}
}  // namespace

std::string format_trace_info(const TraceInfo& i) {
  std::string s;
  auto line = [&](const std::string& k, const std::string& v) { s += k + ": " + v + "\n"; };
  if (!i.path.empty()) line("trace", i.path);
  line("source", i.source.empty() ? "-" : i.source);
  if (!i.source_sha256.empty()) line("source sha256", i.source_sha256);
  if (!i.import_format.empty()) line("import format", i.import_format);
  if (!i.model.empty()) line("model", i.model);
  line("shape", std::to_string(i.num_layers) + " layers x " + std::to_string(i.num_experts) +
                    " experts, top-" + std::to_string(i.top_k));
  if (i.statistics_only) {
    line("content", "statistics only (expert loads and co-activation counts, no tokens)");
  } else {
    line("tokens", std::to_string(i.tokens) + " (prefill " + std::to_string(i.prefill_tokens) +
                       ", decode " + std::to_string(i.decode_tokens) + ")");
    line("requests", std::to_string(i.requests));
    line("dropped tokens", std::to_string(i.dropped_tokens) + " (incomplete at import)");
    std::string fam;
    for (size_t f = 0; f < i.family_names.size(); ++f)
      fam += (f ? ", " : "") + i.family_names[f] + " " + std::to_string(i.family_tokens[f]);
    line("families", std::to_string(i.family_names.size()) + " (" + fam + ")");
  }
  line("skew (hottest / mean load)",
       "mean " + num(i.mean_skew, "%.2f") + ", max " + num(i.max_skew, "%.2f"));
  line("top-10% pairs share of co-activations", "mean " + num(i.mean_pair_top10_share));
  line("prefill/decode Spearman of expert loads", "mean " + num(i.mean_phase_spearman));
  line("adjacent-token expert recurrence", "mean " + num(i.mean_recurrence));
  s += "\nlayer      skew  pairs_top10  spearman  recurrence\n";
  for (size_t l = 0; l < i.layers.size(); ++l) {
    const auto& li = i.layers[l];
    char buf[160];
    std::snprintf(buf, sizeof buf, "%5zu  %8s  %11s  %8s  %10s\n", l, num(li.skew, "%.2f").c_str(),
                  num(li.pair_top10_share).c_str(), num(li.phase_spearman).c_str(),
                  num(li.recurrence).c_str());
    s += buf;
  }
  return s;
}

std::string trace_info_json(const TraceInfo& i) {
  auto v = [](double x) { return std::isnan(x) ? nlohmann::json(nullptr) : nlohmann::json(x); };
  nlohmann::json j = {{"path", i.path},
                      {"source", i.source},
                      {"source_sha256", i.source_sha256},
                      {"import_format", i.import_format},
                      {"model", i.model},
                      {"num_layers", i.num_layers},
                      {"num_experts", i.num_experts},
                      {"top_k", i.top_k},
                      {"statistics_only", i.statistics_only},
                      {"tokens", i.tokens},
                      {"prefill_tokens", i.prefill_tokens},
                      {"decode_tokens", i.decode_tokens},
                      {"requests", i.requests},
                      {"dropped_tokens", i.dropped_tokens},
                      {"family_names", i.family_names},
                      {"family_tokens", i.family_tokens},
                      {"mean_skew", v(i.mean_skew)},
                      {"max_skew", v(i.max_skew)},
                      {"mean_pair_top10_share", v(i.mean_pair_top10_share)},
                      {"mean_phase_spearman", v(i.mean_phase_spearman)},
                      {"mean_recurrence", v(i.mean_recurrence)}};
  nlohmann::json layers = nlohmann::json::array();
  for (const auto& l : i.layers)
    layers.push_back({{"skew", v(l.skew)},
                      {"pair_top10_share", v(l.pair_top10_share)},
                      {"phase_spearman", v(l.phase_spearman)},
                      {"recurrence", v(l.recurrence)}});
  j["layers"] = layers;
  return j.dump(2);
}

}  // namespace moeb
