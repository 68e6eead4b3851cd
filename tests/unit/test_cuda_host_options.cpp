// Options of the CUDA backend read from the environment (runtime/cuda/cuda_options).
#include <gtest/gtest.h>

#include <map>
#include <string>

#include "core/error.hpp"
#include "runtime/cuda/cuda_options.hpp"

namespace moeb::cuda {
namespace {

struct FakeEnv {
  std::map<std::string, std::string> vars;
  std::function<const char*(const char*)> fn() {
    return [this](const char* n) -> const char* {
      auto it = vars.find(n);
      return it == vars.end() ? nullptr : it->second.c_str();
    };
  }
};

TEST(CudaHostOptions, DefaultsWhenUnset) {
  FakeEnv env;
  const CudaBackendOptions o = cuda_options_from_env(env.fn());
  EXPECT_EQ(o.gemm, GemmMode::kGrouped);
  EXPECT_FALSE(o.l2_flush);
  EXPECT_FALSE(o.exchange_counts);
}

TEST(CudaHostOptions, ReadsEveryVariable) {
  FakeEnv env;
  env.vars = {{"MOEB_CUDA_GEMM", "loop"},
              {"MOEB_CUDA_L2_FLUSH", "1"},
              {"MOEB_CUDA_EXCHANGE_COUNTS", "true"}};
  const CudaBackendOptions o = cuda_options_from_env(env.fn());
  EXPECT_EQ(o.gemm, GemmMode::kLoop);
  EXPECT_STREQ(gemm_mode_name(o.gemm), "loop");
  EXPECT_TRUE(o.l2_flush);
  EXPECT_TRUE(o.exchange_counts);
}

TEST(CudaHostOptions, BadValuesNameTheVariable) {
  FakeEnv env;
  env.vars = {{"MOEB_CUDA_GEMM", "cutlass"}};
  try {
    cuda_options_from_env(env.fn());
    FAIL() << "expected ConfigError";
  } catch (const ConfigError& e) {
    EXPECT_EQ(std::string(e.what()), "MOEB_CUDA_GEMM=\"cutlass\": expected grouped or loop");
  }
  env.vars = {{"MOEB_CUDA_L2_FLUSH", "yes please"}};
  try {
    cuda_options_from_env(env.fn());
    FAIL() << "expected ConfigError";
  } catch (const ConfigError& e) {
    EXPECT_EQ(std::string(e.what()), "MOEB_CUDA_L2_FLUSH=\"yes please\": expected 0 or 1");
  }
}

}  // namespace
}  // namespace moeb::cuda
