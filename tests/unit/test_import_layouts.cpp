// Import layouts and user experience: the per-token JSON layout and a field map import the same
// trace as the default layout (the shared Mixtral trace and planted files), experts are sorted
// by gate weight, every missing field is named at once with its option, and a format that looks
// like another gets a suggestion.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>

#include "core/error.hpp"
#include "workload/importers.hpp"
#include "workload/trace_file.hpp"

using namespace moeb;
namespace fs = std::filesystem;
using nlohmann::json;

namespace {
const std::string kMixtral =
    std::string(MOEB_SHARED_TRACES) + "/mixtral-8x7b/gsm8k_2_routing.jsonl";
const std::string kLlamaCoact =
    std::string(MOEB_SHARED_TRACES) + "/llama-moe-3.5b/base_coactivation.csv";

std::string slurp(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

ImportResult import_text(const std::string& text, const std::string& format,
                         std::map<std::string, std::string> fields = {}) {
  ImportOptions opt;
  opt.format = format;
  opt.fields = std::move(fields);
  return import_from_text({{"in.txt", text}}, opt);
}

void expect_same(const ImportResult& a, const ImportResult& b) {
  EXPECT_EQ(a.summary.tokens, b.summary.tokens);
  EXPECT_EQ(a.summary.dropped_tokens, b.summary.dropped_tokens);
  EXPECT_EQ(a.summary.requests, b.summary.requests);
  EXPECT_EQ(a.header.family_names, b.header.family_names);
  const RoutingTrace &x = a.tokens, &y = b.tokens;
  ASSERT_EQ(x.num_tokens(), y.num_tokens());
  ASSERT_EQ(x.num_layers(), y.num_layers());
  ASSERT_EQ(x.top_k(), y.top_k());
  for (int64_t t = 0; t < x.num_tokens(); ++t) {
    ASSERT_EQ(x.meta(t).request_id, y.meta(t).request_id) << t;
    ASSERT_EQ(x.meta(t).position, y.meta(t).position) << t;
    ASSERT_EQ(x.meta(t).family, y.meta(t).family) << t;
    ASSERT_EQ(x.meta(t).phase, y.meta(t).phase) << t;
    for (int l = 0; l < x.num_layers(); ++l)
      for (int j = 0; j < x.top_k(); ++j) {
        ASSERT_EQ(x.experts(l, t)[j], y.experts(l, t)[j]) << t << " " << l;
        ASSERT_EQ(x.weights(l, t)[j], y.weights(l, t)[j]) << t << " " << l;
      }
  }
}

// The records of a per-layer JSONL text regrouped as one line per token: experts and weights
// one array per layer. Tokens lacking layers name theirs in a "layer" array.
std::string to_per_token(const std::string& text) {
  std::map<std::pair<std::string, int64_t>, std::map<int, json>> toks;
  std::vector<std::pair<std::string, int64_t>> order;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty()) continue;
    json r = json::parse(line);
    auto key = std::make_pair(r["problem_id"].dump(), r["token_idx"].get<int64_t>());
    if (!toks.count(key)) order.push_back(key);
    toks[key][r["layer"].get<int>()] = r;
  }
  std::string out;
  for (const auto& key : order) {
    const auto& layers = toks[key];
    json first = layers.begin()->second;
    json experts = json::array(), weights = json::array(), ids = json::array();
    for (const auto& [l, r] : layers) {
      experts.push_back(r["experts"]);
      weights.push_back(r["gating_probs"]);
      ids.push_back(l);
    }
    json tok = {{"dataset", first["dataset"]},
                {"problem_id", first["problem_id"]},
                {"token_idx", first["token_idx"]},
                {"experts", experts},
                {"gating_probs", weights}};
    const bool complete =
        layers.size() == 32 || layers.rbegin()->first + 1 == static_cast<int>(layers.size());
    if (!complete) tok["layer"] = ids;
    out += tok.dump() + "\n";
  }
  return out;
}

// Field names of a JSONL text renamed (old -> new) on every line.
std::string rename_fields(const std::string& text, const std::map<std::string, std::string>& m) {
  std::string out;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty()) continue;
    json r = json::parse(line), o = json::object();
    for (auto it = r.begin(); it != r.end(); ++it)
      o[m.count(it.key()) ? m.at(it.key()) : it.key()] = it.value();
    out += o.dump() + "\n";
  }
  return out;
}

