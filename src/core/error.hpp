// moebench error types. One family, each carrying where it was raised.
#pragma once

#include <stdexcept>
#include <string>

namespace moeb {

// Base of every moebench error. `what()` is the one line a user sees.
class Error : public std::runtime_error {
 public:
  explicit Error(const std::string& msg) : std::runtime_error(msg) {}
};

// Bad suite/config: unknown key, wrong type, value out of range. Message names file and key.
class ConfigError : public Error {
 public:
  using Error::Error;
};

// Bad input data: malformed trace, CSV line, results file. Message names file and line.
class InputError : public Error {
 public:
  using Error::Error;
};

class MpiError : public Error {
 public:
  using Error::Error;
};
class CudaError : public Error {
 public:
  using Error::Error;
};
class NcclError : public Error {
 public:
  using Error::Error;
};
class H5Error : public Error {
 public:
  using Error::Error;
};

// Raised when a run is asked to stop (SIGTERM/SIGUSR1) at an iteration boundary.
class Interrupted : public Error {
 public:
  using Error::Error;
};

// Raised when the correctness check finds wrong elements (the run records the strategy as
// failed with this message as its reason).
class CheckFailed : public Error {
 public:
  using Error::Error;
};

// "file:line: " prefix for errors raised inside moebench code.
std::string source_location_prefix(const char* file, int line);

// One line for the exception being handled (call inside a catch block): a moebench error's
// message as is; "out of memory (std::bad_alloc)"; another std::exception's message with its
// type ("... (std::runtime_error)"); "unknown exception" for anything else. Never throws.
std::string current_exception_message() noexcept;

}  // namespace moeb

#define MOEB_REQUIRE(cond, ErrType, msg)                                              \
  do {                                                                                \
    if (!(cond)) throw ErrType(std::string(msg));                                     \
  } while (0)
