# The CI sanitizer step (docs/DEVELOPING.md, "Hostile input"; ctest label sanitize): inside an
# ordinary (Release) build with tests, the files that read hostile input and those that do the
# index math of a run are compiled a second time with AddressSanitizer + UndefinedBehavior-
# Sanitizer, once, and every sanitizer executable links them ahead of the Release libraries,
# which supply the rest (not instrumented; their allocations still go through ASan's allocator):
#   - the unit tests of those files (the Release build's own test objects: the test code is not
#     instrumented, the library code it calls is), Sanitize.<Suite>.<Test>;
#   - moebench itself (the Release build's objects of the command line), run under mpirun;
#   - every fuzz target replaying its seeds and regressions and running fixed-seed mutants
#     (fuzz/replay_main.cpp), and, with clang, under libFuzzer for a few seconds.
# With clang++ and its libFuzzer runtime installed (scripts/setup.sh), clang compiles these
# objects (fuzz/clang_launcher.sh as their compiler launcher, -O1, with libFuzzer's coverage
# too) and links the sanitizer executables; without, gcc does (-O0) and the libFuzzer runs are
# left out. Any report fails its test. -DMOEB_SANITIZED_PARSERS=OFF leaves all this out;
# scripts/sanitize.sh instruments the whole tree.
include_guard(GLOBAL)

# The instrumented files, chosen for what touches input, memory and index math (a file added
# to a library but not to these patterns is simply not instrumented):
#   io: suite loader and keys, system files, sweeps, output names, results reader, validate,
#       resume (not the writers);
#   workload: importers, trace reader, checks and info, the synthetic generators, the split;
#   platform: the HDF5 wrappers and the guard (h5*.cpp);
#   core: model, topology, traces, routing, batches, placement, evaluator, dispatch and
#       hierarchical plans, memory budget and model, results, errors;
#   placement: the shared code (common, partition, EPLB core), baseline, round robin, EPLB and
#       the registry (the other strategies link from the Release build).
set(MOEB_SANITIZED_PARSER_FILES
    moeb_io "/(config_keys|config_loader|system_file|output_name|sweep|results_reader|validate|resume|root_attributes)[.]cpp$"
    moeb_workload "/(import_[a-z]+|importers|trace_(file|reader|check|h5|info)|generator|token_source|synthetic|synthetic_source|split)[.]cpp$"
    moeb_platform "/h5[a-z_]*[.]cpp$"
    moeb_core "/(error|run_types|results|batch_routing|model|topology|trace|parallel|placement|routing|evaluator|dispatch_plan|memory_budget|memory_model|hier_plan)[.]cpp$"
    moeb_placement "/(common|partition|eplb_core|eplb|baseline|round_robin|registry)[.]cpp$")

# The unit tests run against them (tests/unit/test_NAME.cpp, the Release build's objects).
set(MOEB_SANITIZED_UNIT_TESTS
    config import trace_file results_io validate resume import_limits trace_file_checks
    workload synthetic split platform
    evaluator dispatch_plan core_model_topology memory_model hier_plan replica_routing
    eplb strategies_budget)

include(MoebSanitizedClang)  # MOEB_SANITIZE_WITH_CLANG, MOEB_SANITIZED_PARSER_FLAGS, ..._LINK

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
  moeb_sanitizer_compiler(${copy})
endfunction()

# moeb_release_objects(OUT TARGET): the object files the Release build compiles for TARGET's own
# sources (Ninja and Makefiles both put them at CMakeFiles/TARGET.dir/SOURCE.o), to be linked
# again without compiling them a second time; building them is a dependency of the linking.
function(moeb_release_objects out target)
  get_target_property(srcs ${target} SOURCES)
  get_target_property(sdir ${target} SOURCE_DIR)
  get_target_property(bdir ${target} BINARY_DIR)
  set(_moeb_objs)  # (not `objs`: it would hide the caller's variable of that name)
  get_target_property(unity ${target} UNITY_BUILD)
  if(unity)  # one batch (UNITY_BUILD_BATCH_SIZE 0): CMake's one object for every source
    set(srcs Unity/unity_0_cxx.cxx)
  endif()
  foreach(s IN LISTS srcs)
    if(IS_ABSOLUTE "${s}")
      file(RELATIVE_PATH s "${sdir}" "${s}")
    endif()
    list(APPEND _moeb_objs ${bdir}/CMakeFiles/${target}.dir/${s}${CMAKE_CXX_OUTPUT_EXTENSION})
  endforeach()
  set_source_files_properties(${_moeb_objs} PROPERTIES EXTERNAL_OBJECT TRUE GENERATED TRUE)
  set(${out} ${${out}} ${_moeb_objs} PARENT_SCOPE)
endfunction()

