#include "runtime/stop_signal.hpp"

#include <atomic>
#include <csignal>
#include <mutex>

namespace moeb {
namespace {

// Lock-free atomics are async-signal-safe; the handler does nothing else.
std::atomic<int> g_stop_signal{0};
static_assert(std::atomic<int>::is_always_lock_free);

constexpr int kStopSignals[] = {SIGTERM, SIGUSR1, SIGINT};
constexpr int kNumStopSignals = 3;
struct sigaction g_previous[kNumStopSignals];
bool g_installed = false;
std::mutex g_install_mutex;

extern "C" void on_stop_signal(int sig) {
  // A second Ctrl-C (SIGINT after a SIGINT) ends the process at once, as without a handler.
  // signal() and raise() are async-signal-safe.
  if (sig == SIGINT && g_stop_signal.load(std::memory_order_relaxed) == SIGINT) {
    std::signal(SIGINT, SIG_DFL);
    std::raise(SIGINT);
    return;
  }
  int expected = 0;
  // Keep the first signal: SIGUSR1 (time-limit warning) followed by SIGTERM still reads USR1.
  g_stop_signal.compare_exchange_strong(expected, sig);
}

}  // namespace

void install_stop_handlers() {
  std::lock_guard<std::mutex> lock(g_install_mutex);
  if (g_installed) return;
  struct sigaction sa {};
  sa.sa_handler = on_stop_signal;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = SA_RESTART;  // MPI progress loops and file I/O continue; we poll the flag.
  for (int i = 0; i < kNumStopSignals; ++i) sigaction(kStopSignals[i], &sa, &g_previous[i]);
  g_installed = true;
}

void remove_stop_handlers() {
  std::lock_guard<std::mutex> lock(g_install_mutex);
  if (!g_installed) return;
  for (int i = 0; i < kNumStopSignals; ++i) sigaction(kStopSignals[i], &g_previous[i], nullptr);
  g_installed = false;
}

bool stop_requested() { return g_stop_signal.load(std::memory_order_relaxed) != 0; }

int stop_signal_number() { return g_stop_signal.load(std::memory_order_relaxed); }

std::string stop_signal_name() {
  switch (stop_signal_number()) {
    case SIGTERM: return "SIGTERM";
    case SIGUSR1: return "SIGUSR1";
    case SIGINT: return "SIGINT";
    case 0: return "";
    default: return "signal " + std::to_string(stop_signal_number());
  }
}

void reset_stop_request() { g_stop_signal.store(0, std::memory_order_relaxed); }

}  // namespace moeb
