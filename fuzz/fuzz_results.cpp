// libFuzzer target: the results reader and validator (io/results_reader, io/validate) on an
// arbitrary file, written to a temporary .h5 file. InputError is the expected answer from both
// (validate_results also reports failures as lines); anything else is a finding. Raw mutations
// of an HDF5 file mostly exercise the HDF5 library's parser (fuzz/README.md, "HDF5").
#include <cstddef>
#include <cstdint>

#include "core/error.hpp"
#include "fuzz_util.hpp"
#include "io/results_file.hpp"
#include "io/validate.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  moeb::fuzz::TempFile in(data, size, ".h5");
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
