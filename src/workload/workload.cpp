// open_workload: source (synthetic or traces) -> split by request -> replay order -> batches,
// with the calibration statistics computed once, batch by batch, from the calibration part.
#include "workload/workload.hpp"

#include <algorithm>
#include <filesystem>
#include <numeric>

#include "core/error.hpp"
#include "workload/generator.hpp"
#include "workload/replay.hpp"
#include "workload/split.hpp"
#include "workload/synthetic.hpp"
#include "workload/token_source.hpp"

namespace moeb {

namespace {

class BatchedWorkload final : public Workload {
 public:
  BatchedWorkload(std::shared_ptr<const TokenSource> src, std::vector<int64_t> order,
                  int64_t batch_tokens, int num_layers, RoutingStats stats,
                  std::map<std::string, std::string> prov, bool oracle)
      : src_(std::move(src)),
        order_(std::move(order)),
        batch_tokens_(batch_tokens),
        num_layers_(num_layers),
        stats_(std::move(stats)),
        prov_(std::move(prov)),
        oracle_(oracle) {}
  const RoutingStats& calibration_stats() const override { return stats_; }
  int64_t num_batches() const override {
    return (static_cast<int64_t>(order_.size()) + batch_tokens_ - 1) / batch_tokens_;
  }
  RoutingTrace batch(int64_t i) const override { return src_->fetch(tokens_of(i), num_layers_); }
  int64_t batch_num_tokens(int64_t i) const override {
    return static_cast<int64_t>(tokens_of(i).size());
  }
  bool layers_alone() const override { return src_->layers_alone(); }
  bool ranked_weights() const override { return src_->ranked_weights(); }
  bool batch_layer(int64_t i, int layer, std::span<int32_t> experts,
                   std::span<float> weights) const override {
    if (layer < 0 || layer >= num_layers_)
      throw Error("workload: layer " + std::to_string(layer) + " outside [0, " +
                  std::to_string(num_layers_) + ")");
    return src_->fetch_layer(tokens_of(i), layer, experts, weights);
  }
  std::map<std::string, std::string> provenance() const override { return prov_; }
  bool oracle() const override { return oracle_; }

