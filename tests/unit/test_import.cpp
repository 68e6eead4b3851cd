// Importers: the shared Mixtral trace (counts, dropped tokens, families), a round trip of every
// format, and one-line errors with nothing written for malformed input of every importer.
#include <gtest/gtest.h>

#include <sys/wait.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <set>

#include "core/error.hpp"
#include "core/model.hpp"
#include "workload/importers.hpp"
#include "workload/synthetic.hpp"
#include "workload/trace_file.hpp"

using namespace moeb;
namespace fs = std::filesystem;

namespace {
const std::string kMixtral =
    std::string(MOEB_SHARED_TRACES) + "/mixtral-8x7b/gsm8k_2_routing.jsonl";
const std::string kLlamaCoact =
    std::string(MOEB_SHARED_TRACES) + "/llama-moe-3.5b/base_coactivation.csv";

fs::path tmp_dir() {
  fs::path d = fs::temp_directory_path() /
               ("moeb_test_import_" +
                std::string(::testing::UnitTest::GetInstance()->current_test_info()->name()));
  fs::remove_all(d);
  fs::create_directories(d);
  return d;
}
void write(const fs::path& p, const std::string& text) { std::ofstream(p) << text; }

// A small synthetic trace with prefill and decode tokens, several families and requests.
std::string make_trace(const fs::path& dir) {
  ModelSpec m;
  m.name = "t";
  m.num_experts = 16;
  m.top_k = 2;
  m.hidden = m.ffn_hidden = 8;
  m.num_layers = 3;
  SyntheticSpec s;
  s.distribution = "families";
  s.num_families = 2;
  s.family_hot_share = 0.5;
  s.request_tokens = 10;
  SyntheticGenerator g(s, m, 1);
  auto t = g.generate(200);
  TraceHeader h;
  h.num_layers = 3;
  h.num_experts = 16;
  h.top_k = 2;
  h.family_names = t.family_names;
  h.import_format = "synthetic";
  std::string path = (dir / "orig.h5").string();
  TraceWriter w(path, h);
  w.append(t);
  w.finish();
  return path;
}

void expect_same_trace(const std::string& a_path, const std::string& b_path) {
  TraceReader a(a_path), b(b_path);
  ASSERT_EQ(a.num_tokens(), b.num_tokens());
  ASSERT_EQ(a.header().num_layers, b.header().num_layers);
  EXPECT_EQ(a.header().family_names, b.header().family_names);
  auto ta = a.read_range(0, a.num_tokens()), tb = b.read_range(0, b.num_tokens());
  for (int64_t t = 0; t < ta.num_tokens(); ++t) {
    ASSERT_EQ(ta.meta(t).request_id, tb.meta(t).request_id) << t;
    ASSERT_EQ(ta.meta(t).family, tb.meta(t).family) << t;
    ASSERT_EQ(ta.meta(t).phase, tb.meta(t).phase) << t;
    ASSERT_EQ(ta.meta(t).position, tb.meta(t).position) << t;
    for (int l = 0; l < ta.num_layers(); ++l)
      for (int j = 0; j < ta.top_k(); ++j) {
        ASSERT_EQ(ta.experts(l, t)[j], tb.experts(l, t)[j]);
        ASSERT_EQ(ta.weights(l, t)[j], tb.weights(l, t)[j]);
      }
  }
}

// Expects import to fail with one line naming `file:line` and containing `what`, and nothing
// written at the output path.
void expect_bad(const std::vector<std::string>& files, const std::string& format,
                const std::string& where, const std::string& what) {
  fs::path out = fs::path(files.front()).parent_path() / "out.h5";
  ImportOptions opt;
  opt.format = format;
  try {
    import_trace(files, out.string(), opt);
    ADD_FAILURE() << "no error for " << where << " (" << what << ")";
  } catch (const InputError& e) {
    std::string msg = e.what();
    EXPECT_EQ(msg.find('\n'), std::string::npos) << msg;
    EXPECT_NE(msg.find(where), std::string::npos) << msg;
    EXPECT_NE(msg.find(what), std::string::npos) << msg;
  }
  EXPECT_FALSE(fs::exists(out));
  EXPECT_FALSE(fs::exists(out.string() + ".tmp"));
}
}  // namespace

