#include <gtest/gtest.h>

#include <cmath>

#include "core/error.hpp"
#include "core/metrics.hpp"
#include "core/options.hpp"

using namespace moeb;

namespace {
std::vector<OptionSpec> spec() {
  return {{"family_boost", OptionType::kFloat, 2.0, "boost", {}, 0.0, 100.0},
          {"policy", OptionType::kString, std::string("global"), "policy", {"global", "hierarchical"}},
          {"replicas", OptionType::kInt, int64_t{1}, "count", {}, 0, 64},
          {"gesr", OptionType::kBool, true, "on", {}}};
}
}  // namespace

TEST(Options, DefaultsFilledAndIntAcceptedAsFloat) {
  auto o = resolve_options(spec(), {{"family_boost", int64_t{3}}}, "s.toml: [strategy.x]");
  EXPECT_DOUBLE_EQ(o.get_float("family_boost"), 3.0);
  EXPECT_EQ(o.get_string("policy"), "global");
  EXPECT_EQ(o.get_int("replicas"), 1);
  EXPECT_TRUE(o.get_bool("gesr"));
}

TEST(Options, UnknownOptionNamesWhereAndKnownOnes) {
  try {
    resolve_options(spec(), {{"boost", 1.0}}, "s.toml: [strategy.x]");
    FAIL();
  } catch (const ConfigError& e) {
    std::string w = e.what();
    EXPECT_NE(w.find("s.toml: [strategy.x]"), std::string::npos);
    EXPECT_NE(w.find("unknown option 'boost'"), std::string::npos);
    EXPECT_NE(w.find("family_boost"), std::string::npos);
  }
}

TEST(Options, WrongTypeChoiceAndBoundsRejected) {
  EXPECT_THROW(resolve_options(spec(), {{"gesr", int64_t{1}}}, "w"), ConfigError);
  EXPECT_THROW(resolve_options(spec(), {{"policy", std::string("local")}}, "w"), ConfigError);
  EXPECT_THROW(resolve_options(spec(), {{"replicas", int64_t{65}}}, "w"), ConfigError);
}

TEST(Metrics, JainIndexMatchesDefinition) {
  std::vector<double> equal{3, 3, 3, 3};
  EXPECT_DOUBLE_EQ(jain_index(equal), 1.0);
  std::vector<double> one{4, 0, 0, 0};
  EXPECT_DOUBLE_EQ(jain_index(one), 0.25);
  std::vector<double> x{1, 2, 3};
  EXPECT_DOUBLE_EQ(jain_index(x), 36.0 / (3 * 14.0));
}

TEST(Metrics, BalancednessIsMeanOverMax) {
  std::vector<double> x{1, 2, 3, 6};
  EXPECT_DOUBLE_EQ(balancedness(x), 3.0 / 6.0);
  std::vector<double> z{0, 0};
  EXPECT_DOUBLE_EQ(balancedness(z), 1.0);
}

TEST(Metrics, PercentileInterpolatesLinearly) {
  std::vector<double> x{4, 1, 3, 2};
  EXPECT_DOUBLE_EQ(percentile(x, 0), 1.0);
  EXPECT_DOUBLE_EQ(percentile(x, 100), 4.0);
  EXPECT_DOUBLE_EQ(median(x), 2.5);
  EXPECT_NEAR(percentile(x, 99), 3.97, 1e-12);  // pos 2.97 between 3 and 4
  EXPECT_TRUE(std::isnan(percentile({}, 50)));
}
