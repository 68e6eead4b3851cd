// current_exception_message: one line for any exception type, as a run's ranks agree on it.
#include <gtest/gtest.h>

#include <new>
#include <stdexcept>

#include "core/error.hpp"

namespace moeb {
namespace {

template <class F>
std::string message_of(F&& raise) {
  try {
    raise();
  } catch (...) {
    return current_exception_message();
  }
  return "(nothing thrown)";
}

TEST(Error, EveryExceptionTypeBecomesOneLine) {
  EXPECT_EQ(message_of([] { throw InputError("trace.h5: /routing/experts: id 9 >= 8"); }),
            "trace.h5: /routing/experts: id 9 >= 8");
  EXPECT_EQ(message_of([] { throw std::bad_alloc(); }), "out of memory (std::bad_alloc)");
  EXPECT_EQ(message_of([] { throw std::runtime_error("boom"); }), "boom (std::runtime_error)");
  EXPECT_EQ(message_of([] { throw std::out_of_range("vector"); }), "vector (std::out_of_range)");
  EXPECT_EQ(message_of([] { throw 42; }), "unknown exception");
}

}  // namespace
}  // namespace moeb
