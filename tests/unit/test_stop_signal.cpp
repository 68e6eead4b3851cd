// Stop flag set by SIGTERM / SIGUSR1 / SIGINT (src/runtime/stop_signal.hpp).
#include <gtest/gtest.h>

#include <csignal>
#include <cstdlib>

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

TEST_F(StopSignal, SigintSetsFlagLikeSigterm) {
  ASSERT_EQ(std::raise(SIGINT), 0);  // Ctrl-C: default action would terminate the test binary
  EXPECT_TRUE(moeb::stop_requested());
  EXPECT_EQ(moeb::stop_signal_number(), SIGINT);
  EXPECT_EQ(moeb::stop_signal_name(), "SIGINT");
}

TEST_F(StopSignal, SecondSigintEndsTheProcessAtOnce) {
  EXPECT_EXIT(
      {
        std::raise(SIGINT);
        std::raise(SIGINT);
        std::_Exit(0);  // not reached: the second Ctrl-C takes the default action
      },
      ::testing::KilledBySignal(SIGINT), "");
}

TEST_F(StopSignal, SigintAfterSigtermKeepsWaitingForTheBoundary) {
  std::raise(SIGTERM);
  std::raise(SIGINT);  // mpirun's SIGTERM may come first: a later Ctrl-C does not kill
  EXPECT_EQ(moeb::stop_signal_name(), "SIGTERM");
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