TEST(Import, SharedMixtralTraceCountsDroppedTokensAndFamilies) {
  if (!fs::exists(kMixtral)) GTEST_SKIP() << "shared traces absent (" << kMixtral << ")";
  auto dir = tmp_dir();
  std::string out = (dir / "mixtral.h5").string();
  ImportOptions opt;
  opt.format = "jsonl-topk";
  opt.model = "mixtral-8x7b";
  auto s = import_trace({kMixtral}, out, opt);
  EXPECT_EQ(s.records, 7889);
  // 247 (problem, token) pairs; 3 lack a record at some layer (245 to 247 records per layer).
  EXPECT_EQ(s.tokens + s.dropped_tokens, 247);
  EXPECT_EQ(s.dropped_tokens, 3);
  EXPECT_EQ(s.tokens * 32 + 81, 7889) << "kept tokens hold every layer; dropped ones the rest";
  EXPECT_EQ(s.requests, 2);
  EXPECT_EQ(s.family_names, (std::vector<std::string>{"gsm8k"}));
  EXPECT_EQ(s.num_layers, 32);
  EXPECT_EQ(s.num_experts, 8);
  EXPECT_EQ(s.top_k, 2);
  TraceReader r(out);
  EXPECT_EQ(r.header().dropped_tokens, 3);
  EXPECT_EQ(r.header().num_requests, 2);
  EXPECT_EQ(r.header().source_sha256.size(), 64u);
  auto t = r.read_range(0, r.num_tokens());
  EXPECT_NO_THROW(t.validate("mixtral"));
  // First record of the file: problem 0, token 0, layer 0 -> experts [7, 0].
  EXPECT_EQ(t.meta(0).request_id, 0);
  EXPECT_EQ(t.meta(0).position, 0);
  EXPECT_EQ(t.experts(0, 0)[0], 7);
  EXPECT_EQ(t.experts(0, 0)[1], 0);
  EXPECT_NEAR(t.weights(0, 0)[0], 0.80038, 1e-4);
  fs::remove_all(dir);
}

TEST(Import, SharedLlamaCoactivationIsStatisticsOnly) {
  if (!fs::exists(kLlamaCoact)) GTEST_SKIP() << "shared traces absent (" << kLlamaCoact << ")";
  auto dir = tmp_dir();
  std::string out = (dir / "coact.h5").string();
  ImportOptions opt;
  opt.format = "coact-csv";
  opt.model = "llama-moe-3.5b";
  import_trace({kLlamaCoact}, out, opt);
  TraceReader r(out);
  EXPECT_TRUE(r.header().statistics_only);
  auto st = r.statistics(32);
  // Row "0,0,3,15105" of the file.
  EXPECT_EQ(st.layer(0).coact_at(0, 3, 8), 15105.0f);
  EXPECT_EQ(st.layer(0).coact_at(3, 0, 8), 15105.0f);
  // Top-2: each token contributes one pair, so load sums to twice the pair count.
  double pairs = 0, load = 0;
  for (int i = 0; i < 8; ++i) {
    load += st.layer(5).load[i];
    for (int j = i + 1; j < 8; ++j) pairs += st.layer(5).coact_at(i, j, 8);
  }
  EXPECT_DOUBLE_EQ(load, 2 * pairs);
  fs::remove_all(dir);
}

