// Stop flag set by SIGTERM / SIGUSR1 (src/runtime/stop_signal.hpp).
#include <gtest/gtest.h>

#include <csignal>

#include "runtime/stop_signal.hpp"

namespace {

class StopSignal : public ::testing::Test {
 protected:
  void SetUp() override {
    moeb::install_stop_handlers();
    moeb::reset_stop_request();
  }
  void TearDown() override {
    moeb::reset_stop_request();
    moeb::remove_stop_handlers();
  }
};

TEST_F(StopSignal, NotRequestedBeforeAnySignal) {
  EXPECT_FALSE(moeb::stop_requested());
  EXPECT_EQ(moeb::stop_signal_number(), 0);
  EXPECT_EQ(moeb::stop_signal_name(), "");
}

TEST_F(StopSignal, SigtermSetsFlagAndProcessSurvives) {
  ASSERT_EQ(std::raise(SIGTERM), 0);  // default action would terminate the test binary
  EXPECT_TRUE(moeb::stop_requested());
  EXPECT_EQ(moeb::stop_signal_name(), "SIGTERM");
}

TEST_F(StopSignal, Sigusr1SetsFlag) {
  ASSERT_EQ(std::raise(SIGUSR1), 0);
  EXPECT_TRUE(moeb::stop_requested());
  EXPECT_EQ(moeb::stop_signal_number(), SIGUSR1);
}

TEST_F(StopSignal, FirstSignalIsKept) {
  std::raise(SIGUSR1);  // Slurm's time-limit warning, then the SIGTERM at the limit
  std::raise(SIGTERM);
  EXPECT_EQ(moeb::stop_signal_name(), "SIGUSR1");
}

TEST_F(StopSignal, ResetClearsFlag) {
  std::raise(SIGTERM);
  moeb::reset_stop_request();
  EXPECT_FALSE(moeb::stop_requested());
}

TEST_F(StopSignal, InstallIsIdempotentAndRemoveRestoresPreviousHandler) {
  moeb::install_stop_handlers();  // second install must not record our handler as "previous"
  moeb::remove_stop_handlers();
  struct sigaction now {};
  sigaction(SIGTERM, nullptr, &now);
  EXPECT_EQ(now.sa_handler, SIG_DFL);
  moeb::install_stop_handlers();  // TearDown removes again
}

}  // namespace
