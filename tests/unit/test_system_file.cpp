// System files: presets load, strict keys give one-line errors, calibrate's writer round-trips.
#include <gtest/gtest.h>

#include <cstdlib>
#include <string>

#include "core/error.hpp"
#include "io/system_file.hpp"

using namespace moeb;

namespace {

const std::string kSystemsDir = std::string(MOEB_SOURCE_DIR) + "/suites/systems";

const char* kMinimal = R"(name = "t"
[intra]
alpha_s = 1e-6
bandwidth_Bps = 1e9
[inter]
alpha_s = 2e-6
bandwidth_Bps = 1e8
[device]
flops = 1e12
mem_bandwidth_Bps = 1e11
act_dtype_bytes = 2
)";

std::string error_of(const std::string& text) {
  try {
    parse_system_toml(text, "sys.toml");
  } catch (const ConfigError& e) {
    return e.what();
  }
  return "";
}

}  // namespace

TEST(SystemFile, EveryPresetLoadsWithSaneFigures) {
  setenv("MOEB_SYSTEMS_DIR", kSystemsDir.c_str(), 1);
  const auto names = system_preset_names();
  for (const char* n : {"h100-ndr400", "a100-hdr200", "pcie5-roce100", "a100-25gbe", "loopback"})
    EXPECT_NE(std::find(names.begin(), names.end(), n), names.end()) << n;
  for (const auto& n : names) {
    const SystemModel s = find_system(n);
    EXPECT_EQ(s.name, n) << "a preset's name matches its file name";
    EXPECT_GT(s.intra.bandwidth_Bps, 0);
    EXPECT_GT(s.device.flops, 0);
  }
  const SystemModel h = find_system("h100-ndr400");
  EXPECT_DOUBLE_EQ(h.inter.bandwidth_Bps, 50e9);   // 400 Gb/s
  EXPECT_DOUBLE_EQ(h.intra.bandwidth_Bps, 450e9);  // NVLink4 per direction
  EXPECT_EQ(h.device.act_dtype_bytes, 2);
  EXPECT_TRUE(h.overlap_intra_inter);
  const SystemModel g = find_system("a100-25gbe");
  EXPECT_DOUBLE_EQ(g.inter.node_bandwidth_Bps, 3.125e9);  // one 25 GbE NIC per node
  EXPECT_LT(g.inter.bandwidth_Bps, find_system("a100-hdr200").inter.bandwidth_Bps);
}

TEST(SystemFile, FindsByPathAndListsPresetsForUnknownNames) {
  setenv("MOEB_SYSTEMS_DIR", kSystemsDir.c_str(), 1);
  const SystemModel s = find_system(kSystemsDir + "/a100-hdr200.toml");
  EXPECT_EQ(s.name, "a100-hdr200");
  EXPECT_EQ(s.source, kSystemsDir + "/a100-hdr200.toml");
  try {
    find_system("no-such-system");
    FAIL() << "expected ConfigError";
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("h100-ndr400"), std::string::npos) << e.what();
  }
  EXPECT_THROW(find_system("/nonexistent/x.toml"), ConfigError);
}

TEST(SystemFile, MinimalFileTakesDefaults) {
  const SystemModel s = parse_system_toml(kMinimal, "sys.toml");
  EXPECT_EQ(s.name, "t");
  EXPECT_DOUBLE_EQ(s.inter.alpha_s, 2e-6);
  EXPECT_EQ(s.device.weight_dtype_bytes, 2);
  EXPECT_EQ(s.device.gate_s_per_token, 0);
  EXPECT_TRUE(s.overlap_intra_inter);
  EXPECT_TRUE(s.model_permute);
  EXPECT_EQ(s.inter.node_bandwidth_Bps, 0);
}

TEST(SystemFile, UnknownKeyNamesFileLineAndKey) {
  const std::string e = error_of(std::string(kMinimal) + "bandwith = 3\n");
  EXPECT_NE(e.find("sys.toml:12"), std::string::npos) << e;
  EXPECT_NE(e.find("device.bandwith"), std::string::npos) << e;
  const std::string t = error_of(std::string(kMinimal) + "[links]\nx = 1\n");
  EXPECT_NE(t.find("'links'"), std::string::npos) << t;
}

TEST(SystemFile, MissingKeyWrongTypeAndBadValueAreOneLineErrors) {
  std::string text = kMinimal;
  std::string no_bw = text;
  no_bw.erase(no_bw.find("bandwidth_Bps = 1e8\n"), 20);
  std::string e = error_of(no_bw);
  EXPECT_NE(e.find("inter.bandwidth_Bps"), std::string::npos) << e;
  EXPECT_NE(e.find("missing"), std::string::npos) << e;

  std::string wrong = text;
  wrong.replace(wrong.find("alpha_s = 1e-6"), 14, "alpha_s = \"fast\"");
  e = error_of(wrong);
  EXPECT_NE(e.find("sys.toml:3"), std::string::npos) << e;
  EXPECT_NE(e.find("expected a number"), std::string::npos) << e;

  std::string neg = text;
  neg.replace(neg.find("flops = 1e12"), 12, "flops = -1.0");
  e = error_of(neg);
  EXPECT_NE(e.find("device.flops"), std::string::npos) << e;

  e = error_of("name = \"t\"\n[intra\n");
  EXPECT_NE(e.find("sys.toml:2"), std::string::npos) << e;
  EXPECT_EQ(e.find('\n'), std::string::npos) << "one line";
}

TEST(SystemFile, WriterRoundTrips) {
  SystemModel s = parse_system_toml(kMinimal, "sys.toml");
  s.name = "calibrated \"box\"";
  s.description = "two ranks";
  s.intra = {1.234567891e-6, 9.87654321e9, 0};
  s.inter = {2.5e-5, 1.1e9, 3.3e9};
  s.device.flops = 4.56789e10;
  s.device.flops_dtype = "fp32";
  s.device.act_dtype = "fp32";
  s.device.act_dtype_bytes = 4;
  s.device.weight_dtype_bytes = 4;
  s.device.gate_s_per_token = 1e-9;
  s.overlap_intra_inter = false;
  const std::string text =
      format_system_toml(s, {"measured by a test"}, {{"intra.alpha_s", "fit of 10 sizes"}});
  EXPECT_NE(text.find("# measured by a test"), std::string::npos);
  EXPECT_NE(text.find("# fit of 10 sizes"), std::string::npos);
  const SystemModel r = parse_system_toml(text, "round.toml");
  EXPECT_EQ(r.name, s.name);
  EXPECT_EQ(r.description, s.description);
  EXPECT_NEAR(r.intra.alpha_s, s.intra.alpha_s, 1e-15);
  EXPECT_NEAR(r.intra.bandwidth_Bps, s.intra.bandwidth_Bps, 1);
  EXPECT_NEAR(r.inter.node_bandwidth_Bps, 3.3e9, 1);
  EXPECT_NEAR(r.device.flops, s.device.flops, 1);
  EXPECT_EQ(r.device.act_dtype_bytes, 4);
  EXPECT_EQ(r.device.flops_dtype, "fp32");
  EXPECT_FALSE(r.overlap_intra_inter);
  EXPECT_NEAR(r.device.gate_s_per_token, 1e-9, 1e-20);
}
