// Trace replay: one or several routing-trace files as one token source (weighted request mix),
// calibration from a separate trace, and on-the-fly import of .jsonl / .csv inputs.
#include "workload/replay.hpp"

#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <map>
#include <numeric>

#include "core/error.hpp"
#include "core/rng.hpp"
#include "workload/importers.hpp"
#include "workload/split.hpp"
#include "workload/trace_file.hpp"

namespace moeb {

namespace {

bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() &&
         s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

// An opened trace: the HDF5 reader, plus the checksum that names what was replayed.
struct OpenedTrace {
  std::shared_ptr<TraceReader> reader;
  std::string source;  // path as given
  std::string sha256;  // of the HDF5 file, or of the imported input when imported on the fly
};

OpenedTrace open_any(const std::string& path) {
  OpenedTrace t;
  t.source = path;
  if (ends_with(path, ".jsonl") || ends_with(path, ".csv")) {
    if (!std::filesystem::exists(path)) throw InputError(path + ": no such trace file");
    // Imported into a private temporary file, unlinked once open (the open handle keeps it).
    auto tmp = std::filesystem::temp_directory_path() /
               ("moebench-replay-" + std::to_string(::getpid()) + "-" +
                std::to_string(std::hash<std::string>{}(path)) + ".h5");
    ImportOptions opt;
    opt.format = ends_with(path, ".jsonl") ? "jsonl-topk" : "csv";
    ImportSummary s = import_trace({path}, tmp.string(), opt);
    t.reader = std::make_shared<TraceReader>(tmp.string());
    std::error_code ec;
    std::filesystem::remove(tmp, ec);
    t.sha256 = s.source_sha256;
    return t;
  }
  t.reader = std::make_shared<TraceReader>(path);
  t.sha256 = t.reader->file_sha256();
  return t;
}

class MixSource final : public TokenSource {
 public:
  MixSource(std::vector<OpenedTrace> traces, const std::vector<double>& weights)
      : traces_(std::move(traces)) {
    const auto& h0 = traces_[0].reader->header();
    num_layers_ = h0.num_layers;
    for (const auto& t : traces_) {
      const auto& h = t.reader->header();
      if (h.statistics_only)
        throw ConfigError("workload: trace " + t.source +
                          " holds statistics only; use it as calibration_trace, not for replay");
      if (h.num_experts != h0.num_experts || h.top_k != h0.top_k)
        throw ConfigError("workload: traces differ in shape: " + traces_[0].source + " and " +
                          t.source + " (experts, top_k)");
      num_layers_ = std::min(num_layers_, h.num_layers);
      dropped_ += h.dropped_tokens;
    }
    num_experts_ = h0.num_experts;
    top_k_ = h0.top_k;
    build(weights);
  }
  int num_layers() const override { return num_layers_; }
  int num_experts() const override { return num_experts_; }
  int top_k() const override { return top_k_; }
  const std::vector<TokenMeta>& metas() const override { return metas_; }
  const std::vector<std::string>& family_names() const override { return names_; }
  std::string source() const override { return source_; }
  std::string sha256() const override { return sha_; }
  int64_t dropped_tokens() const override { return dropped_; }

  RoutingTrace fetch(std::span<const int64_t> tokens, int num_layers) const override {
    const int64_t n = static_cast<int64_t>(tokens.size());
    RoutingTrace out(num_layers, top_k_, num_experts_, n);
    out.family_names = names_;
    out.source = source_;
    out.sha256 = sha_;
    std::vector<std::vector<int64_t>> local(traces_.size()), slot(traces_.size());
    for (int64_t i = 0; i < n; ++i) {
      const auto& o = origin_[tokens[i]];
      local[o.trace].push_back(o.token);
      slot[o.trace].push_back(i);
      out.meta(i) = metas_[tokens[i]];
    }
    for (size_t s = 0; s < traces_.size(); ++s) {
      if (local[s].empty()) continue;
      RoutingTrace part = traces_[s].reader->read(local[s], num_layers);
      for (size_t q = 0; q < slot[s].size(); ++q)
        for (int l = 0; l < num_layers; ++l) {
          auto se = part.experts(l, static_cast<int64_t>(q));
          auto sw = part.weights(l, static_cast<int64_t>(q));
          std::copy(se.begin(), se.end(), out.experts(l, slot[s][q]).begin());
          std::copy(sw.begin(), sw.end(), out.weights(l, slot[s][q]).begin());
        }
    }
    return out;
  }