# moeb_sanitized_executable(NAME SOURCES...): instrumented executable, parser objects instrumented.
function(moeb_sanitized_executable name)
  add_executable(${name} ${ARGN})
  target_include_directories(${name} PRIVATE ${CMAKE_SOURCE_DIR}/src ${CMAKE_SOURCE_DIR}/fuzz)
  target_compile_options(${name} PRIVATE ${MOEB_SANITIZED_PARSER_FLAGS})
  target_link_options(${name} PRIVATE ${MOEB_SANITIZED_PARSER_LINK})
  target_link_libraries(${name} PRIVATE moeb_io_sanitized moeb_placement_sanitized
                        moeb_workload_sanitized moeb_platform_sanitized moeb_core_sanitized
                        moeb_sanitizer_options moeb_io moeb_workload moeb_warnings)
  moeb_sanitizer_compiler(${name})
  moeb_sanitizer_linker(${name})
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

  # The unit tests, one binary; TMPDIR of its own so that it never shares a temporary file with
  # the same test of the Release build running alongside.
  set(objs)
  set(deps)
  foreach(t ${MOEB_SANITIZED_UNIT_TESTS})
    moeb_release_objects(objs test_${t})
    list(APPEND deps test_${t})
  endforeach()
  moeb_sanitized_executable(test_sanitized ${objs})
  add_dependencies(test_sanitized ${deps})
  target_link_libraries(test_sanitized PRIVATE GTest::gtest GTest::gtest_main)
  foreach(lib moeb_experiment moeb_report moeb_runtime moeb_placement moeb_platform moeb_core)
    target_link_libraries(test_sanitized PRIVATE ${lib})
  endforeach()
  gtest_discover_tests(test_sanitized TEST_PREFIX "Sanitize."
                       PROPERTIES LABELS sanitize ENVIRONMENT "TMPDIR=${tmp}"
                       DISCOVERY_TIMEOUT 120)

  # moebench itself: the Release build's objects of the command line, the instrumented files,
  # the rest from the Release build. Real MPI runs below.
  set(objs)
  moeb_release_objects(objs moebench)
  moeb_sanitized_executable(moebench_sanitized ${objs})
  add_dependencies(moebench_sanitized moebench)
  get_target_property(links moebench LINK_LIBRARIES)
  target_link_libraries(moebench_sanitized PRIVATE ${links})
  set_target_properties(moebench_sanitized PROPERTIES RUNTIME_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR}/bin)
  moeb_add_sanitized_mpi_tests(${tmp})
endfunction()

# MPI runs of moebench_sanitized (label sanitize), each through scripts/sanitized_test.sh, which
# sends every sanitizer report of every process (mpirun's ranks included) to files of its own
# and fails the test when there is one: the test scripts keep the output of what they run.
# LeakSanitizer is off there (Open MPI keeps its allocations until exit).
function(moeb_add_sanitized_mpi_tests tmp)
  set(check ${CMAKE_SOURCE_DIR}/scripts/sanitized_test.sh ${CMAKE_BINARY_DIR}/sanitize-reports)
  set(cli ${CMAKE_SOURCE_DIR}/tests/cli)
  set(exe $<TARGET_FILE:moebench_sanitized>)
  # 4 ranks as 2 virtual nodes, every strategy, validate and the bytes recomputed.
  add_test(NAME Sanitize.Cli.Run.quickstart
           COMMAND ${check} Run.quickstart ${MOEB_PLOT_PYTHON} ${cli}/run_cli_test.py ${exe}
                   quickstart ${CMAKE_BINARY_DIR}/sanitize-cli/run)
  # 4 ranks, an error on rank 2 ends the run, validate reports it, --resume completes the file.
  add_test(NAME Sanitize.Cli.RankError.np4_rank2_end_moeb_error
           COMMAND ${check} RankError ${MOEB_PLOT_PYTHON} ${cli}/rank_error_test.py ${exe}
                   np4_rank2_end_moeb_error ${CMAKE_BINARY_DIR}/sanitize-cli/rank_error)
  set_tests_properties(Sanitize.Cli.Run.quickstart Sanitize.Cli.RankError.np4_rank2_end_moeb_error
                       PROPERTIES LABELS sanitize TIMEOUT 600 PROCESSORS 2
                       ENVIRONMENT "TMPDIR=${tmp};MOEB_SANITIZE_LEAKS=0")
endfunction()

# libFuzzer in CI (fuzz/README.md, "libFuzzer in CI"; clang only): each fuzz target's source and
# the instrumented objects (which carry libFuzzer's coverage) linked with libFuzzer's main as
# fuzz/libfuzzer/TARGET; ctest Sanitize.LibFuzzer.TARGET fuzzes it for MOEB_CI_FUZZ_SECONDS
# with a fixed seed (fuzz/run_libfuzzer.sh). dirs_TARGET (seed directories) from the caller.
function(moeb_add_ci_libfuzzer)
  if(NOT MOEB_SANITIZE_WITH_CLANG)
    return()
  endif()
  set(MOEB_CI_FUZZ_SECONDS 6 CACHE STRING "Seconds of libFuzzer per fuzz target in ctest -L sanitize")
  foreach(t ${ARGN})
    get_target_property(src ${t} SOURCES)
    list(FILTER src EXCLUDE REGEX "replay_main")
    list(TRANSFORM src PREPEND ${CMAKE_SOURCE_DIR}/fuzz/)
    moeb_sanitized_executable(${t}_libfuzzer ${src})
    get_target_property(defs ${t} COMPILE_DEFINITIONS)
    if(defs)
      target_compile_definitions(${t}_libfuzzer PRIVATE ${defs})
    endif()
    target_link_options(${t}_libfuzzer PRIVATE -fsanitize=fuzzer)
    set_target_properties(${t}_libfuzzer PROPERTIES OUTPUT_NAME ${t}
                          RUNTIME_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR}/fuzz/libfuzzer)
    add_test(NAME Sanitize.LibFuzzer.${t}
             COMMAND ${CMAKE_SOURCE_DIR}/fuzz/run_libfuzzer.sh $<TARGET_FILE:${t}_libfuzzer>
                     ${MOEB_CI_FUZZ_SECONDS} ${CMAKE_BINARY_DIR}/fuzz/libfuzzer/work-${t} ${dirs_${t}})
    set_tests_properties(Sanitize.LibFuzzer.${t} PROPERTIES LABELS sanitize TIMEOUT 300
                         FIXTURES_REQUIRED moeb_fuzz_seeds
                         ENVIRONMENT "MOEB_FUZZ_TMP=${CMAKE_BINARY_DIR}/sanitize-tmp;MOEB_HDF5_GUARD_TIMEOUT_S=5")
  endforeach()
endfunction()
