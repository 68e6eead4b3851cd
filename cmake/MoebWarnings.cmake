# Warnings applied to every moebench target through moeb_warnings.
add_library(moeb_warnings INTERFACE)
target_compile_options(moeb_warnings INTERFACE
  $<$<COMPILE_LANGUAGE:CXX>:-Wall -Wextra -Wshadow=local -Wno-unused-parameter>)
# GCC 12 reports -Wrestrict false positives inside libstdc++ string concatenation (GCC PR 105651).
if(CMAKE_CXX_COMPILER_ID STREQUAL "GNU" AND CMAKE_CXX_COMPILER_VERSION VERSION_LESS 13)
  target_compile_options(moeb_warnings INTERFACE $<$<COMPILE_LANGUAGE:CXX>:-Wno-restrict>)
endif()
if(MOEB_WERROR)
  target_compile_options(moeb_warnings INTERFACE $<$<COMPILE_LANGUAGE:CXX>:-Werror>)
endif()

# With precompiled headers GCC 12 also reports -Warray-bounds / -Wstringop-overflow false
# positives inside inlined std::string code (GCC PRs 105651, 106199); targets that use a PCH link
# this instead of silencing the warnings everywhere.
add_library(moeb_pch_warnings INTERFACE)
if(CMAKE_CXX_COMPILER_ID STREQUAL "GNU" AND CMAKE_CXX_COMPILER_VERSION VERSION_LESS 13)
  target_compile_options(moeb_pch_warnings INTERFACE
    $<$<COMPILE_LANGUAGE:CXX>:-Wno-array-bounds -Wno-stringop-overflow>)
endif()
