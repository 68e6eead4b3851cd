#include "experiment/progress.hpp"

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdlib>

namespace moeb {

namespace {

double steady_seconds() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

// "7 s", "2 min 05 s", "1 h 02 min".
std::string duration(double s) {
  const long t = std::lround(std::max(0.0, s));
  char buf[48];
  if (t < 60)
    std::snprintf(buf, sizeof buf, "%ld s", t);
  else if (t < 3600)
    std::snprintf(buf, sizeof buf, "%ld min %02ld s", t / 60, t % 60);
  else
    std::snprintf(buf, sizeof buf, "%ld h %02ld min", t / 3600, (t % 3600) / 60);
  return buf;
}

}  // namespace

ProgressSettings progress_settings(ProgressRequest request, bool is_terminal) {
  ProgressSettings s;
  if (request == ProgressRequest::kQuiet) return s;
  s.enabled = true;
  s.rewrite = is_terminal;
  const bool frequent = is_terminal || request == ProgressRequest::kForce;
  s.interval_s = frequent ? kTerminalInterval : kLogInterval;
  s.first_at_once = frequent;
  return s;
}

ProgressReporter::ProgressReporter(ProgressSettings settings, std::FILE* out, Clock clock)
    : s_(settings), out_(out), clock_(clock ? std::move(clock) : Clock(steady_seconds)) {}

ProgressReporter::~ProgressReporter() { clear(); }

std::string ProgressReporter::line(const std::string& name, int index, int count, int completed,
                                   int warmup, int iterations, double elapsed_s) {
  std::string text = "[" + std::to_string(index) + "/" + std::to_string(count) + "] " + name + ": ";
  if (completed <= warmup)
    text += "warm-up " + std::to_string(completed) + "/" + std::to_string(warmup);
  else
    text += "iteration " + std::to_string(completed - warmup) + "/" + std::to_string(iterations);
  text += ", " + duration(elapsed_s) + " elapsed";
  const int total = warmup + iterations;
  if (completed > 0 && completed < total)
    text += ", about " + duration(elapsed_s / completed * (total - completed)) + " left";
  return text;
}

void ProgressReporter::emit(const std::string& text) {
  if (s_.rewrite) {
    std::fprintf(out_, "\r%s\033[K", text.c_str());
    line_shown_ = true;
  } else {
    std::fprintf(out_, "%s\n", text.c_str());
  }
  std::fflush(out_);
}

void ProgressReporter::clear() {
  if (!line_shown_) return;
  std::fprintf(out_, "\r\033[K");
  std::fflush(out_);
  line_shown_ = false;
}

void ProgressReporter::strategy(const std::string& name, int index, int count) {
  name_ = name;
  index_ = index;
  count_ = count;
  start_ = last_ = clock_();
  printed_in_strategy_ = false;
  if (s_.enabled && s_.rewrite)
    emit("[" + std::to_string(index) + "/" + std::to_string(count) + "] " + name + ": placing");
}

void ProgressReporter::iteration(int completed, int warmup, int iterations) {
  if (!s_.enabled || index_ == 0) return;  // outside a strategy (place's reference)
  const double now = clock_();
  const bool due = now - last_ >= s_.interval_s || (s_.first_at_once && !printed_in_strategy_);
  if (!due) return;
  last_ = now;
  printed_in_strategy_ = true;
  emit(line(name_, index_, count_, completed, warmup, iterations, now - start_));
}

bool stderr_reaches_terminal() {
  if (isatty(fileno(stderr))) return true;
  // Open MPI gives every rank a pipe for stderr and forwards what arrives, unbuffered, to
  // mpirun's own stderr: rank 0 started by a local mpirun on a terminal has mpirun as parent,
  // whose stderr is that terminal. (A rank under orted on another host, or under srun, sees
  // no terminal there and prints log lines.)
  if (!std::getenv("OMPI_COMM_WORLD_RANK")) return false;
  const std::string fd = "/proc/" + std::to_string(getppid()) + "/fd/2";
  char target[256];
  const ssize_t n = readlink(fd.c_str(), target, sizeof target - 1);
  if (n <= 0) return false;
  const std::string t(target, static_cast<size_t>(n));
  return t.rfind("/dev/pts/", 0) == 0 || t.rfind("/dev/tty", 0) == 0;
}

std::shared_ptr<ProgressReporter> make_progress(ProgressRequest request) {
  if (request == ProgressRequest::kQuiet) return nullptr;
  return std::make_shared<ProgressReporter>(progress_settings(request, stderr_reaches_terminal()),
                                            stderr);
}

}  // namespace moeb
