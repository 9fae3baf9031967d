// The fuzz build's stb_image: the decoder compiled from Debian's header with the fuzz
// build's sanitizers and coverage, so that fuzz_image sees inside it. The executable's
// definitions take precedence over the uninstrumented libstb.so that frcnn_data links.
// Only the fuzz build compiles this file (tests/fuzz/CMakeLists.txt).
#define STB_IMAGE_IMPLEMENTATION
#include <stb/stb_image.h>
