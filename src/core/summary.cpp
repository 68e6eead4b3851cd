#include "core/summary.hpp"

#include <algorithm>

#include "core/error.hpp"
#include "core/metrics.hpp"

namespace moeb {

const std::vector<SummaryField>& summary_fields() {
  static const std::vector<SummaryField> f = {
      {"comm_bytes", "bytes", &StrategySummary::comm_bytes},
      {"inter_node_bytes", "bytes", &StrategySummary::inter_node_bytes},
      {"max_rank_bytes", "bytes", &StrategySummary::max_rank_bytes},
      {"balancedness", "1", &StrategySummary::balancedness},
      {"jain", "1", &StrategySummary::jain},
      {"idle_fraction", "1", &StrategySummary::idle_fraction},
      {"throughput", "tokens/s", &StrategySummary::throughput},
      {"t_layer_p50", "s", &StrategySummary::t_layer_p50},
      {"t_layer_p95", "s", &StrategySummary::t_layer_p95},
      {"t_layer_p99", "s", &StrategySummary::t_layer_p99},
      {"algbw", "bytes/s", &StrategySummary::algbw},
      {"busbw", "bytes/s", &StrategySummary::busbw},
  };
  return f;
}

std::vector<std::pair<std::string, double>> summary_attributes(const StrategySummary& s) {
  return {{"comm_bytes", s.total_comm_bytes},      {"inter_node_bytes", s.total_inter_node_bytes},
          {"idle_fraction", s.mean_idle_fraction}, {"jain", s.mean_jain},
          {"balancedness", s.mean_balancedness},   {"throughput", s.batch_throughput}};
}

namespace {

template <class T>
const Cube<T>& need(const std::map<std::string, Cube<T>>& m, const std::string& name,
                    const Cube<int64_t>& shape, const std::string& strategy) {
  auto it = m.find(name);
  if (it == m.end())
    throw Error("summary of strategy '" + strategy + "': measured cube '" + name + "' missing");
  const auto& c = it->second;
  if (c.iterations != shape.iterations || c.layers != shape.layers || c.ranks != shape.ranks ||
      c.data.size() != static_cast<size_t>(c.iterations) * c.layers * c.ranks)
    throw Error("summary of strategy '" + strategy + "': measured cube '" + name +
                "' has a shape other than [I, L, R] of tokens_owned");
  return c;
}

double rate(double amount, double time_s) { return time_s > 0 ? amount / time_s : 0.0; }

double mean(const std::vector<double>& x) {
  if (x.empty()) return 0;
  double s = 0;
  for (double v : x) s += v;
  return s / static_cast<double>(x.size());
}

// One (iteration, layer) of a strategy's measured cubes, across ranks.
struct LayerSample {
  double comm = 0, inter = 0, max_rank = 0;  // bytes: all sent, inter-node sent, busiest rank
  double balancedness = 0, jain = 0, idle = 0;
  double t_layer_max = 0, t_dispatch_max = 0;
};

// The measured cubes a summary reads, checked once against the shape of tokens_owned.
struct MeasuredCubes {
  const Cube<int64_t>& shape;
  const Cube<int64_t>&rows, &s_intra, &s_inter, &r_intra, &r_inter, &sc_intra, &sc_inter;
  const Cube<double>&t_layer, &t_dispatch, &w_dispatch, &w_combine;

