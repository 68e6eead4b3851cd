#include "kernels/cuda/error_format.hpp"

#include <cstdlib>
#include <mutex>

#include "core/error.hpp"
#include "platform/host.hpp"

namespace moeb {

namespace {

struct Identity {
  std::mutex mutex;
  bool set = false;
  int rank = -1;
  std::string host;
};

Identity& identity() {
  static Identity id;
  return id;
}

int rank_from_env() {
  for (const char* name : {"OMPI_COMM_WORLD_RANK", "PMI_RANK", "SLURM_PROCID"}) {
    const char* v = std::getenv(name);
    if (v == nullptr || *v == '\0') continue;
    char* end = nullptr;
    const long r = std::strtol(v, &end, 10);
    if (*end == '\0' && r >= 0) return static_cast<int>(r);
  }
  return -1;
}

}  // namespace

void set_device_error_identity(int rank, const std::string& host) {
  auto& id = identity();
  std::lock_guard<std::mutex> lock(id.mutex);
  id.set = true;
  id.rank = rank;
  id.host = host;
}

std::string device_error_identity() {
  auto& id = identity();
  std::lock_guard<std::mutex> lock(id.mutex);
  int rank = id.rank;
  std::string host = id.host;
  if (!id.set) {
    rank = rank_from_env();
    host = host_name();
  }
  std::string out;
  if (rank >= 0) out = "rank " + std::to_string(rank);
  if (!host.empty()) {
    if (!out.empty()) out += ' ';
    out.append("on ").append(host);
  }
  return out;
}

std::string format_device_error(const char* library, const DeviceErrorSite& site,
                                const std::string& code_name, const std::string& description,
                                const std::string& detail) {
  std::string msg = source_location_prefix(site.file, site.line);
  const std::string who = device_error_identity();
  if (!who.empty()) msg += who + ": ";
  msg += std::string(library) + " error " + code_name;
  if (!description.empty()) msg += " (" + description + ")";
  msg += " in " + std::string(site.call);
  if (!detail.empty()) msg += ": " + detail;
  // One line, whatever the libraries put in their strings.
  for (char& c : msg)
    if (c == '\n' || c == '\r') c = ' ';
  while (!msg.empty() && msg.back() == ' ') msg.pop_back();
  return msg;
}

}  // namespace moeb
