// libFuzzer targets: the trace importers on arbitrary text, one executable per format
// (MOEB_FUZZ_FORMAT = jsonl-topk, csv or coact-csv). The input goes through a temporary file into
// import_trace with a small model preset fixing the shape; an InputError or ConfigError is the
// expected answer to bad input, anything else is a finding. A successful import is read back.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>

#include "core/error.hpp"
#include "fuzz_util.hpp"
#include "workload/importers.hpp"

#ifndef MOEB_FUZZ_FORMAT
#error "MOEB_FUZZ_FORMAT must name the importer"
#endif

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  moeb::fuzz::TempFile in(data, size, ".in");
  const std::string out = moeb::fuzz::TempFile::sibling(".h5");
  moeb::ImportOptions opt;
  opt.format = MOEB_FUZZ_FORMAT;
  // Half the inputs with the shape from a preset, half with the shape from the data; the first
  // byte decides so that the corpus keeps both.
  if (size > 0 && (data[0] & 1)) opt.model = "mixtral-8x7b";
  try {
    moeb::import_trace({in.path()}, out, opt);
    moeb::TraceReader r(out);
    if (r.num_tokens() > 0) r.read_range(0, std::min<int64_t>(r.num_tokens(), 64));
  } catch (const moeb::InputError&) {
  } catch (const moeb::ConfigError&) {
  }
  std::remove(out.c_str());
  std::remove((out + ".tmp").c_str());
  return 0;
}
