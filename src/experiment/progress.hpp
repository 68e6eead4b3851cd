// Progress of a run, simulate or place on the root process (issue 15; the loop itself prints a
// line per sweep cell and the console a line per strategy): inside a strategy a progress line (iteration i/N, elapsed, estimate). On a terminal the
// line is rewritten in place (carriage return) at most every kTerminalInterval; in a batch log
// (stderr not a terminal) a plain line at most every kLogInterval; `--quiet` prints none and
// `--progress` prints plain lines at the terminal's cadence even into a log. Everything goes to
// stderr, so stdout keeps the command's own lines and tables.
#pragma once

#include <cstdio>
#include <functional>
#include <memory>
#include <string>

namespace moeb {

// How a command asked for progress: --quiet, nothing, or --progress.
enum class ProgressRequest { kQuiet, kAuto, kForce };

struct ProgressSettings {
  bool enabled = false;
  bool rewrite = false;           // terminal: rewrite one line with '\r'
  double interval_s = 0;          // at most one line per interval
  bool first_at_once = false;     // the first iteration of a strategy prints at once
};

inline constexpr double kTerminalInterval = 2.0;  // seconds
inline constexpr double kLogInterval = 30.0;

// The settings for a request and whether stderr is a terminal.
ProgressSettings progress_settings(ProgressRequest request, bool is_terminal);

class ProgressReporter {
 public:
  using Clock = std::function<double()>;  // seconds, monotonic
  // `clock` defaults to std::chrono::steady_clock.
  ProgressReporter(ProgressSettings settings, std::FILE* out, Clock clock = {});
  ~ProgressReporter();  // erases a line left on a terminal
  ProgressReporter(const ProgressReporter&) = delete;
  ProgressReporter& operator=(const ProgressReporter&) = delete;

  // A strategy instance starts (index from 1 of count); its timer starts.
  void strategy(const std::string& name, int index, int count);
  // `completed` of warmup + iterations done in the current strategy: a line when due.
  void iteration(int completed, int warmup, int iterations);
  // Erases the terminal line (before other output); nothing in a log.
  void clear();

  // The text of a progress line, without '\r' or newline (tests).
  static std::string line(const std::string& name, int index, int count, int completed,
                          int warmup, int iterations, double elapsed_s);

 private:
  void emit(const std::string& text);
  ProgressSettings s_;
  std::FILE* out_;
  Clock clock_;
  std::string name_;
  int index_ = 0, count_ = 0;
  double start_ = 0, last_ = 0;
  bool printed_in_strategy_ = false;
  bool line_shown_ = false;  // a terminal line is on screen
};

// Whether stderr ends on a terminal: a terminal itself, or the terminal of the mpirun that
// started this process (its stderr is a pipe mpirun forwards unbuffered).
bool stderr_reaches_terminal();

// The root process's reporter for `request` (stderr, stderr_reaches_terminal); none when quiet.
std::shared_ptr<ProgressReporter> make_progress(ProgressRequest request);

}  // namespace moeb
