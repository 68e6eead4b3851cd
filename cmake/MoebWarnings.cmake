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
