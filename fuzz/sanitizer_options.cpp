// Default sanitizer options of the sanitizer executables (cmake/MoebSanitizedParsers.cmake) and
// of the libFuzzer targets: any report ends the process with a failure; $ASAN_OPTIONS,
// $UBSAN_OPTIONS and $LSAN_OPTIONS still override. Reports that libhdf5 itself causes on a
// malformed file are suppressed (fuzz/libhdf5.supp, fuzz/README.md "HDF5").
#ifndef MOEB_FUZZ_SOURCE_DIR
#error "MOEB_FUZZ_SOURCE_DIR must name fuzz/"
#endif

extern "C" const char* __asan_default_options() {
  return "detect_leaks=1:abort_on_error=0:detect_stack_use_after_return=0:strict_string_checks=1:"
         "suppressions=" MOEB_FUZZ_SOURCE_DIR "/libhdf5.supp";
}
extern "C" const char* __ubsan_default_options() { return "halt_on_error=1:print_stacktrace=1"; }
// Memory that libhdf5 allocates and does not free when it gives up on a malformed file.
extern "C" const char* __lsan_default_suppressions() { return "leak:libhdf5\n"; }
