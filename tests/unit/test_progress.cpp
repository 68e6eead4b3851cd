// Progress lines of run / simulate / place (src/experiment/progress.hpp): when they appear, how
// often, and what they say. A fake clock and a memory stream stand in for time and stderr.
#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>
#include <string>

#include "experiment/progress.hpp"

namespace {

using moeb::ProgressReporter;
using moeb::ProgressRequest;

// A reporter writing to memory, on a clock the test moves.
struct Captured {
  char* buf = nullptr;
  size_t size = 0;
  std::FILE* f = open_memstream(&buf, &size);
  double now = 0;
  std::string text() {
    std::fflush(f);
    return std::string(buf, size);
  }
  ~Captured() {
    std::fclose(f);
    std::free(buf);
  }
};

int count(const std::string& s, const std::string& what) {
  int n = 0;
  for (size_t p = s.find(what); p != std::string::npos; p = s.find(what, p + 1)) ++n;
  return n;
}

TEST(Progress, SettingsFollowTheRequestAndTheTerminal) {
  const auto tty = moeb::progress_settings(ProgressRequest::kAuto, true);
  EXPECT_TRUE(tty.enabled && tty.rewrite && tty.first_at_once);
  EXPECT_EQ(tty.interval_s, moeb::kTerminalInterval);
  const auto log = moeb::progress_settings(ProgressRequest::kAuto, false);
  EXPECT_TRUE(log.enabled);
  EXPECT_FALSE(log.rewrite || log.first_at_once);
  EXPECT_EQ(log.interval_s, moeb::kLogInterval);
  const auto forced = moeb::progress_settings(ProgressRequest::kForce, false);
  EXPECT_TRUE(forced.enabled && forced.first_at_once);
  EXPECT_FALSE(forced.rewrite);  // plain lines in a log
  EXPECT_EQ(forced.interval_s, moeb::kTerminalInterval);
  EXPECT_FALSE(moeb::progress_settings(ProgressRequest::kQuiet, true).enabled);
  EXPECT_EQ(moeb::make_progress(ProgressRequest::kQuiet), nullptr);
}

TEST(Progress, LineSaysIterationElapsedAndEstimate) {
  EXPECT_EQ(ProgressReporter::line("eplb", 3, 8, 1, 2, 8, 1.0),
            "[3/8] eplb: warm-up 1/2, 1 s elapsed, about 9 s left");
  EXPECT_EQ(ProgressReporter::line("eplb", 3, 8, 7, 2, 8, 70.0),
            "[3/8] eplb: iteration 5/8, 1 min 10 s elapsed, about 30 s left");
  EXPECT_EQ(ProgressReporter::line("c2r", 8, 8, 10, 2, 8, 4000.0),
            "[8/8] c2r: iteration 8/8, 1 h 06 min elapsed");
}

TEST(Progress, BatchLogGetsAPlainLineAtMostEveryThirtySeconds) {
  Captured c;
  ProgressReporter p(moeb::progress_settings(ProgressRequest::kAuto, false), c.f,
                     [&] { return c.now; });
  p.strategy("baseline", 1, 2);
  for (int i = 1; i <= 100; ++i) {  // one iteration per second
    c.now = i;
    p.iteration(i, 0, 100);
  }
  const std::string out = c.text();
  EXPECT_EQ(count(out, "\n"), 3) << out;  // at 30, 60 and 90 s
  EXPECT_EQ(count(out, "\r"), 0) << out;
  EXPECT_NE(out.find("[1/2] baseline: iteration 30/100, 30 s elapsed, about 1 min 10 s left\n"),
            std::string::npos)
      << out;
}

TEST(Progress, TerminalLineIsRewrittenInPlaceAndClearedBeforeOtherOutput) {
  Captured c;
  ProgressReporter p(moeb::progress_settings(ProgressRequest::kAuto, true), c.f,
                     [&] { return c.now; });
  p.strategy("grace", 5, 8);
  for (int i = 1; i <= 10; ++i) {  // 10 iterations in 5 s: at most one line per 2 s
    c.now = 0.5 * i;
    p.iteration(i, 0, 10);
  }
  p.clear();
  const std::string out = c.text();
  EXPECT_EQ(count(out, "\n"), 0) << out;
  EXPECT_EQ(out.rfind("\r\033[K"), out.size() - 4) << out;  // the line erased at the end
  // "placing", the first iteration at once, then at 2 s and 4 s.
  EXPECT_EQ(count(out, "[5/8] grace:"), 4) << out;
  EXPECT_NE(out.find("\r[5/8] grace: iteration 1/10, 1 s elapsed"), std::string::npos) << out;
}

TEST(Progress, ForcedProgressPrintsPlainLinesAtTheTerminalCadence) {
  Captured c;
  ProgressReporter p(moeb::progress_settings(ProgressRequest::kForce, false), c.f,
                     [&] { return c.now; });
  p.strategy("eplb", 2, 3);
  c.now = 0.1;
  p.iteration(1, 1, 4);
  c.now = 0.2;
  p.iteration(2, 1, 4);  // too soon
  c.now = 2.5;
  p.iteration(3, 1, 4);
  const std::string out = c.text();
  EXPECT_EQ(out,
            "[2/3] eplb: warm-up 1/1, 0 s elapsed, about 0 s left\n"
            "[2/3] eplb: iteration 2/4, 3 s elapsed, about 2 s left\n");
}

TEST(Progress, NothingOutsideAStrategy) {
  Captured c;
  ProgressReporter p(moeb::progress_settings(ProgressRequest::kForce, false), c.f,
                     [&] { return c.now; });
  p.iteration(1, 0, 1);  // place's reference, before any strategy: no line
  EXPECT_EQ(c.text(), "");
}

}  // namespace
