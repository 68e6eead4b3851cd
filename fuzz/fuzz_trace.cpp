// libFuzzer target: the routing-trace reader (workload/trace_file TraceReader and trace_info) on
// an arbitrary file. The input is written to a temporary .h5 file. InputError and H5Error are
// the expected answers; anything else is a finding. Note that raw mutations of an HDF5 file
// mostly exercise the HDF5 library's own parser (fuzz/README.md, "HDF5").
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>

#include "core/error.hpp"
#include "fuzz_util.hpp"
#include "platform/h5_guard.hpp"
#include "workload/trace_file.hpp"
#include "workload/trace_info.hpp"

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
    moeb::TraceReader r(in.path());
    moeb::trace_info(r);
    if (r.num_tokens() > 0) r.read_range(0, std::min<int64_t>(r.num_tokens(), 256));
  } catch (const moeb::InputError&) {
  } catch (const moeb::ConfigError&) {
  } catch (const moeb::H5Error&) {
  }
  return 0;
}
