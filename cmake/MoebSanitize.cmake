# Sanitizer builds (docs/DEVELOPING.md, scripts/sanitize.sh):
#   -DMOEB_SANITIZE=address,undefined
# instruments every target of the tree (libraries, moebench, tests). Undefined behaviour aborts
# at the first report (-fno-sanitize-recover), so a test that triggers one fails. CUDA code is
# not instrumented: configure sanitizer builds with -DMOEB_WITH_CUDA=OFF.
set(MOEB_SANITIZE "" CACHE STRING "Sanitizers for every target, e.g. address,undefined (empty = none)")
if(MOEB_SANITIZE)
  if(MOEB_SANITIZE MATCHES "fuzzer")
    message(FATAL_ERROR "MOEB_SANITIZE: use -DMOEB_BUILD_FUZZERS=ON for libFuzzer, not 'fuzzer'")
  endif()
  set(_moeb_san -fsanitize=${MOEB_SANITIZE} -fno-omit-frame-pointer)
  if(MOEB_SANITIZE MATCHES "undefined")
    list(APPEND _moeb_san -fno-sanitize-recover=undefined)
  endif()
  foreach(f ${_moeb_san})
    add_compile_options($<$<COMPILE_LANGUAGE:C,CXX>:${f}>)
  endforeach()
  add_link_options(${_moeb_san})
  message(STATUS "Sanitizers: ${MOEB_SANITIZE}")
endif()

# libFuzzer builds (fuzz/, scripts/fuzz.sh): clang only. Coverage instrumentation on every target
# (fuzzer-no-link) plus ASan and UBSan; the fuzz executables link libFuzzer's main.
option(MOEB_BUILD_FUZZERS "Build the libFuzzer targets of fuzz/ (clang)" OFF)
if(MOEB_BUILD_FUZZERS)
  if(NOT CMAKE_CXX_COMPILER_ID MATCHES "Clang")
    message(FATAL_ERROR "MOEB_BUILD_FUZZERS needs clang: configure with -DCMAKE_CXX_COMPILER=clang++ "
                        "-DCMAKE_C_COMPILER=clang")
  endif()
  foreach(f -fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=undefined
            -fno-omit-frame-pointer)
    add_compile_options($<$<COMPILE_LANGUAGE:C,CXX>:${f}>)
  endforeach()
  add_link_options(-fsanitize=address,undefined)
endif()

# The CI sanitizer step (cmake/MoebSanitizedParsers.cmake): ASan + UBSan copies of the parser
# libraries, their unit tests and the fuzz replays inside an ordinary build with tests (label
# sanitize). Off where everything is instrumented already (MOEB_SANITIZE, MOEB_BUILD_FUZZERS).
option(MOEB_SANITIZED_PARSERS "Build ASan+UBSan copies of the parsers and their tests (ctest -L sanitize)" ON)
if(MOEB_SANITIZE OR MOEB_BUILD_FUZZERS OR NOT CMAKE_CXX_COMPILER_ID MATCHES "GNU|Clang")
  set(MOEB_SANITIZED_PARSERS OFF)
endif()