TEST(Import, EveryFormatRoundTrips) {
  auto dir = tmp_dir();
  std::string orig = make_trace(dir);
  // jsonl-topk (with the phase field named) and csv: tokens round-trip exactly.
  export_trace(orig, "jsonl-topk", (dir / "t.jsonl").string());
  ImportOptions j;
  j.format = "jsonl-topk";
  j.fields["phase"] = "phase";
  j.num_experts = 16;
  import_trace({(dir / "t.jsonl").string()}, (dir / "from_jsonl.h5").string(), j);
  expect_same_trace(orig, (dir / "from_jsonl.h5").string());

  export_trace(orig, "csv", (dir / "t.csv").string());
  ImportOptions c;
  c.format = "csv";
  c.num_experts = 16;
  import_trace({(dir / "t.csv").string()}, (dir / "from_csv.h5").string(), c);
  expect_same_trace(orig, (dir / "from_csv.h5").string());

  // coact-csv: the statistics round-trip (loads derived from pairs for top-2).
  export_trace(orig, "coact-csv", (dir / "c.csv").string());
  ImportOptions s;
  s.format = "coact-csv";
  s.num_experts = 16;
  s.num_layers = 3;
  s.top_k = 2;
  import_trace({(dir / "c.csv").string()}, (dir / "from_coact.h5").string(), s);
  auto want = TraceReader(orig).statistics(3),
       got = TraceReader((dir / "from_coact.h5").string()).statistics(3);
  for (int l = 0; l < 3; ++l) {
    EXPECT_EQ(got.layer(l).coact, want.layer(l).coact);
    EXPECT_EQ(got.layer(l).load, want.layer(l).load);
  }
  fs::remove_all(dir);
}

TEST(Import, BadJsonlIsOneLineWithFileAndLine) {
  auto dir = tmp_dir();
  auto f = (dir / "bad.jsonl").string();
  const std::string ok =
      R"({"dataset": "d", "problem_id": 0, "layer": 0, "experts": [1, 2], "gating_probs": [0.6, 0.4], "token_idx": 0})";
  write(f, ok + "\n{not json\n");
  expect_bad({f}, "jsonl-topk", "bad.jsonl:2", "expected one JSON object per line");
  write(
      f,
      ok + "\n" +
          R"({"dataset": "d", "problem_id": 0, "layer": 1, "gating_probs": [0.6, 0.4], "token_idx": 0})" +
          "\n");
  expect_bad({f}, "jsonl-topk", "bad.jsonl:2", "field missing: 'experts'");
  write(
      f,
      R"({"dataset": "d", "problem_id": 0, "layer": 0, "experts": [1, 2], "gating_probs": [0.6, 0.4], "token_pos": 0})"
      "\n");
  expect_bad({f}, "jsonl-topk", "bad.jsonl:1", "field missing: 'token_idx'");
  write(
      f,
      R"({"dataset": "d", "problem_id": 0, "layer": -1, "experts": [1, 2], "gating_probs": [0.6, 0.4], "token_idx": 0})"
      "\n");
  expect_bad({f}, "jsonl-topk", "bad.jsonl:1", "field 'layer'");
  write(
      f,
      R"({"dataset": "d", "problem_id": 0, "layer": 0, "experts": [1, 1], "gating_probs": [0.6, 0.4], "token_idx": 0})"
      "\n");
  expect_bad({f}, "jsonl-topk", "bad.jsonl:1", "repeated");
  write(
      f,
      R"({"dataset": "d", "problem_id": 0, "layer": 0, "experts": [1, 2], "gating_probs": [0.6], "token_idx": 0})"
      "\n");
  expect_bad({f}, "jsonl-topk", "bad.jsonl:1", "field 'gating_probs'");
  write(f, ok + "\n" + ok + "\n");
  expect_bad({f}, "jsonl-topk", "bad.jsonl:2", "second record");
  write(
      f,
      ok + "\n" +
          R"({"dataset": "d", "problem_id": 0, "layer": 1, "experts": [1, 2, 3], "gating_probs": [0.6, 0.3, 0.1], "token_idx": 0})"
          "\n");
  expect_bad({f}, "jsonl-topk", "bad.jsonl:2", "expected top-2");
  fs::remove_all(dir);
}

