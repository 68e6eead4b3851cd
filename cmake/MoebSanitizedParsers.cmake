# The CI sanitizer step (docs/DEVELOPING.md, "Hostile input"): inside an ordinary (Release)
# build with tests, the files that read hostile input (moeb_io: suites, system files, results
# reader, validate, resume; moeb_workload: importers, trace reader and checks) are compiled a
# second time with AddressSanitizer + UndefinedBehaviorSanitizer (-O0: the cheapest compile).
# The parsers' unit tests (one binary) and the fuzz targets replaying and mutating their seeds
# (fuzz/replay_main.cpp) link these objects ahead of the Release libraries, which supply the
# rest (core, platform, placement, generators, writers): their memory accesses are not checked,
# but every allocation goes through ASan's allocator. ctest label `sanitize`; any report fails
# its test. -DMOEB_SANITIZED_PARSERS=OFF leaves them out; scripts/sanitize.sh instruments all.
include_guard(GLOBAL)

set(MOEB_SANITIZED_PARSER_FLAGS -O0 -g1 -fsanitize=address,undefined
    -fno-sanitize-recover=undefined -fno-omit-frame-pointer)
set(MOEB_SANITIZED_PARSER_LINK -fsanitize=address,undefined)

# The files of each library that read input (the rest of it, generators and writers, links
# from the Release library): moeb_io without its writers, moeb_workload's importers and trace
# reader. A parser file added to a library but not to these patterns is simply not instrumented.
set(MOEB_SANITIZED_PARSER_FILES
    moeb_io "/(config_keys|config_loader|system_file|output_name|sweep|results_reader|validate|resume|root_attributes)[.]cpp$"
    moeb_workload "/(import_[a-z]+|importers|trace_(file|reader|check|h5|info))[.]cpp$")

# moeb_sanitized_objects(LIB COPY REGEX): an OBJECT library COPY with the sources of LIB that
# match REGEX, LIB's include directories, definitions and options, compiled with sanitizers.
# Executables link COPY's objects first and LIB after them: every symbol of those files comes
# from the instrumented objects, so the linker never takes their Release members.
function(moeb_sanitized_objects lib copy regex)
  get_target_property(srcs ${lib} SOURCES)
  get_target_property(dir ${lib} SOURCE_DIR)
  set(abs)
  foreach(s IN LISTS srcs)
    if(NOT IS_ABSOLUTE "${s}")
      set(s "${dir}/${s}")
    endif()
    if(s MATCHES "${regex}")
      list(APPEND abs "${s}")
    endif()
  endforeach()
  if(NOT abs)
    message(FATAL_ERROR "MoebSanitizedParsers: no source of ${lib} matches ${regex}")
  endif()
  add_library(${copy} OBJECT ${abs})
  foreach(prop INCLUDE_DIRECTORIES COMPILE_DEFINITIONS COMPILE_OPTIONS)
    get_target_property(v ${lib} ${prop})
    if(v)
      set_property(TARGET ${copy} PROPERTY ${prop} "${v}")
    endif()
  endforeach()
  # Usage requirements (HDF5, MPI, nlohmann_json, ... include directories and definitions).
  get_target_property(links ${lib} LINK_LIBRARIES)
  if(links)
    target_link_libraries(${copy} PRIVATE ${links})
  endif()
  get_target_property(deps ${lib} MANUALLY_ADDED_DEPENDENCIES)
  if(deps)
    add_dependencies(${copy} ${deps})
  endif()
  target_compile_options(${copy} PRIVATE ${MOEB_SANITIZED_PARSER_FLAGS})
endfunction()

# moeb_sanitized_executable(NAME SOURCES...): instrumented executable, parser objects instrumented.
function(moeb_sanitized_executable name)
  add_executable(${name} ${ARGN})
  target_include_directories(${name} PRIVATE ${CMAKE_SOURCE_DIR}/src ${CMAKE_SOURCE_DIR}/fuzz)
  target_compile_options(${name} PRIVATE ${MOEB_SANITIZED_PARSER_FLAGS})
  target_link_options(${name} PRIVATE ${MOEB_SANITIZED_PARSER_LINK})
  target_link_libraries(${name} PRIVATE moeb_io_sanitized moeb_workload_sanitized
                        moeb_sanitizer_options moeb_io moeb_workload moeb_warnings)
endfunction()

function(moeb_add_sanitized_parsers)
  find_package(GTest REQUIRED)  # imported targets are per directory: tests/ found it for itself
  include(GoogleTest)
  set(pairs ${MOEB_SANITIZED_PARSER_FILES})
  while(pairs)
    list(POP_FRONT pairs lib regex)
    moeb_sanitized_objects(${lib} ${lib}_sanitized "${regex}")
  endwhile()
  set(tmp ${CMAKE_BINARY_DIR}/sanitize-tmp)
  file(MAKE_DIRECTORY ${tmp})

  # The parsers' unit tests, one binary (tests/unit/test_NAME.cpp); TMPDIR of its own so that
  # it never shares a temporary file with the same test of the Release build running alongside.
  set(unit)
  foreach(t config import trace_file results_io validate resume)
    list(APPEND unit ${CMAKE_SOURCE_DIR}/tests/unit/test_${t}.cpp)
  endforeach()
  moeb_sanitized_executable(test_parsers_sanitized ${unit})
  target_include_directories(test_parsers_sanitized PRIVATE ${CMAKE_SOURCE_DIR}/tests/unit)
  get_target_property(defs test_config COMPILE_DEFINITIONS)
  target_compile_definitions(test_parsers_sanitized PRIVATE ${defs})
  target_link_libraries(test_parsers_sanitized PRIVATE GTest::gtest GTest::gtest_main
                        moeb_pch_warnings)
  target_precompile_headers(test_parsers_sanitized PRIVATE <gtest/gtest.h> <algorithm> <cstdint>
                            <map> <memory> <string> <vector>)
  gtest_discover_tests(test_parsers_sanitized TEST_PREFIX "Sanitize."
                       PROPERTIES LABELS sanitize ENVIRONMENT "TMPDIR=${tmp}"
                       DISCOVERY_TIMEOUT 120)
endfunction()
