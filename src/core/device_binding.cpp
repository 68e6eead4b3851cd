#include "core/device_binding.hpp"

#include <algorithm>
#include <cctype>
#include <cstdlib>

#include "core/error.hpp"

namespace moeb {

namespace {

std::string trim(const std::string& s) {
  size_t b = 0, e = s.size();
  while (b < e && std::isspace(static_cast<unsigned char>(s[b]))) ++b;
  while (e > b && std::isspace(static_cast<unsigned char>(s[e - 1]))) --e;
  return s.substr(b, e - b);
}

bool valid_entry(const std::string& e) {
  if (e.empty()) return false;
  if (e.rfind("GPU-", 0) == 0 || e.rfind("MIG-", 0) == 0) return true;
  return std::all_of(e.begin(), e.end(), [](char c) { return c >= '0' && c <= '9'; });
}

std::string show_cvd(const std::optional<std::string>& v) {
  return v ? "CUDA_VISIBLE_DEVICES=\"" + *v + "\"" : std::string("CUDA_VISIBLE_DEVICES unset");
}

bool same_view(const DeviceView& a, const DeviceView& b) {
  if (a.cuda_visible_devices.has_value() != b.cuda_visible_devices.has_value()) return false;
  if (!a.cuda_visible_devices) return true;
  return parse_visible_devices(*a.cuda_visible_devices) ==
         parse_visible_devices(*b.cuda_visible_devices);
}

std::optional<int> parse_nonneg_int(const char* s) {
  if (s == nullptr || *s == '\0') return std::nullopt;
  char* end = nullptr;
  const long v = std::strtol(s, &end, 10);
  if (end == s || *end != '\0' || v < 0 || v > 1 << 20) return std::nullopt;
  return static_cast<int>(v);
}

}  // namespace

std::vector<std::string> parse_visible_devices(const std::string& value) {
  std::vector<std::string> out;
  size_t pos = 0;
  while (pos <= value.size()) {
    const size_t comma = value.find(',', pos);
    const std::string entry =
        trim(value.substr(pos, comma == std::string::npos ? std::string::npos : comma - pos));
    if (!valid_entry(entry)) break;
    out.push_back(entry);
    if (comma == std::string::npos) break;
    pos = comma + 1;
  }
  return out;
}

DeviceBinding choose_device(const BindingInput& in) {
  const int local_size = static_cast<int>(in.views.size());
  const std::string host = in.host.empty() ? std::string("this node") : "node " + in.host;
  if (local_size == 0 || in.local_rank < 0 || in.local_rank >= local_size)
    throw ConfigError("device binding: local rank " + std::to_string(in.local_rank) +
                      " outside the " + std::to_string(local_size) + " local ranks of " + host);
  const DeviceView& mine = in.views[static_cast<size_t>(in.local_rank)];
  const std::string who = "local rank " + std::to_string(in.local_rank) + " of " +
                          std::to_string(local_size) + " on " + host;
  if (mine.device_count <= 0 ||
      (mine.cuda_visible_devices && parse_visible_devices(*mine.cuda_visible_devices).empty()))
    throw ConfigError("no CUDA device visible: " + who + " (" +
                      show_cvd(mine.cuda_visible_devices) + ", device count " +
                      std::to_string(std::max(0, mine.device_count)) +
                      (mine.count_error.empty() ? "" : "; " + mine.count_error) + ")");

  const bool shared = std::all_of(in.views.begin(), in.views.end(),
                                  [&](const DeviceView& v) { return same_view(v, in.views[0]); });
  DeviceBinding b;
  if (shared) {
    if (local_size > mine.device_count)
      throw ConfigError(std::to_string(local_size) + " ranks on " + host + " but only " +
                        std::to_string(mine.device_count) + " GPUs visible (" +
                        show_cvd(mine.cuda_visible_devices) +
                        "): run one rank per GPU (--ntasks-per-node=" +
                        std::to_string(mine.device_count) + ") or bind with --gpus-per-task=1");
    b.device = in.local_rank;
    b.per_task_view = false;
    b.describe = who + " -> device " + std::to_string(b.device) + " (shared view of " +
                 std::to_string(mine.device_count) + " devices)";
    return b;
  }

  // Per-task views: every rank must have its own, disjoint list.
  for (int r = 0; r < local_size; ++r)
    if (!in.views[static_cast<size_t>(r)].cuda_visible_devices)
      throw ConfigError("CUDA_VISIBLE_DEVICES is set on some ranks of " + host +
                        " but not on local rank " + std::to_string(r) +
                        ", which then sees every GPU: set it on all ranks or on none");
  const auto my_list = parse_visible_devices(*mine.cuda_visible_devices);
  for (int r = 0; r < local_size; ++r) {
    if (r == in.local_rank) continue;
    const auto other =
        parse_visible_devices(*in.views[static_cast<size_t>(r)].cuda_visible_devices);
    for (const auto& dev : my_list)
      if (std::find(other.begin(), other.end(), dev) != other.end())
        throw ConfigError("local ranks " + std::to_string(std::min(r, in.local_rank)) + " and " +
                          std::to_string(std::max(r, in.local_rank)) + " on " + host +
                          " both see GPU " + dev +
                          " (overlapping CUDA_VISIBLE_DEVICES): one GPU per rank is required");
  }
  b.device = 0;
  b.per_task_view = true;
  b.describe = who + " -> device 0 of its own " + show_cvd(mine.cuda_visible_devices) +
               (in.gpus_per_task > 0 ? " (--gpus-per-task=" + std::to_string(in.gpus_per_task) + ")"
                                     : std::string());
  return b;
}

std::optional<int> local_rank_from_env(const std::function<const char*(const char*)>& getenv_fn) {
  for (const char* name : {"SLURM_LOCALID", "OMPI_COMM_WORLD_LOCAL_RANK", "MPI_LOCALRANKID"})
    if (auto v = parse_nonneg_int(getenv_fn(name))) return v;
  return std::nullopt;
}

int gpus_per_task_from_env(const std::function<const char*(const char*)>& getenv_fn) {
  const char* v = getenv_fn("SLURM_GPUS_PER_TASK");
  if (v == nullptr) return 0;
  std::string s(v);
  const size_t colon = s.rfind(':');
  if (colon != std::string::npos) s = s.substr(colon + 1);
  return parse_nonneg_int(s.c_str()).value_or(0);
}

}  // namespace moeb
