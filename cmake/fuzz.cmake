# FRCNN_FUZZ=ON: the libFuzzer targets for every parser of outside input (tests/fuzz,
# docs/FUZZING.md). Needs clang (configure with CC=clang CXX=clang++) and a CPU-only build
# (-DFRCNN_CUDA=OFF); scripts/fuzz.sh configures build-fuzz that way. Every library is
# compiled with libFuzzer's coverage and ASan + UBSan (reports fatal); each target links
# libFuzzer's main. Build just the targets with `cmake --build build-fuzz --target fuzz`.
# The default (gcc) build is untouched: the option is OFF and this file then does nothing.
option(FRCNN_FUZZ "Build the libFuzzer targets of tests/fuzz (clang, FRCNN_CUDA=OFF)" OFF)
if(NOT FRCNN_FUZZ)
  return()
endif()
if(NOT CMAKE_CXX_COMPILER_ID MATCHES "Clang")
  message(FATAL_ERROR "FRCNN_FUZZ=ON needs clang (libFuzzer), not ${CMAKE_CXX_COMPILER_ID}: "
                      "configure a fresh build folder with CC=clang CXX=clang++ (scripts/fuzz.sh does)")
endif()
if(NOT FRCNN_CUDA STREQUAL "OFF" OR FRCNN_CUDA_EMULATION)
  message(FATAL_ERROR "FRCNN_FUZZ=ON fuzzes the CPU build: add -DFRCNN_CUDA=OFF (and no FRCNN_CUDA_EMULATION)")
endif()
set(FRCNN_FUZZ_SANITIZE address,undefined)
add_compile_options(-fsanitize=fuzzer-no-link,${FRCNN_FUZZ_SANITIZE} -fno-sanitize-recover=all
                    -fno-omit-frame-pointer -g)
add_link_options(-fsanitize=${FRCNN_FUZZ_SANITIZE})
