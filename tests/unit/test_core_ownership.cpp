#include <gtest/gtest.h>

#include "core/routing.hpp"

using namespace moeb;

TEST(TokenOwnership, ContiguousBlocksCoverEveryTokenOnce) {
  for (int R : {1, 3, 4, 7}) {
    for (int64_t T : {0, 1, 5, 1000, 1001}) {
      EXPECT_EQ(token_begin(0, T, R), 0);
      EXPECT_EQ(token_begin(R, T, R), T);
      for (int64_t t = 0; t < T; ++t) {
        int r = owner_of_token(t, T, R);
        EXPECT_LE(token_begin(r, T, R), t);
        EXPECT_LT(t, token_begin(r + 1, T, R));
      }
    }
  }
}

TEST(TokenOwnership, FloorFormulaOfArchitecture) {
  // rank r owns [floor(r*T/R), floor((r+1)*T/R))
  EXPECT_EQ(token_begin(1, 10, 4), 2);
  EXPECT_EQ(token_begin(2, 10, 4), 5);
  EXPECT_EQ(token_begin(3, 10, 4), 7);
}