 private:
  std::span<const int64_t> tokens_of(int64_t i) const {
    if (i < 0 || i >= num_batches())
      throw Error("workload: batch " + std::to_string(i) + " outside [0, " +
                  std::to_string(num_batches()) + ")");
    int64_t begin = i * batch_tokens_;
    int64_t end = std::min<int64_t>(begin + batch_tokens_, static_cast<int64_t>(order_.size()));
    return std::span<const int64_t>(order_).subspan(begin, end - begin);
  }
  std::shared_ptr<const TokenSource> src_;
  std::vector<int64_t> order_;
  int64_t batch_tokens_;
  int num_layers_;
  RoutingStats stats_;
  std::map<std::string, std::string> prov_;
  bool oracle_;
};

void check_shape(const TokenSource& src, const ModelSpec& model, const std::string& what) {
  auto fail = [&](const std::string& m) { throw ConfigError("workload: " + what + ": " + m); };
  if (src.num_experts() != model.num_experts)
    fail("has " + std::to_string(src.num_experts()) + " experts, the model " +
         std::to_string(model.num_experts));
  if (src.top_k() != model.top_k)
    fail("has top-" + std::to_string(src.top_k()) + " routing, the model top-" +
         std::to_string(model.top_k));
  if (src.num_layers() < model.num_layers)
    fail("has " + std::to_string(src.num_layers()) + " layers, the run asks for " +
         std::to_string(model.num_layers));
}

// Relative paths: as given when that exists (command line, CWD), else next to the suite file.
// A file found in neither place is reported with every place looked in.
std::string resolve_path(const std::string& p, const std::string& suite_path,
                         const std::string& key) {
  namespace fs = std::filesystem;
  std::error_code ec;
  if (p.empty() || fs::exists(p, ec)) return p;
  std::string looked = fs::absolute(p, ec).lexically_normal().string();
  if (!fs::path(p).is_absolute() && !suite_path.empty()) {
    fs::path alt = fs::path(suite_path).parent_path() / p;
    if (fs::exists(alt, ec)) return alt.lexically_normal().string();
    const std::string next_to_suite = fs::absolute(alt, ec).lexically_normal().string();
    if (next_to_suite != looked) looked += ", " + next_to_suite + " (next to the suite)";
  }
  throw InputError("workload: key '" + key + "': trace file '" + p + "' not found; looked in " +
                   looked);
}

// The token source the config names (synthetic generator or trace files); its provenance goes
// into `prov`.
std::shared_ptr<const TokenSource> open_source(const RunConfig& cfg, const ModelSpec& model,
                                               std::map<std::string, std::string>& prov) {
  const WorkloadConfig& w = cfg.workload;
  std::shared_ptr<const TokenSource> src;
  if (w.kind == "synthetic") {
    if (w.tokens < 2)
      throw ConfigError("workload: key 'tokens': expected >= 2, got " + std::to_string(w.tokens));
    std::shared_ptr<const SyntheticGenerator> gen = make_generator(w, model, cfg.seed, &prov);
    src = make_synthetic_source(gen, model.num_layers, model.num_experts, model.top_k, w.tokens);
    prov["workload_kind"] = "synthetic";
    prov["distribution"] = w.distribution;
    prov["generator_version"] = std::to_string(w.generator_version);
  } else if (w.kind == "trace") {
    std::vector<std::string> paths;
    for (const auto& p : w.traces) paths.push_back(resolve_path(p, cfg.suite_path, "traces"));
    src = open_trace_mix(paths, w.trace_weights, cfg.seed);
    check_shape(*src, model, "trace " + src->source());
    prov["workload_kind"] = "trace";
  } else {
    throw ConfigError("workload: key 'kind': expected synthetic | trace, got '" + w.kind + "'");
  }
  prov["trace_source"] = src->source();
  prov["trace_sha256"] = src->sha256();
  prov["dropped_tokens"] = std::to_string(src->dropped_tokens());
  return src;
}

// The calibration / evaluation split of a source: what the strategies calibrate on and which
// tokens are replayed.
struct SplitParts {
  std::vector<int64_t> eval_tokens;
  RoutingStats stats;  // of the calibration part (the evaluation part when oracle)
  bool oracle = false;
  int64_t cal_tokens = 0, cal_requests = 0, eval_requests = 0;
};

SplitParts split_source(const RunConfig& cfg, const ModelSpec& model, const TokenSource& src,
                        std::map<std::string, std::string>& prov) {
  const WorkloadConfig& w = cfg.workload;
  const int64_t concurrency = default_concurrency(w.batch_tokens);
  const auto& metas = src.metas();
  SplitParts out;
  out.oracle = w.split == "oracle";
  const std::string honest = out.oracle ? honest_split(w) : w.split;
  if (honest == "fraction") {
    auto split = split_by_request(metas, w.calibration_fraction, cfg.seed);
    out.eval_tokens = std::move(split.evaluation);
    out.eval_requests = split.evaluation_requests;
    split.calibration =
        filter_phase(metas, split.calibration, w.calib_phase, "workload: key 'calib_phase'");
    if (!out.oracle && split.calibration.empty())
      throw ConfigError("workload: key 'calib_phase': the calibration part has no " +
                        w.calib_phase + " tokens");
    if (!out.oracle) {
      auto ordered = order_tokens(metas, split.calibration, w.order, concurrency);
      out.stats = stats_of_tokens(src, ordered, model.num_layers, w.batch_tokens);
      out.cal_tokens = static_cast<int64_t>(split.calibration.size());
      out.cal_requests = split.calibration_requests;
    }
    prov["calibration_fraction"] = std::to_string(w.calibration_fraction);
  } else if (honest == "trace") {
    if (w.calibration_trace.empty())
      throw ConfigError("workload: key 'calibration_trace': required when split = \"trace\"");
    if (!out.oracle)
      out.stats = calibration_stats_from_trace(
          resolve_path(w.calibration_trace, cfg.suite_path, "calibration_trace"), model, w.order,
          w.batch_tokens, &out.cal_tokens, &out.cal_requests);
    out.eval_tokens.resize(metas.size());
    std::iota(out.eval_tokens.begin(), out.eval_tokens.end(), 0);
    out.eval_requests = count_requests(metas, out.eval_tokens);
    prov["calibration_trace"] = w.calibration_trace;
  } else {
    throw ConfigError("workload: key 'split': expected fraction | trace | oracle, got '" + w.split +
                      "'");
  }
  out.eval_tokens = filter_phase(metas, out.eval_tokens, w.eval_phase, "workload: key 'eval_phase'");
  if (out.eval_tokens.empty())
    throw ConfigError("workload: the evaluation part has no tokens (eval_phase = \"" +
                      w.eval_phase + "\")");
  out.eval_requests = count_requests(metas, out.eval_tokens);
  return out;
}

}  // namespace

std::unique_ptr<Workload> open_workload(const RunConfig& cfg, const ModelSpec& model) {
  const WorkloadConfig& w = cfg.workload;
  validate_model(model, "model");
  if (w.batch_tokens < 1)
    throw ConfigError("workload: key 'batch_tokens': expected >= 1, got " +
                      std::to_string(w.batch_tokens));
  std::map<std::string, std::string> prov;
  std::shared_ptr<const TokenSource> src = open_source(cfg, model, prov);
  SplitParts parts = split_source(cfg, model, *src, prov);
  auto order = order_tokens(src->metas(), parts.eval_tokens, w.order,
                            default_concurrency(w.batch_tokens));
  if (parts.oracle) {  // calibrate on exactly the evaluation batches
    parts.stats = stats_of_tokens(*src, order, model.num_layers, w.batch_tokens);
    parts.cal_tokens = static_cast<int64_t>(order.size());
    parts.cal_requests = parts.eval_requests;
    prov["oracle_of_split"] = honest_split(w);
  }

  prov["split"] = w.split;
  prov["calib_phase"] = w.calib_phase;
  prov["eval_phase"] = w.eval_phase;
  prov["oracle"] = parts.oracle ? "1" : "0";
  prov["order"] = w.order;
  prov["batch_tokens"] = std::to_string(w.batch_tokens);
  prov["calibration_tokens"] = std::to_string(parts.cal_tokens);
  prov["calibration_requests"] = std::to_string(parts.cal_requests);
  prov["evaluation_tokens"] = std::to_string(order.size());
  prov["evaluation_requests"] = std::to_string(parts.eval_requests);
  return std::make_unique<BatchedWorkload>(src, std::move(order), w.batch_tokens,
                                           model.num_layers, std::move(parts.stats),
                                           std::move(prov), parts.oracle);
}

}  // namespace moeb