  LayerSample sample(int i, int l) const {
    const int R = shape.ranks;
    LayerSample x;
    double idle_sum = 0, tl_sum = 0;
    std::vector<double> load(R);
    for (int rk = 0; rk < R; ++rk) {
      const double sent = static_cast<double>(s_intra.at(i, l, rk) + s_inter.at(i, l, rk));
      const double recv = static_cast<double>(r_intra.at(i, l, rk) + r_inter.at(i, l, rk));
      x.comm += sent + static_cast<double>(sc_intra.at(i, l, rk) + sc_inter.at(i, l, rk));
      x.inter += static_cast<double>(s_inter.at(i, l, rk) + sc_inter.at(i, l, rk));
      x.max_rank = std::max(x.max_rank, std::max(sent, recv));
      load[rk] = static_cast<double>(rows.at(i, l, rk));
      idle_sum += w_dispatch.at(i, l, rk) + w_combine.at(i, l, rk);
      tl_sum += t_layer.at(i, l, rk);
      x.t_layer_max = std::max(x.t_layer_max, t_layer.at(i, l, rk));
      x.t_dispatch_max = std::max(x.t_dispatch_max, t_dispatch.at(i, l, rk));
    }
    x.balancedness = balancedness(load);
    x.jain = jain_index(load);
    x.idle = tl_sum > 0 ? idle_sum / tl_sum : 0.0;
    return x;
  }
};

MeasuredCubes measured_cubes(const StrategyResult& r) {
  auto it0 = r.counts.find("tokens_owned");
  if (it0 == r.counts.end())
    throw Error("summary of strategy '" + r.name + "': measured cube 'tokens_owned' missing");
  const Cube<int64_t>& shape = it0->second;
  const int I = shape.iterations, L = shape.layers, R = shape.ranks;
  if (I < 1 || L < 1 || R < 1)
    throw Error("summary of strategy '" + r.name + "': no measured iterations");
  if (r.batch_tokens.size() != static_cast<size_t>(I))
    throw Error("summary of strategy '" + r.name + "': batch_tokens has " +
                std::to_string(r.batch_tokens.size()) + " entries, expected " + std::to_string(I));
  auto cnt = [&](const char* n) -> const Cube<int64_t>& {
    return need(r.counts, n, shape, r.name);
  };
  auto tim = [&](const char* n) -> const Cube<double>& { return need(r.times, n, shape, r.name); };
  // Every cube of the metric table is checked, not only those read below.
  for (const auto& n : count_metric_names()) need(r.counts, n, shape, r.name);
  for (const auto& n : time_metric_names()) need(r.times, n, shape, r.name);
  return MeasuredCubes{shape,
                       cnt("rows_computed"),
                       cnt("bytes_sent_intra"),
                       cnt("bytes_sent_inter"),
                       cnt("bytes_recv_intra"),
                       cnt("bytes_recv_inter"),
                       cnt("bytes_sent_intra_combine"),
                       cnt("bytes_sent_inter_combine"),
                       tim("t_layer"),
                       tim("t_dispatch"),
                       tim("t_wait_dispatch"),
                       tim("t_wait_combine")};
}

}  // namespace

StrategySummary summarize(const StrategyResult& r) {
  const MeasuredCubes m = measured_cubes(r);
  const int I = m.shape.iterations, L = m.shape.layers, R = m.shape.ranks;
  const double median_tokens = median(to_double(r.batch_tokens));
  StrategySummary s;
  std::vector<double> batch_time(I, 0.0);  // per iteration: sum_l max_r t_layer
  for (int l = 0; l < L; ++l) {
    std::vector<double> comm(I), inter(I), maxrank(I), bal(I), jn(I), idle(I), tl(I), td(I);
    for (int i = 0; i < I; ++i) {
      const LayerSample x = m.sample(i, l);
      comm[i] = x.comm;
      inter[i] = x.inter;
      maxrank[i] = x.max_rank;
      bal[i] = x.balancedness;
      jn[i] = x.jain;
      idle[i] = x.idle;
      tl[i] = x.t_layer_max;
      td[i] = x.t_dispatch_max;
      batch_time[i] += x.t_layer_max;
    }
    s.comm_bytes.push_back(median(comm));
    s.inter_node_bytes.push_back(median(inter));
    s.max_rank_bytes.push_back(median(maxrank));
    s.balancedness.push_back(median(bal));
    s.jain.push_back(median(jn));
    s.idle_fraction.push_back(median(idle));
    s.t_layer_p50.push_back(percentile(tl, 50));
    s.t_layer_p95.push_back(percentile(tl, 95));
    s.t_layer_p99.push_back(percentile(tl, 99));
    s.throughput.push_back(rate(median_tokens, s.t_layer_p50.back()));
    s.algbw.push_back(rate(s.max_rank_bytes.back(), median(td)));
    s.busbw.push_back(s.algbw.back() * (R - 1) / R);
  }
  for (int l = 0; l < L; ++l) {
    s.total_comm_bytes += s.comm_bytes[l];
    s.total_inter_node_bytes += s.inter_node_bytes[l];
  }
  s.mean_idle_fraction = mean(s.idle_fraction);
  s.mean_jain = mean(s.jain);
  s.mean_balancedness = mean(s.balancedness);
  s.batch_throughput = rate(median_tokens, median(batch_time));
  return s;
}

}  // namespace moeb