const char* kPlanted =
    R"({"dataset": "a", "problem_id": 0, "token_idx": 0, "layer": 0, "experts": [3, 1], "gating_probs": [0.7, 0.3]}
{"dataset": "a", "problem_id": 0, "token_idx": 0, "layer": 1, "experts": [0, 2], "gating_probs": [0.6, 0.4]}
{"dataset": "a", "problem_id": 0, "token_idx": 1, "layer": 0, "experts": [1, 3], "gating_probs": [0.5, 0.5]}
{"dataset": "a", "problem_id": 0, "token_idx": 1, "layer": 1, "experts": [2, 0], "gating_probs": [0.9, 0.1]}
{"dataset": "b", "problem_id": "q7", "token_idx": 0, "layer": 1, "experts": [1, 0], "gating_probs": [0.8, 0.2]}
{"dataset": "b", "problem_id": "q7", "token_idx": 0, "layer": 0, "experts": [3, 2], "gating_probs": [0.55, 0.45]}
{"dataset": "b", "problem_id": "q7", "token_idx": 1, "layer": 0, "experts": [0, 1], "gating_probs": [0.6, 0.4]}
)";

}  // namespace

TEST(ImportLayouts, PerTokenAndFieldMapEqualDefaultOnPlantedFile) {
  const ImportResult base = import_text(kPlanted, "jsonl-topk");
  EXPECT_EQ(base.summary.tokens, 3);
  EXPECT_EQ(base.summary.dropped_tokens, 1);  // q7 token 1 lacks layer 1
  expect_same(base, import_text(to_per_token(kPlanted), "jsonl-topk"));
  const std::map<std::string, std::string> names = {{"problem_id", "req"},     {"token_idx", "pos"},
                                                    {"layer", "lyr"},          {"experts", "ids"},
                                                    {"gating_probs", "probs"}, {"dataset", "task"}};
  expect_same(base, import_text(rename_fields(kPlanted, names), "jsonl-topk",
                                parse_field_map("request=req,token=pos,layer=lyr,experts=ids,"
                                                "weights=probs,family=task")));
}

TEST(ImportLayouts, CsvFieldMapEqualsDefaultColumns) {
  const std::string def =
      "request,token,layer,expert_0,expert_1,weight_0,weight_1\n"
      "0,0,0,1,2,0.6,0.4\n0,0,1,3,0,0.7,0.3\n1,0,0,2,3,0.5,0.5\n1,0,1,0,1,0.9,0.1\n";
  const std::string mapped =
      "r,pos,l,e0,e1,p0,p1\n"
      "0,0,0,1,2,0.6,0.4\n0,0,1,3,0,0.7,0.3\n1,0,0,2,3,0.5,0.5\n1,0,1,0,1,0.9,0.1\n";
  expect_same(import_text(def, "csv"),
              import_text(mapped, "csv",
                          parse_field_map("request=r,token=pos,layer=l,experts=e,weights=p")));
}

TEST(ImportLayouts, SharedMixtralPerTokenAndFieldMapEqualDefault) {
  if (!fs::exists(kMixtral)) GTEST_SKIP() << "shared traces absent (" << kMixtral << ")";
  const std::string text = slurp(kMixtral);
  const ImportResult base = import_text(text, "jsonl-topk");
  EXPECT_EQ(base.summary.tokens, 244);
  EXPECT_EQ(base.summary.dropped_tokens, 3);
  const ImportResult per_token = import_text(to_per_token(text), "jsonl-topk");
  EXPECT_EQ(per_token.summary.records, base.summary.records);
  expect_same(base, per_token);
  const std::string renamed = rename_fields(
      text,
      {{"problem_id", "conversation"}, {"token_idx", "token_pos"}, {"gating_probs", "probs"}});
  expect_same(base,
              import_text(renamed, "jsonl-topk",
                          parse_field_map("request=conversation,token=token_pos,weights=probs")));
}

TEST(ImportLayouts, ExpertsAreSortedByGateWeightDescending) {
  const ImportResult r = import_text(
      R"({"problem_id": 0, "token_idx": 0, "layer": 0, "experts": [1, 5, 2], "gating_probs": [0.1, 0.3, 0.6]})"
      "\n",
      "jsonl-topk");
  auto e = r.tokens.experts(0, 0);
  auto w = r.tokens.weights(0, 0);
  EXPECT_EQ(std::vector<int32_t>(e.begin(), e.end()), (std::vector<int32_t>{2, 5, 1}));
  EXPECT_EQ(std::vector<float>(w.begin(), w.end()), (std::vector<float>{0.6f, 0.3f, 0.1f}));
  // Ties keep the given order; CSV rows are sorted the same way.
  const ImportResult c = import_text(
      "request,token,layer,expert_0,expert_1,expert_2,weight_0,weight_1,weight_2\n"
      "0,0,0,4,7,1,0.2,0.4,0.4\n",
      "csv");
  auto ce = c.tokens.experts(0, 0);
  EXPECT_EQ(std::vector<int32_t>(ce.begin(), ce.end()), (std::vector<int32_t>{7, 1, 4}));
}

