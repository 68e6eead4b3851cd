// The host this process runs on (POSIX).
#pragma once

#include <string>

namespace moeb {

// gethostname(), or "" when the system cannot say; callers choose their own placeholder.
std::string host_name();

// Online CPU cores of this host (at least 1).
int host_cores();
// 1-minute load average of this host, or -1 when the system cannot say.
double load_average();

}  // namespace moeb
