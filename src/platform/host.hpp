// The host this process runs on (POSIX).
#pragma once

#include <string>

namespace moeb {

// gethostname(), or "" when the system cannot say; callers choose their own placeholder.
std::string host_name();

// Hands the free pages of the heap back to the system (glibc's malloc_trim; elsewhere nothing),
// after a phase that freed much memory, so that the next phase's allocations, laid out
// otherwise, do not add to what the process holds.
void release_free_memory();

}  // namespace moeb
