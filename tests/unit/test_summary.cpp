// core/summary: every statistic of results_schema "summary" against hand-computed values.
#include <gtest/gtest.h>

#include "core/error.hpp"
#include "core/summary.hpp"

using namespace moeb;

namespace {

// I = 3 iterations, L = 2 layers, R = 2 ranks, 2 tokens per batch. Layer 0 carries the
// hand-computed case; layer 1 is idle (all times 0, perfectly balanced rows).
StrategyResult hand_case() {
  StrategyResult s;
  s.name = "hand";
  for (const auto& n : count_metric_names()) s.counts[n].resize(3, 2, 2);
  for (const auto& n : time_metric_names()) s.times[n].resize(3, 2, 2);
  s.batch_tokens = {2, 2, 2};
  s.batch_index = {0, 1, 2};
  const int64_t rows[3][2] = {{3, 1}, {2, 2}, {4, 0}};
  const double t_layer[3][2] = {{1.0, 2.0}, {3.0, 1.0}, {0.5, 0.25}};
  const double t_dispatch[3][2] = {{0.2, 0.4}, {0.5, 0.1}, {0.1, 0.1}};
  for (int i = 0; i < 3; ++i) {
    const int64_t scale = i == 2 ? 2 : 1;  // iteration 2 moves twice the bytes
    auto set = [&](const char* n, int64_t r0, int64_t r1) {
      s.counts[n].at(i, 0, 0) = r0 * scale;
      s.counts[n].at(i, 0, 1) = r1 * scale;
    };
    set("bytes_sent_intra", 10, 0);
    set("bytes_sent_inter", 20, 10);
    set("bytes_recv_intra", 0, 10);
    set("bytes_recv_inter", 10, 20);
    set("bytes_sent_intra_combine", 0, 10);
    set("bytes_sent_inter_combine", 10, 20);
    set("bytes_recv_intra_combine", 10, 0);
    set("bytes_recv_inter_combine", 20, 10);
    for (int r = 0; r < 2; ++r) {
      s.counts["rows_computed"].at(i, 0, r) = rows[i][r];
      s.counts["rows_computed"].at(i, 1, r) = 2;
      s.counts["tokens_owned"].at(i, 0, r) = 1;
      s.counts["tokens_owned"].at(i, 1, r) = 1;
      s.times["t_layer"].at(i, 0, r) = t_layer[i][r];
      s.times["t_dispatch"].at(i, 0, r) = t_dispatch[i][r];
      s.times["t_wait_dispatch"].at(i, 0, r) = 0.1;
      s.times["t_wait_combine"].at(i, 0, r) = 0.1;
    }
  }
  return s;
}

}  // namespace

TEST(Summary, PerLayerStatisticsMatchHandComputedValues) {
  const StrategySummary s = summarize(hand_case());
  ASSERT_EQ(s.comm_bytes.size(), 2u);
  // comm: dispatch sent 40 + combine sent 40 = 80 (iterations 0, 1), 160 (iteration 2).
  EXPECT_DOUBLE_EQ(s.comm_bytes[0], 80);
  // inter: 30 + 30 = 60, 60, 120.
  EXPECT_DOUBLE_EQ(s.inter_node_bytes[0], 60);
  // max over ranks of max(sent, recv): rank 0 sends 30, rank 1 receives 30 -> 30, 30, 60.
  EXPECT_DOUBLE_EQ(s.max_rank_bytes[0], 30);
  // balancedness 2/3, 1, 1/2 -> median 2/3; jain 16/20, 16/16, 16/32 -> median 0.8.
  EXPECT_DOUBLE_EQ(s.balancedness[0], 2.0 / 3.0);
  EXPECT_DOUBLE_EQ(s.jain[0], 0.8);
  // idle: 0.4 / 3, 0.4 / 4, 0.4 / 0.75 -> median 0.4 / 3.
  EXPECT_DOUBLE_EQ(s.idle_fraction[0], 0.4 / 3.0);
  // max_r t_layer per iteration: 2, 3, 0.5; sorted 0.5, 2, 3.
  EXPECT_DOUBLE_EQ(s.t_layer_p50[0], 2.0);
  EXPECT_DOUBLE_EQ(s.t_layer_p95[0], 2.0 + 0.9 * 1.0);   // position 1.9
  EXPECT_DOUBLE_EQ(s.t_layer_p99[0], 2.0 + 0.98 * 1.0);  // position 1.98
  // throughput: median batch tokens 2 / 2 s.
  EXPECT_DOUBLE_EQ(s.throughput[0], 1.0);
  // algbw: 30 bytes / median of max_r t_dispatch (0.4, 0.5, 0.1) = 0.4 s; busbw * (R-1)/R.
  EXPECT_DOUBLE_EQ(s.algbw[0], 75.0);
  EXPECT_DOUBLE_EQ(s.busbw[0], 37.5);
}

TEST(Summary, IdleLayerHasZeroRatesAndPerfectBalance) {
  const StrategySummary s = summarize(hand_case());
  EXPECT_DOUBLE_EQ(s.comm_bytes[1], 0);
  EXPECT_DOUBLE_EQ(s.balancedness[1], 1);
  EXPECT_DOUBLE_EQ(s.jain[1], 1);
  EXPECT_DOUBLE_EQ(s.idle_fraction[1], 0);
  EXPECT_DOUBLE_EQ(s.throughput[1], 0);  // no time measured: a rate of 0, not inf
  EXPECT_DOUBLE_EQ(s.algbw[1], 0);
}

TEST(Summary, WholeBatchAggregatesOverLayers) {
  const StrategySummary s = summarize(hand_case());
  EXPECT_DOUBLE_EQ(s.total_comm_bytes, 80);
  EXPECT_DOUBLE_EQ(s.total_inter_node_bytes, 60);
  EXPECT_DOUBLE_EQ(s.mean_idle_fraction, (0.4 / 3.0 + 0) / 2);
  EXPECT_DOUBLE_EQ(s.mean_jain, (0.8 + 1) / 2);
  EXPECT_DOUBLE_EQ(s.mean_balancedness, (2.0 / 3.0 + 1) / 2);
  // Sum over layers of max_r t_layer: 2, 3, 0.5 -> median 2; 2 tokens / 2 s.
  EXPECT_DOUBLE_EQ(s.batch_throughput, 1.0);
  const auto attrs = summary_attributes(s);
  ASSERT_EQ(attrs.size(), 6u);
  EXPECT_EQ(attrs[0].first, "comm_bytes");
  EXPECT_DOUBLE_EQ(attrs[0].second, 80);
}

TEST(Summary, EveryFieldHasAUnit) {
  for (const auto& f : summary_fields()) {
    EXPECT_NE(std::string(f.units), "") << f.name;
    EXPECT_NE(f.per_layer, nullptr) << f.name;
  }
  EXPECT_EQ(summary_fields().size(), 12u);
}

TEST(Summary, MissingOrMisshapenCubeIsAnError) {
  StrategyResult s = hand_case();
  s.times.erase("t_ffn");
  EXPECT_THROW(summarize(s), Error);
  s = hand_case();
  s.counts["bytes_recv_inter"].resize(2, 2, 2);
  EXPECT_THROW(summarize(s), Error);
  s = hand_case();
  s.batch_tokens.pop_back();
  EXPECT_THROW(summarize(s), Error);
  EXPECT_THROW(summarize(StrategyResult{}), Error);
}
