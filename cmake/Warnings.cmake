# One interface target carries the project's warning flags; every voxgate target links it.
add_library(voxgate_warnings INTERFACE)
# Designated initializers that leave members at their defaults are the point of them;
# -Wextra would flag each one.
target_compile_options(voxgate_warnings INTERFACE -Wall -Wextra -Wpedantic
                       -Wno-missing-field-initializers)
# GCC 12 reports -Wrestrict on ordinary std::string concatenation at -O2 (GCC bug 105329,
# fixed in 13): a false positive that would fail Release builds under -Werror.
if(CMAKE_CXX_COMPILER_ID STREQUAL "GNU" AND CMAKE_CXX_COMPILER_VERSION VERSION_LESS 13)
  target_compile_options(voxgate_warnings INTERFACE -Wno-restrict)
endif()
if(VOXGATE_WERROR)
  target_compile_options(voxgate_warnings INTERFACE -Werror)
endif()

# voxgate_module(<name> SOURCES ... DEPS ...): a module folder under src/ as a static
# library voxgate_<name> (alias voxgate::<name>), with src/ as its include root.
function(voxgate_module name)
  cmake_parse_arguments(ARG "" "" "SOURCES;DEPS" ${ARGN})
  add_library(voxgate_${name} STATIC ${ARG_SOURCES})
  add_library(voxgate::${name} ALIAS voxgate_${name})
  target_include_directories(voxgate_${name} PUBLIC ${PROJECT_SOURCE_DIR}/src)
  target_link_libraries(voxgate_${name} PUBLIC ${ARG_DEPS} PRIVATE voxgate_warnings)
endfunction()

# voxgate_backend(<module> <backend> SOURCES ... DEPS ...): one backend of an engine
# interface as its own library voxgate_<module>_<backend> (alias voxgate::<module>_<backend>),
# so that code using the interface (call/) does not link the backends; only app/ does.
function(voxgate_backend module backend)
  cmake_parse_arguments(ARG "" "" "SOURCES;DEPS" ${ARGN})
  voxgate_module(${module}_${backend} SOURCES ${ARG_SOURCES} DEPS voxgate::${module} ${ARG_DEPS})
endfunction()
