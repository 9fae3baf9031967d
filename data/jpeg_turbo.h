// JPEG decoding through libjpeg-turbo's TurboJPEG API: on VOC-sized photos about twice as
// fast as stb_image (docs/BENCHMARKS.md, "Loader"); the library's default decode (ISLOW
// IDCT, fancy upsampling), the library Debian's PIL links.
//
// decode_jpeg_turbo decodes a complete, clean JPEG to RGB (grey becomes RGB) and returns
// true. On ANY complaint of the library — an error, or a warning such as a premature end of
// the data or a corrupt entropy segment — it returns false with `out` untouched, and the
// caller decodes with stb_image instead, whose handling of damaged files (and the messages
// built on it, data/image.cpp) is what the tests and the fuzzer pin down. CMYK / YCCK
// JPEGs, which TurboJPEG does not convert to RGB, go the same way.
#pragma once
#include <string>

#include "data/image.h"

namespace frcnn {

// Decodes only when the file's header says `width` x `height` (the size the caller has
// already checked against its limits: stb_image's reading of the same header), so a file
// the two parsers read differently cannot slip past those limits. channels: the file's (1
// grey, 3 colour), as ImageFileInfo reports it.
bool decode_jpeg_turbo(const std::string& bytes, int width, int height, Image* out, int* channels);

}  // namespace frcnn