TEST(ImportLayouts, EveryMissingFieldIsNamedWithItsOption) {
  try {
    import_text(
        R"({"dataset": "d", "problem_id": 0, "layer": 0, "experts": [1, 2], "token_pos": 0})"
        "\n",
        "jsonl-topk");
    FAIL() << "no error";
  } catch (const InputError& e) {
    const std::string m = e.what();
    EXPECT_NE(m.find("in.txt:1: fields missing"), std::string::npos) << m;
    EXPECT_NE(m.find("'token_idx'"), std::string::npos) << m;
    EXPECT_NE(m.find("--fields token=NAME"), std::string::npos) << m;
    EXPECT_NE(m.find("'gating_probs'"), std::string::npos) << m;
    EXPECT_NE(m.find("--fields weights=NAME"), std::string::npos) << m;
    EXPECT_NE(m.find("token_pos"), std::string::npos) << "lists the fields present: " << m;
    EXPECT_EQ(m.find('\n'), std::string::npos) << m;
  }
  try {
    import_text("req,pos,expert_0\n0,0,1\n", "csv");
    FAIL() << "no error";
  } catch (const InputError& e) {
    const std::string m = e.what();
    for (const char* want : {"in.txt:1", "'request'", "--fields request=NAME", "'token'",
                             "--fields token=NAME", "'layer'", "--fields layer=NAME"})
      EXPECT_NE(m.find(want), std::string::npos) << want << " in " << m;
  }
}

TEST(ImportLayouts, AFormatThatLooksLikeAnotherGetsASuggestion) {
  auto message = [](const std::string& text, const std::string& format) {
    try {
      import_text(text, format);
    } catch (const InputError& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  EXPECT_NE(message("layer,expert_i,expert_j,count\n0,0,1,5\n", "csv").find("--format coact-csv"),
            std::string::npos);
  EXPECT_NE(message("layer,expert,count\n0,0,5\n", "jsonl-topk").find("--format coact-csv"),
            std::string::npos);
  EXPECT_NE(message(R"({"problem_id": 0})"
                    "\n",
                    "csv")
                .find("--format jsonl-topk"),
            std::string::npos);
  EXPECT_NE(message(R"({"problem_id": 0})"
                    "\n",
                    "coact-csv")
                .find("--format jsonl-topk"),
            std::string::npos);
  EXPECT_NE(message("request,token,layer,expert_0\n0,0,0,1\n", "jsonl-topk").find("--format csv"),
            std::string::npos);
  EXPECT_NE(message("request,token,layer,expert_0\n0,0,0,1\n", "coact-csv").find("--format csv"),
            std::string::npos);
  EXPECT_NE(message("[{\"a\": 1}]\n", "jsonl-topk").find("jq -c"), std::string::npos);
  EXPECT_NE(message("{\n  \"a\": 1\n}\n", "jsonl-topk").find("one object per line"),
            std::string::npos);
  EXPECT_NE(message(std::string("\x89HDF\r\n\x1a\n\0\0", 10), "csv").find("moebench trace info"),
            std::string::npos);
  EXPECT_NE(message(std::string("\x1f\x8b\x08\0", 4), "jsonl-topk").find("gunzip"),
            std::string::npos);
}

TEST(ImportLayouts, SharedLlamaCoactivationAsCsvSuggestsCoactCsv) {
  if (!fs::exists(kLlamaCoact)) GTEST_SKIP() << "shared traces absent (" << kLlamaCoact << ")";
  ImportOptions opt;
  opt.format = "csv";
  try {
    import_trace({kLlamaCoact}, (fs::temp_directory_path() / "moeb_llama_as_csv.h5").string(), opt);
    FAIL() << "no error";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("use --format coact-csv"), std::string::npos) << e.what();
  }
  EXPECT_FALSE(fs::exists(fs::temp_directory_path() / "moeb_llama_as_csv.h5"));
}

TEST(ImportLayouts, FieldMapSyntaxErrorsNameTheKeys) {
  EXPECT_THROW(parse_field_map("request"), InputError);
  EXPECT_THROW(parse_field_map("requests=x"), InputError);
  EXPECT_THROW(parse_field_map("token=a,token=b"), InputError);
  EXPECT_THROW(resolve_fields("jsonl-topk", {{"token", ""}}), InputError);
  EXPECT_EQ(resolve_fields("jsonl-topk", parse_field_map("weights=")).weights, "");
  try {
    parse_field_map("tokn=pos");
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("request, token, layer"), std::string::npos);
  }
}

TEST(ImportLayouts, MissingFileIsReportedAsMissing) {
  ImportOptions opt;
  opt.format = "jsonl-topk";
  try {
    import_trace({"/nonexistent/dir/routing.jsonl"}, "/tmp/moeb_never.h5", opt);
    FAIL() << "no error";
  } catch (const InputError& e) {
    EXPECT_EQ(std::string(e.what()), "/nonexistent/dir/routing.jsonl: no such file");
  }
}
