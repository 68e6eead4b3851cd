// A small deterministic parallel loop: indices [0, n) handed out to up to `threads` std::threads.
// Each index is processed exactly once by one thread, so work whose result depends only on its
// index (and writes only its own slots) gives the same result for any thread count. The first
// exception thrown by the body is rethrown in the caller after every thread has joined.
#pragma once

#include <functional>

namespace moeb {

// Threads to use when the caller does not say: MOEB_THREADS if set (>= 1), else the hardware's
// concurrency (at least 1).
int default_threads();

void parallel_for(int n, int threads, const std::function<void(int)>& body);

}  // namespace moeb
