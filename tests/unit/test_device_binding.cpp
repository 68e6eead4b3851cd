// core/device_binding: one rank per GPU from the node-local rank and every local rank's view.
#include <gtest/gtest.h>

#include <map>
#include <string>

#include "core/device_binding.hpp"
#include "core/error.hpp"

namespace moeb {
namespace {

DeviceView view(int count, std::optional<std::string> cvd = std::nullopt) {
  DeviceView v;
  v.device_count = count;
  v.cuda_visible_devices = std::move(cvd);
  return v;
}

BindingInput shared_node(int local_rank, int local_size, int count,
                         std::optional<std::string> cvd = std::nullopt) {
  BindingInput in;
  in.local_rank = local_rank;
  in.host = "gpu07";
  in.views.assign(static_cast<size_t>(local_size), view(count, cvd));
  return in;
}

std::string error_of(const BindingInput& in) {
  try {
    choose_device(in);
  } catch (const ConfigError& e) {
    return e.what();
  }
  return "";
}

TEST(DeviceBinding, ParsesVisibleDevicesLikeCuda) {
  EXPECT_EQ(parse_visible_devices("0,1,3"), (std::vector<std::string>{"0", "1", "3"}));
  EXPECT_EQ(parse_visible_devices(" 2 , 0 "), (std::vector<std::string>{"2", "0"}));
  EXPECT_EQ(parse_visible_devices("GPU-8a1b,MIG-77"),
            (std::vector<std::string>{"GPU-8a1b", "MIG-77"}));
  EXPECT_TRUE(parse_visible_devices("").empty());
  EXPECT_TRUE(parse_visible_devices("-1").empty());
  // CUDA ignores everything from the first invalid entry on.
  EXPECT_EQ(parse_visible_devices("1,x,2"), (std::vector<std::string>{"1"}));
  EXPECT_EQ(parse_visible_devices("0,,1"), (std::vector<std::string>{"0"}));
}

TEST(DeviceBinding, SharedViewMapsLocalRankToDevice) {
  for (int r = 0; r < 4; ++r) {
    const DeviceBinding b = choose_device(shared_node(r, 4, 4));
    EXPECT_EQ(b.device, r);
    EXPECT_FALSE(b.per_task_view);
  }
  // Fewer ranks than GPUs is fine; equal CUDA_VISIBLE_DEVICES everywhere is a shared view.
  EXPECT_EQ(choose_device(shared_node(1, 2, 8)).device, 1);
  EXPECT_EQ(choose_device(shared_node(1, 2, 2, "4,5")).device, 1);
}

TEST(DeviceBinding, MoreRanksThanGpusIsAClearError) {
  const std::string msg = error_of(shared_node(0, 8, 4));
  EXPECT_NE(msg.find("8 ranks on node gpu07 but only 4 GPUs visible"), std::string::npos) << msg;
  EXPECT_NE(msg.find("--gpus-per-task=1"), std::string::npos) << msg;
  EXPECT_EQ(msg.find('\n'), std::string::npos);
}

TEST(DeviceBinding, NoDeviceSaysSoInOneLine) {
  BindingInput in = shared_node(0, 1, 0);
  in.views[0].count_error = "cudaGetDeviceCount: cudaErrorNoDevice: no CUDA-capable device";
  const std::string msg = error_of(in);
  EXPECT_EQ(msg.rfind("no CUDA device visible: ", 0), 0u) << msg;
  EXPECT_NE(msg.find("cudaErrorNoDevice"), std::string::npos) << msg;
  EXPECT_NE(msg.find("CUDA_VISIBLE_DEVICES unset"), std::string::npos) << msg;
  // An empty CUDA_VISIBLE_DEVICES hides every GPU even if the count is stale.
  EXPECT_EQ(error_of(shared_node(0, 1, 2, "")).rfind("no CUDA device visible: ", 0), 0u);
}

TEST(DeviceBinding, PerTaskViewsOpenTheirOwnDeviceZero) {
  // srun --gpus-per-task=1: each task sees exactly its GPU.
  BindingInput in;
  in.host = "gpu07";
  in.gpus_per_task = 1;
  for (int r = 0; r < 4; ++r) in.views.push_back(view(1, std::to_string(r)));
  for (int r = 0; r < 4; ++r) {
    in.local_rank = r;
    const DeviceBinding b = choose_device(in);
    EXPECT_EQ(b.device, 0);
    EXPECT_TRUE(b.per_task_view);
    EXPECT_NE(b.describe.find("--gpus-per-task=1"), std::string::npos) << b.describe;
  }
}

TEST(DeviceBinding, OverlappingPerTaskViewsAreRejected) {
  BindingInput in;
  in.host = "n1";
  in.views = {view(2, "0,1"), view(2, "1,2")};
  in.local_rank = 1;
  const std::string msg = error_of(in);
  EXPECT_NE(msg.find("local ranks 0 and 1 on node n1 both see GPU 1"), std::string::npos) << msg;
}

TEST(DeviceBinding, CudaVisibleDevicesOnSomeRanksOnlyIsRejected) {
  BindingInput in;
  in.views = {view(1, "0"), view(4)};
  in.local_rank = 0;
  const std::string msg = error_of(in);
  EXPECT_NE(msg.find("not on local rank 1"), std::string::npos) << msg;
}

TEST(DeviceBinding, BadLocalRankIsRejected) {
  EXPECT_NE(error_of(shared_node(3, 2, 4)).find("outside the 2 local ranks"), std::string::npos);
}

TEST(DeviceBinding, LocalRankFromEnvPrefersSlurm) {
  std::map<std::string, std::string> env{{"SLURM_LOCALID", "3"},
                                         {"OMPI_COMM_WORLD_LOCAL_RANK", "1"}};
  auto get = [&](const char* n) -> const char* {
    auto it = env.find(n);
    return it == env.end() ? nullptr : it->second.c_str();
  };
  EXPECT_EQ(local_rank_from_env(get), 3);
  env.erase("SLURM_LOCALID");
  EXPECT_EQ(local_rank_from_env(get), 1);
  env["OMPI_COMM_WORLD_LOCAL_RANK"] = "x";
  EXPECT_FALSE(local_rank_from_env(get).has_value());
}

TEST(DeviceBinding, GpusPerTaskFromEnv) {
  std::map<std::string, std::string> env;
  auto get = [&](const char* n) -> const char* {
    auto it = env.find(n);
    return it == env.end() ? nullptr : it->second.c_str();
  };
  EXPECT_EQ(gpus_per_task_from_env(get), 0);
  env["SLURM_GPUS_PER_TASK"] = "2";
  EXPECT_EQ(gpus_per_task_from_env(get), 2);
  env["SLURM_GPUS_PER_TASK"] = "a100:1";
  EXPECT_EQ(gpus_per_task_from_env(get), 1);
  env["SLURM_GPUS_PER_TASK"] = "many";
  EXPECT_EQ(gpus_per_task_from_env(get), 0);
}

}  // namespace
}  // namespace moeb
