// libFuzzer target: the suite loader (io/config_loader parse_suite) on arbitrary TOML text.
// A ConfigError is the expected answer to bad input; anything else (another exception, a crash,
// a sanitizer report, a hang) is a finding.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "core/error.hpp"
#include "io/config_loader.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  try {
    moeb::parse_suite(text, "fuzz.toml");
  } catch (const moeb::ConfigError&) {
  } catch (const moeb::InputError&) {
  }
  return 0;
}
