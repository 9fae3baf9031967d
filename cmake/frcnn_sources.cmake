# frcnn_add_library(NAME DIR [DEPS ...])
# One static library per top-level folder. Sources are globbed (CONFIGURE_DEPENDS, so
# a new file is picked up on the next build):
#   *.cpp            always compiled;
#   *.cu, *_cuda.cpp only when the CUDA backend is built (FRCNN_WITH_CUDA).
# Code that must exist in both builds dispatches with `#if FRCNN_WITH_CUDA`.
function(frcnn_add_library name dir)
  cmake_parse_arguments(ARG "" "" "DEPS" ${ARGN})
  file(GLOB _cpp CONFIGURE_DEPENDS ${dir}/*.cpp)
  file(GLOB _cuda_cpp CONFIGURE_DEPENDS ${dir}/*_cuda.cpp)
  file(GLOB _cu CONFIGURE_DEPENDS ${dir}/*.cu)
  if(_cuda_cpp)
    list(REMOVE_ITEM _cpp ${_cuda_cpp})
  endif()
  set(_srcs ${_cpp})
  if(FRCNN_WITH_CUDA)
    list(APPEND _srcs ${_cuda_cpp} ${_cu})
  endif()
  if(FRCNN_CUDA_EMULATION AND _cu)
    # host C++ against emu/; `threadIdx.x < n` (unsigned vs int) is CUDA's own idiom
    set_source_files_properties(${_cu} PROPERTIES LANGUAGE CXX COMPILE_OPTIONS -Wno-sign-compare)
  endif()
  if(NOT _srcs)  # a folder whose code has not landed yet: header-only for now
    add_library(${name} INTERFACE)
    target_include_directories(${name} INTERFACE ${PROJECT_SOURCE_DIR})
    target_link_libraries(${name} INTERFACE ${ARG_DEPS})
    return()
  endif()
  add_library(${name} STATIC ${_srcs})
  target_include_directories(${name} PUBLIC ${PROJECT_SOURCE_DIR})
  target_link_libraries(${name} PUBLIC ${ARG_DEPS})
  target_compile_options(${name} PRIVATE $<$<COMPILE_LANGUAGE:CXX>:${FRCNN_CXX_WARNINGS}>)
  if(FRCNN_WITH_CUDA AND NOT FRCNN_CUDA_EMULATION)
    set_target_properties(${name} PROPERTIES CUDA_SEPARABLE_COMPILATION OFF)
    target_compile_options(${name} PRIVATE $<$<COMPILE_LANGUAGE:CUDA>:--expt-relaxed-constexpr -lineinfo>)
  endif()
endfunction()
