// libFuzzer targets: the trace importers on arbitrary text, one executable per format
// (MOEB_FUZZ_FORMAT = jsonl-topk, csv or coact-csv), through import_from_text (parsing,
// sniffing, validation against the limits and assembly in memory; no file system, no HDF5).
// The first input byte chooses between the shape from the data and the mixtral-8x7b preset.
// InputError or ConfigError is the expected answer to bad input; anything else is a finding.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "core/error.hpp"
#include "workload/importers.hpp"

#ifndef MOEB_FUZZ_FORMAT
#error "MOEB_FUZZ_FORMAT must name the importer"
#endif

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  moeb::ImportOptions opt;
  opt.format = MOEB_FUZZ_FORMAT;
  if (size > 0 && (data[0] & 1)) opt.model = "mixtral-8x7b";
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  try {
    moeb::import_from_text({{"fuzz.in", text}}, opt);
  } catch (const moeb::InputError&) {
  } catch (const moeb::ConfigError&) {
  }
  return 0;
}
