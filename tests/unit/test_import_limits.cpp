// Boundary validation of imports (issue 17): every value read from JSONL, CSV and co-activation
// CSV is checked against the model and the documented limits (results_schema/TRACE.md, Limits)
// before it indexes or sizes anything, with one line naming input and line.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <string>

#include <unistd.h>

#include "core/error.hpp"
#include "workload/importers.hpp"

using namespace moeb;
namespace fs = std::filesystem;

namespace {

// import_from_text must throw one line starting with `where` and containing `what`.
void expect_bad(const std::string& text, const std::string& format, const std::string& where,
                const std::string& what, ImportOptions opt = {}) {
  opt.format = format;
  try {
    import_from_text({{"in", text}}, opt);
    ADD_FAILURE() << "no error for " << what << " in:\n" << text;
  } catch (const InputError& e) {
    const std::string m = e.what();
    EXPECT_EQ(m.find('\n'), std::string::npos) << m;
    EXPECT_EQ(m.rfind(where, 0), 0u) << where << " first in: " << m;
    EXPECT_NE(m.find(what), std::string::npos) << what << " in: " << m;
  }
}

std::string jsonl(const std::string& layer, const std::string& experts,
                  const std::string& weights = "[0.6, 0.4]") {
  return R"({"problem_id": 0, "token_idx": 0, "layer": )" + layer + R"(, "experts": )" + experts +
         R"(, "gating_probs": )" + weights + "}\n";
}

const std::string kCsvHead = "request,token,layer,expert_0,expert_1\n";

}  // namespace

TEST(ImportLimits, LayerIdsBeyondTheLimitAreRefusedNotIndexed) {
  for (const char* layer : {"2147483648", "4294967295", "4096", "9223372036854775807"})
    expect_bad(jsonl(layer, "[1, 2]"), "jsonl-topk", "in:1", "field 'layer': ");
  expect_bad(jsonl("18446744073709551615", "[1, 2]"), "jsonl-topk", "in:1", "too large");
  expect_bad(jsonl("-1", "[1, 2]"), "jsonl-topk", "in:1", "non-negative");
  expect_bad(jsonl("1.5", "[1, 2]"), "jsonl-topk", "in:1", "expected a non-negative integer");
  expect_bad(kCsvHead + "0,0,4294967295,1,2\n", "csv", "in:2", "column 'layer'");
  expect_bad(kCsvHead + "0,0,2147483648,1,2\n", "csv", "in:2", "is too large");
}

TEST(ImportLimits, ExpertIdsAreParsedStrictlyAndRangeChecked) {
  // 4294967295 must not import as -1, nor 4294967297 as 1.
  expect_bad(kCsvHead + "0,0,0,4294967295,2\n", "csv", "in:2", "4294967295 is too large");
  expect_bad(kCsvHead + "0,0,0,4294967297,2\n", "csv", "in:2", "4294967297 is too large");
  expect_bad(kCsvHead + "0,0,0,-1,2\n", "csv", "in:2", "expected a non-negative integer");
  expect_bad(kCsvHead + "0,0,0,+1,2\n", "csv", "in:2", "expected a non-negative integer");
  expect_bad(kCsvHead + "0,0,0,1e3,2\n", "csv", "in:2", "expected a non-negative integer");
  expect_bad(kCsvHead + "0,0,0,99999999999999999999999,2\n", "csv", "in:2", "too large");
  expect_bad(jsonl("0", "[2147483647, 1]"), "jsonl-topk", "in:1", "2147483647 is too large");
  expect_bad(jsonl("0", "[65536, 1]"), "jsonl-topk", "in:1", "at most 65536 experts");
  // Within the limits but outside the model's experts.
  ImportOptions opt;
  opt.model = "mixtral-8x7b";
  expect_bad(jsonl("0", "[8, 1]"), "jsonl-topk", "in:1", "expert id 8 outside [0, 8)", opt);
  opt = {};
  opt.num_experts = 4;
  expect_bad(kCsvHead + "0,0,0,3,4\n", "csv", "in:2", "expert id 4 outside [0, 4)", opt);
}

