// libFuzzer target: the results reader and validator (io/results_reader, io/validate) on an
// arbitrary file, written to a temporary .h5 file. InputError is the expected answer from both
// (validate_results also reports failures as lines); anything else is a finding. Raw mutations
// of an HDF5 file mostly exercise the HDF5 library's parser (fuzz/README.md, "HDF5").
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>

#include "core/error.hpp"
#include "fuzz_util.hpp"
#include "io/results_file.hpp"
#include "io/validate.hpp"
#include "platform/h5_guard.hpp"

// Each input is read as moebench reads a file from someone else: first in a child process
// (platform/h5_guard.hpp), so that a crash inside libhdf5 is an InputError and the fuzzer goes on
// to moebench's own reading. MOEB_FUZZ_HDF5_GUARD=0 reads in process (fuzz/README.md, "HDF5").
static const bool kGuard = [] {
  const char* v = std::getenv("MOEB_FUZZ_HDF5_GUARD");
  moeb::h5::set_guard(!(v && std::string(v) == "0"));
  return true;
}();

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  moeb::fuzz::TempFile in(data, size, ".h5");
  moeb::h5::forget_checked_files();  // the same path holds a new file
  try {
    moeb::validate_results(in.path());
  } catch (const moeb::InputError&) {
  } catch (const moeb::H5Error&) {
  }
  try {
    moeb::read_results(in.path());
  } catch (const moeb::InputError&) {
  } catch (const moeb::H5Error&) {
  }
  return 0;
}