TEST(Import, BadCsvIsOneLineWithFileAndLine) {
  auto dir = tmp_dir();
  auto f = (dir / "bad.csv").string();
  write(f, "request,token,layer,expert_0,expert_1\n0,0,0,1,2\n0,1,0,1\n");
  expect_bad({f}, "csv", "bad.csv:3", "expected 5 comma-separated cells");
  write(f, "request,token,expert_0\n0,0,1\n");
  expect_bad({f}, "csv", "bad.csv:1", "column missing: 'layer'");
  write(f, "request,token,layer,expert_0,expert_1\n0,0,zero,1,2\n");
  expect_bad({f}, "csv", "bad.csv:2", "column 'layer'");
  write(f, "request,token,layer,expert_0,expert_1,weight_0,weight_1\n0,0,0,1,2,0.5,x\n");
  expect_bad({f}, "csv", "bad.csv:2", "column 'weight_1'");
  write(f, "");
  expect_bad({f}, "csv", "bad.csv:1", "header");
  fs::remove_all(dir);
}

TEST(Import, BadCoactivationCsvIsOneLineWithFileAndLine) {
  auto dir = tmp_dir();
  auto f = (dir / "bad.csv").string();
  write(f, "layer,expert_i,expert_j,count\n0,0,1,5\n0,1,0,6\n");
  expect_bad({f}, "coact-csv", "bad.csv:3", "symmetric");
  write(f, "layer,expert_i,expert_j,count\n0,2,2,5\n");
  expect_bad({f}, "coact-csv", "bad.csv:2", "diagonal");
  write(f, "layer,expert_i,count\n0,2,5\n");
  expect_bad({f}, "coact-csv", "bad.csv:1", "column 'expert_j' missing");
  write(f, "layer,expert_i,expert_j,count\n0,1,2,-3\n");
  expect_bad({f}, "coact-csv", "bad.csv:2", "count");
  write(f, "layer,expert_i,expert_j,count\n0,1,2\n");
  expect_bad({f}, "coact-csv", "bad.csv:2", "expected 4 comma-separated cells");
  fs::remove_all(dir);
}

TEST(Import, IncompleteTokensAreDroppedAndCounted) {
  auto dir = tmp_dir();
  auto f = (dir / "t.csv").string();
  // Token 1 lacks layer 1: dropped; tokens 0 and 2 kept.
  write(f,
        "request,token,layer,expert_0,expert_1\n"
        "7,0,0,1,2\n7,0,1,3,4\n7,1,0,1,2\n7,2,0,0,1\n7,2,1,5,6\n");
  ImportOptions opt;
  opt.format = "csv";
  auto s = import_trace({f}, (dir / "t.h5").string(), opt);
  EXPECT_EQ(s.tokens, 2);
  EXPECT_EQ(s.dropped_tokens, 1);
  TraceReader r((dir / "t.h5").string());
  EXPECT_EQ(r.header().dropped_tokens, 1);
  EXPECT_EQ(r.metas()[1].position, 2);
  // Equal weights when the CSV has none.
  EXPECT_FLOAT_EQ(r.read_range(0, 1).weights(0, 0)[0], 0.5f);
  fs::remove_all(dir);
}

TEST(Import, CommandLineRejectsBadInputWithExitCodeTwo) {
  const fs::path bin = fs::path(MOEB_BINARY_DIR) / "bin" / "moebench";
  if (!fs::exists(bin)) GTEST_SKIP() << "moebench not built (" << bin << ")";
  auto dir = tmp_dir();
  write(dir / "bad.csv", "request,token,layer,expert_0\n0,0,0,x\n");
  const std::string cmd = bin.string() + " trace import --format csv " +
                          (dir / "bad.csv").string() + " -o " + (dir / "out.h5").string() + " > " +
                          (dir / "log").string() + " 2>&1";
  int rc = std::system(cmd.c_str());
  ASSERT_TRUE(WIFEXITED(rc));
  EXPECT_EQ(WEXITSTATUS(rc), 2);
  std::ifstream in(dir / "log");
  std::string line, all;
  int lines = 0;
  while (std::getline(in, line)) {
    ++lines;
    all += line;
  }
  EXPECT_EQ(lines, 1) << all;
  EXPECT_NE(all.find("bad.csv:2"), std::string::npos) << all;
  EXPECT_FALSE(fs::exists(dir / "out.h5"));
  fs::remove_all(dir);
}
