# Warnings applied to every moebench target through moeb_warnings.
add_library(moeb_warnings INTERFACE)
target_compile_options(moeb_warnings INTERFACE
  $<$<COMPILE_LANGUAGE:CXX>:-Wall -Wextra -Wshadow=local -Wno-unused-parameter>)
if(MOEB_WERROR)
  target_compile_options(moeb_warnings INTERFACE $<$<COMPILE_LANGUAGE:CXX>:-Werror>)
endif()
