# Which compiler builds the CI sanitizer objects and executables (cmake/MoebSanitizedParsers.cmake).
# clang++ with its libFuzzer runtime when installed (the same objects then serve libFuzzer), run
# through fuzz/clang_launcher.sh as the targets' compiler and link launcher inside the gcc
# build; else the build's own compiler. -DMOEB_SANITIZE_WITH_CLANG=OFF forces the latter.
include_guard(GLOBAL)

# True when clang++ can link libFuzzer here.
function(moeb_find_libfuzzer out)
  find_program(MOEB_CLANGXX NAMES clang++ clang++-14 DOC "clang++ for the CI sanitizer and libFuzzer targets")
  set(found FALSE)
  if(MOEB_CLANGXX)
    execute_process(COMMAND ${MOEB_CLANGXX} -print-resource-dir
                    OUTPUT_VARIABLE res OUTPUT_STRIP_TRAILING_WHITESPACE ERROR_QUIET)
    file(GLOB rts "${res}/lib/linux/libclang_rt.fuzzer-*.a" "${res}/lib/*/libclang_rt.fuzzer.a")
    if(rts)
      set(found TRUE)
    endif()
  endif()
  set(${out} ${found} PARENT_SCOPE)
endfunction()

moeb_find_libfuzzer(_moeb_have_libfuzzer)
option(MOEB_SANITIZE_WITH_CLANG "CI sanitizer objects built by clang++, with the libFuzzer runs"
       ${_moeb_have_libfuzzer})
if(MOEB_SANITIZE_WITH_CLANG AND NOT _moeb_have_libfuzzer)
  message(FATAL_ERROR "MOEB_SANITIZE_WITH_CLANG: no clang++ with libclang_rt.fuzzer "
                      "(Debian 12: apt-get install clang libclang-rt-14-dev; scripts/setup.sh)")
endif()

if(MOEB_SANITIZE_WITH_CLANG)
  set(MOEB_SANITIZED_PARSER_FLAGS -O1 -g1 -fsanitize=fuzzer-no-link,address,undefined
      -fno-sanitize-recover=undefined -fno-omit-frame-pointer)
  set(MOEB_SANITIZER_LAUNCHER "${CMAKE_SOURCE_DIR}/fuzz/clang_launcher.sh" "${MOEB_CLANGXX}")
  message(STATUS "Sanitizer step: clang (${MOEB_CLANGXX}), libFuzzer runs on")
else()
  set(MOEB_SANITIZED_PARSER_FLAGS -O0 -g1 -fsanitize=address,undefined
      -fno-sanitize-recover=undefined -fno-omit-frame-pointer)
  set(MOEB_SANITIZER_LAUNCHER "")
  message(STATUS "Sanitizer step: ${CMAKE_CXX_COMPILER_ID}, libFuzzer runs off (no clang++ with "
                 "libclang_rt.fuzzer; scripts/setup.sh installs clang libclang-rt-14-dev)")
endif()
set(MOEB_SANITIZED_PARSER_LINK -fsanitize=address,undefined)

# The compiler launcher of TARGET's compile steps (clang), or the build's own (ccache).
function(moeb_sanitizer_compiler target)
  if(MOEB_SANITIZER_LAUNCHER)
    set_target_properties(${target} PROPERTIES CXX_COMPILER_LAUNCHER "${MOEB_SANITIZER_LAUNCHER}")
  endif()
endfunction()

# The link launcher of executable TARGET (clang), or none.
function(moeb_sanitizer_linker target)
  if(MOEB_SANITIZER_LAUNCHER)
    list(JOIN MOEB_SANITIZER_LAUNCHER " " launch)
    set_target_properties(${target} PROPERTIES RULE_LAUNCH_LINK "${launch}")
  endif()
endfunction()