TEST(ImportLimits, RepeatedExpertsAndBadWeightsAreRefused) {
  expect_bad(jsonl("0", "[3, 3]"), "jsonl-topk", "in:1", "expert 3 repeated in one top-k");
  expect_bad(kCsvHead + "0,0,0,5,5\n", "csv", "in:2", "expert 5 repeated");
  expect_bad(jsonl("0", "[1, 2]", "[0.5, -0.1]"), "jsonl-topk", "in:1", "finite gate weights >= 0");
  expect_bad(jsonl("0", "[1, 2]", "[0.5, \"x\"]"), "jsonl-topk", "in:1", "gate weights");
  expect_bad(jsonl("0", "[1, 2]", "[0.5, 1e300]"), "jsonl-topk", "in:1", "gate weights");
  const std::string head = "request,token,layer,expert_0,expert_1,weight_0,weight_1\n";
  expect_bad(head + "0,0,0,1,2,0.5,nan\n", "csv", "in:2", "column 'weight_1'");
  expect_bad(head + "0,0,0,1,2,0.5,inf\n", "csv", "in:2", "column 'weight_1'");
  expect_bad(head + "0,0,0,1,2,-0.5,0.5\n", "csv", "in:2", "column 'weight_0'");
}

TEST(ImportLimits, ShapeOptionsBeyondTheLimitsAreRefused) {
  ImportOptions opt;
  opt.num_layers = 1000000000;
  expect_bad(kCsvHead + "0,0,0,1,2\n", "csv", "trace import", "--layers 1000000000 is too large",
             opt);
  opt = {};
  opt.num_experts = 100000;
  expect_bad(kCsvHead + "0,0,0,1,2\n", "csv", "trace import", "--experts 100000 is too large", opt);
  opt = {};
  opt.num_layers = -3;
  expect_bad(kCsvHead + "0,0,0,1,2\n", "csv", "trace import", "--layers", opt);
  // A large --layers within the limit: every token lacks layers, nothing allocated per layer.
  opt = {};
  opt.num_layers = 4096;
  expect_bad(kCsvHead + "0,0,0,1,2\n", "csv", "in", "every token lacks a record", opt);
}

TEST(ImportLimits, CoactivationSizesAreBoundedBeforeAllocating) {
  const std::string head = "layer,expert_i,expert_j,count\n";
  expect_bad(head + "0,0,1,5\n0,100000,1,5\n", "coact-csv", "in:3", "100000 is too large");
  expect_bad(head + "0,4294967295,1,5\n", "coact-csv", "in:2", "is too large");
  expect_bad(head + "4294967295,0,1,5\n", "coact-csv", "in:2", "column 'layer'");
  // 20000 experts x 20000 x 1 layer = 4e8 cells: above 2^26.
  expect_bad(head + "0,0,19999,5\n", "coact-csv", "in:2", "are too large (at most 2^26 cells");
  expect_bad(head + "0,0,1,nan\n", "coact-csv", "in:2", "column 'count'");
  expect_bad(head + "0,0,1,-1\n", "coact-csv", "in:2", "column 'count'");
  ImportOptions opt;
  opt.num_experts = 4;
  expect_bad(head + "0,0,7,5\n", "coact-csv", "in:2", "expert 7 outside [0, 4)", opt);
}

TEST(ImportLimits, TopKAboveTheLimitIsRefused) {
  std::string ids = "[", w = "[";
  for (int i = 0; i < 1025; ++i) {
    ids += (i ? "," : "") + std::to_string(i);
    w += (i ? ",0.001" : "0.001");
  }
  expect_bad(jsonl("0", ids + "]", w + "]"), "jsonl-topk", "in:1", "too many");
}

TEST(ImportLimits, NothingIsWrittenOnRefusal) {
  const fs::path dir =
      fs::temp_directory_path() / ("moeb_test_import_limits_" + std::to_string(::getpid()));
  fs::remove_all(dir);
  fs::create_directories(dir);
  std::ofstream(dir / "bad.csv") << kCsvHead << "0,0,0,1,2\n0,0,1,4294967297,2\n";
  ImportOptions opt;
  opt.format = "csv";
  EXPECT_THROW(import_trace({(dir / "bad.csv").string()}, (dir / "o.h5").string(), opt),
               InputError);
  EXPECT_FALSE(fs::exists(dir / "o.h5"));
  EXPECT_FALSE(fs::exists(dir / "o.h5.tmp"));
  fs::remove_all(dir);
}
