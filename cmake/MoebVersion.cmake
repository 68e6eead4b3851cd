# Git sha and dirty flag for provenance, refreshed on every build.
add_custom_target(moeb_git_version ALL
  COMMAND ${CMAKE_COMMAND} -DSRC=${CMAKE_SOURCE_DIR} -DOUT=${CMAKE_BINARY_DIR}/generated/moeb_git.hpp
          -P ${CMAKE_SOURCE_DIR}/cmake/GitVersion.cmake
  BYPRODUCTS ${CMAKE_BINARY_DIR}/generated/moeb_git.hpp
  COMMENT "moebench: recording git sha")
