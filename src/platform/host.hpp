// The host this process runs on (POSIX).
#pragma once

#include <string>

namespace moeb {

// gethostname(), or "" when the system cannot say; callers choose their own placeholder.
std::string host_name();

}  // namespace moeb
