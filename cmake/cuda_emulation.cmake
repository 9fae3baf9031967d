# FRCNN_CUDA_EMULATION=ON: the CUDA backend is built without nvcc and runs on the CPU.
# Every *.cu is compiled as C++ against emu/ (its include/ holds stand-ins for
# cuda_runtime.h, cublas_v2.h, CUB and thrust); the emulated device is cuda:0 to the
# rest of the engine, so every CUDA code path runs. cuDNN is not emulated. See
# emu/README.md and docs/EMULATION.md. Included from cmake/cuda.cmake.
find_package(Boost REQUIRED COMPONENTS context)

set(FRCNN_SANITIZE "address,undefined" CACHE STRING
    "Sanitizers of the emulated build: a -fsanitize= list (address,undefined), or empty for none")
if(FRCNN_SANITIZE)
  # UBSan reports are fatal (a test must fail, not print); vptr checks need RTTI on
  # every library and add nothing for device code.
  add_compile_options(-fsanitize=${FRCNN_SANITIZE} -fno-omit-frame-pointer -fno-sanitize-recover=all)
  add_link_options(-fsanitize=${FRCNN_SANITIZE})
  if(FRCNN_SANITIZE MATCHES "undefined")
    add_compile_options(-fno-sanitize=vptr)
  endif()
endif()

add_subdirectory(${PROJECT_SOURCE_DIR}/emu ${PROJECT_BINARY_DIR}/emu)

# The targets the CMakeLists files link when FRCNN_WITH_CUDA is on.
foreach(_t cudart cublas)
  add_library(CUDA::${_t} INTERFACE IMPORTED GLOBAL)
  set_target_properties(CUDA::${_t} PROPERTIES INTERFACE_LINK_LIBRARIES frcnn_cuda_emu)
endforeach()

set(FRCNN_WITH_CUDA ON)
set(FRCNN_WITH_CUDNN OFF)
set(CMAKE_CUDA_ARCHITECTURES "emulated")
