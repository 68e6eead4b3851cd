// The HDF5 routing-trace file: streamed write, random-access read, atomic creation, refusal of
// files that are not traces.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <numeric>

#include "core/error.hpp"
#include "core/model.hpp"
#include "workload/synthetic.hpp"
#include "workload/trace_file.hpp"

using namespace moeb;
namespace fs = std::filesystem;

namespace {
fs::path tmp_dir() {
  fs::path d =
      fs::temp_directory_path() /
      ("moeb_test_trace_" + std::to_string(::testing::UnitTest::GetInstance()->random_seed()) +
       "_" + ::testing::UnitTest::GetInstance()->current_test_info()->name());
  fs::create_directories(d);
  return d;
}
RoutingTrace sample(int64_t tokens, int experts = 40, int k = 3, int layers = 5) {
  ModelSpec m;
  m.name = "t";
  m.num_experts = experts;
  m.top_k = k;
  m.hidden = m.ffn_hidden = 8;
  m.num_layers = layers;
  SyntheticSpec s;
  s.distribution = "families";
  s.num_families = 3;
  s.family_hot_share = 0.6;
  SyntheticGenerator g(s, m, 5);
  return g.generate(tokens);
}
TraceHeader header_of(const RoutingTrace& t) {
  TraceHeader h;
  h.num_layers = t.num_layers();
  h.num_experts = t.num_experts();
  h.top_k = t.top_k();
  h.family_names = t.family_names;
  h.source = "unit-test";
  h.import_format = "synthetic";
  return h;
}
void expect_same_token(const RoutingTrace& a, int64_t ta, const RoutingTrace& b, int64_t tb) {
  ASSERT_EQ(a.meta(ta).request_id, b.meta(tb).request_id);
  ASSERT_EQ(a.meta(ta).family, b.meta(tb).family);
  ASSERT_EQ(a.meta(ta).phase, b.meta(tb).phase);
  ASSERT_EQ(a.meta(ta).position, b.meta(tb).position);
  for (int l = 0; l < std::min(a.num_layers(), b.num_layers()); ++l)
    for (int j = 0; j < a.top_k(); ++j) {
      ASSERT_EQ(a.experts(l, ta)[j], b.experts(l, tb)[j]);
      ASSERT_EQ(a.weights(l, ta)[j], b.weights(l, tb)[j]);
    }
}
}  // namespace

TEST(TraceFile, StreamedWriteReadsBackExactly) {
  auto dir = tmp_dir();
  auto t = sample(5000);
  std::string path = (dir / "t.h5").string();
  {
    TraceWriter w(path, header_of(t));
    // Uneven chunks, as an importer would append them.
    w.append(t.slice(0, 1));
    w.append(t.slice(1, 2999));
    w.append(t.slice(2999, 5000));
    w.set_dropped_tokens(7);
    w.finish();
  }
  TraceReader r(path);
  EXPECT_EQ(r.num_tokens(), 5000);
  EXPECT_EQ(r.header().dropped_tokens, 7);
  EXPECT_EQ(r.header().family_names, t.family_names);
  EXPECT_EQ(r.header().source, "unit-test");
  auto all = r.read_range(0, 5000);
  for (int64_t i = 0; i < 5000; ++i) expect_same_token(all, i, t, i);
  fs::remove_all(dir);
}

TEST(TraceFile, ReadsAnyTokenListInTheListedOrder) {
  auto dir = tmp_dir();
  auto t = sample(3000);
  std::string path = (dir / "t.h5").string();
  {
    TraceWriter w(path, header_of(t));
    w.append(t);
    w.finish();
  }
  TraceReader r(path);
  std::vector<int64_t> idx = {2999, 0, 1500, 1501, 1502, 7, 2000, 0};
  auto part = r.read(idx, 3);
  ASSERT_EQ(part.num_layers(), 3);
  for (size_t i = 0; i < idx.size(); ++i)
    expect_same_token(part, static_cast<int64_t>(i), t, idx[i]);
  EXPECT_THROW(r.read(std::vector<int64_t>{3000}, 3), InputError);
  EXPECT_THROW(r.read(idx, 6), InputError);
  fs::remove_all(dir);
}

TEST(TraceFile, StatisticsStreamedEqualInMemory) {
  auto dir = tmp_dir();
  auto t = sample(2000);
  std::string path = (dir / "t.h5").string();
  {
    TraceWriter w(path, header_of(t));
    w.append(t);
    w.finish();
  }
  TraceReader r(path);
  auto st = r.statistics(5);
  RoutingStats ref(5, t.num_experts(), t.family_names);
  ref.add_batch(t);
  for (int l = 0; l < 5; ++l) {
    EXPECT_EQ(st.layer(l).load, ref.layer(l).load);
    EXPECT_EQ(st.layer(l).coact, ref.layer(l).coact);
  }
  EXPECT_EQ(st.tokens(), 2000);
  fs::remove_all(dir);
}

TEST(TraceFile, NothingAppearsUntilFinish) {
  auto dir = tmp_dir();
  auto t = sample(100);
  std::string path = (dir / "t.h5").string();
  {
    TraceWriter w(path, header_of(t));
    w.append(t);
    EXPECT_FALSE(fs::exists(path));
    EXPECT_TRUE(fs::exists(path + ".tmp"));
  }  // abandoned: the temporary is removed
  EXPECT_FALSE(fs::exists(path));
  EXPECT_FALSE(fs::exists(path + ".tmp"));
  fs::remove_all(dir);
}

TEST(TraceFile, RefusesFilesThatAreNotTraces) {
  auto dir = tmp_dir();
  std::string text = (dir / "x.h5").string();
  std::ofstream(text) << "not hdf5\n";
  EXPECT_THROW(TraceReader r(text), InputError);
  EXPECT_THROW(TraceReader r((dir / "missing.h5").string()), InputError);
  try {
    TraceReader r(text);
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("x.h5"), std::string::npos) << e.what();
  }
  fs::remove_all(dir);
}

TEST(TraceFile, StatisticsOnlyFileRoundTrips) {
  auto dir = tmp_dir();
  std::string path = (dir / "s.h5").string();
  TraceHeader h;
  h.num_layers = 2;
  h.num_experts = 4;
  h.top_k = 2;
  h.statistics_only = true;
  std::vector<std::vector<double>> load = {{1, 2, 3, 4}, {4, 3, 2, 1}};
  std::vector<std::vector<double>> coact(2, std::vector<double>(16, 0.0));
  coact[0][0 * 4 + 1] = coact[0][1 * 4 + 0] = 5;
  coact[1][2 * 4 + 3] = coact[1][3 * 4 + 2] = 9;
  {
    TraceWriter w(path, h);
    w.write_statistics(load, coact);
    w.finish();
  }
  TraceReader r(path);
  EXPECT_TRUE(r.header().statistics_only);
  EXPECT_EQ(r.num_tokens(), 0);
  auto st = r.statistics(2);
  EXPECT_EQ(st.layer(0).load, load[0]);
  EXPECT_EQ(st.layer(1).coact_at(3, 2, 4), 9.0f);
  EXPECT_EQ(st.layer(0).coact_at(0, 1, 4), 5.0f);
  EXPECT_THROW(r.read(std::vector<int64_t>{0}, 1), InputError);
  fs::remove_all(dir);
}