 private:
  struct Origin {
    int32_t trace;
    int64_t token;
  };
  // Chooses requests of each trace so trace i carries a share weights[i] of the tokens, and
  // interleaves the requests in proportion over the combined trace.
  void build(std::vector<double> weights) {
    const size_t m = traces_.size();
    if (weights.empty()) weights.assign(m, 1.0);
    if (weights.size() != m)
      throw ConfigError("workload: key 'trace_weights': expected one weight per trace (" +
                        std::to_string(m) + "), got " + std::to_string(weights.size()));
    double wsum = 0;
    for (double w : weights) {
      if (!(w > 0)) throw ConfigError("workload: key 'trace_weights': expected weights > 0");
      wsum += w;
    }
    // Requests of each trace, in order of first appearance, with their tokens.
    std::vector<std::vector<std::vector<int64_t>>> reqs(m);
    double scale = INFINITY;
    for (size_t s = 0; s < m; ++s) {
      const auto& metas = traces_[s].reader->metas();
      std::map<int64_t, size_t> slot;
      for (int64_t t = 0; t < static_cast<int64_t>(metas.size()); ++t) {
        auto [it, fresh] = slot.try_emplace(metas[t].request_id, reqs[s].size());
        if (fresh) reqs[s].emplace_back();
        reqs[s][it->second].push_back(t);
      }
      scale = std::min(scale, static_cast<double>(metas.size()) / (weights[s] / wsum));
    }
    // Each chosen request gets a mixing key: the midpoint of its token span, normalized by
    // its trace's target, so requests of all traces advance together.
    struct Pick {
      double key;
      size_t trace, request;
    };
    std::vector<Pick> picks;
    for (size_t s = 0; s < m; ++s) {
      const double target = m == 1 ? INFINITY : scale * weights[s] / wsum;
      double taken = 0;
      for (size_t r = 0; r < reqs[s].size() && (r == 0 || taken < target); ++r) {
        const double len = static_cast<double>(reqs[s][r].size());
        picks.push_back({(taken + 0.5 * len) / (m == 1 ? 1.0 : target), s, r});
        taken += len;
      }
    }
    std::stable_sort(picks.begin(), picks.end(),
                     [](const Pick& a, const Pick& b) { return a.key < b.key; });
    // Family names merged by name, first trace first.
    std::vector<std::vector<int32_t>> fam_map(m);
    std::map<std::string, int32_t> fam_index;
    for (size_t s = 0; s < m; ++s)
      for (const auto& name : traces_[s].reader->header().family_names) {
        auto [it, fresh] = fam_index.try_emplace(name, static_cast<int32_t>(names_.size()));
        if (fresh) names_.push_back(name);
        fam_map[s].push_back(it->second);
      }
    int64_t request_id = 0;
    for (const auto& p : picks) {
      const auto& src = traces_[p.trace].reader->metas();
      for (int64_t t : reqs[p.trace][p.request]) {
        TokenMeta mt = src[t];
        mt.request_id = request_id;
        mt.family = fam_map[p.trace][mt.family];
        metas_.push_back(mt);
        origin_.push_back({static_cast<int32_t>(p.trace), t});
      }
      ++request_id;
    }
    for (size_t s = 0; s < m; ++s) {
      const std::string w = m > 1 ? "*" + std::to_string(weights[s] / wsum) : "";
      source_ += (s ? "+" : "") + traces_[s].source + w;
      sha_ += (s ? "," : "") + traces_[s].sha256;
    }
  }

  std::vector<OpenedTrace> traces_;
  int num_layers_ = 0, num_experts_ = 0, top_k_ = 0;
  int64_t dropped_ = 0;
  std::vector<TokenMeta> metas_;
  std::vector<Origin> origin_;
  std::vector<std::string> names_;
  std::string source_, sha_;
};

}  // namespace

std::shared_ptr<TokenSource> open_trace_mix(const std::vector<std::string>& paths,
                                            const std::vector<double>& weights, uint64_t) {
  if (paths.empty()) throw ConfigError("workload: key 'traces': expected at least one trace file");
  std::vector<OpenedTrace> traces;
  for (const auto& p : paths) traces.push_back(open_any(p));
  return std::make_shared<MixSource>(std::move(traces), weights);
}

RoutingStats calibration_stats_from_trace(const std::string& path, const ModelSpec& model,
                                          const std::string& order, int64_t batch_tokens,
                                          int64_t* tokens, int64_t* requests) {
  OpenedTrace t = open_any(path);
  const auto& h = t.reader->header();
  if (h.num_experts != model.num_experts || h.top_k != model.top_k ||
      h.num_layers < model.num_layers)
    throw ConfigError("workload: calibration trace " + path + " is " +
                      std::to_string(h.num_layers) + " layers x " + std::to_string(h.num_experts) +
                      " experts, top-" + std::to_string(h.top_k) + "; the run needs " +
                      std::to_string(model.num_layers) + " x " + std::to_string(model.num_experts) +
                      ", top-" + std::to_string(model.top_k));
  if (h.statistics_only) {
    *tokens = 0;
    *requests = 0;
    return t.reader->statistics(model.num_layers);
  }
  MixSource src({t}, {});
  std::vector<int64_t> all(static_cast<size_t>(src.num_tokens()));
  std::iota(all.begin(), all.end(), 0);
  auto ordered = order_tokens(src.metas(), all, order, default_concurrency(batch_tokens));
  *tokens = src.num_tokens();
  *requests = count_requests(src.metas(), all);
  return stats_of_tokens(src, ordered, model.num_layers, batch_tokens);
}

}  // namespace moeb
