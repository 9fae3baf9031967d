// A deterministic synthetic detection dataset written in the exact PASCAL VOC layout,
// the bundled default for the demo and the tests (no download needed):
//
//   <out>/JPEGImages/<id>.jpg
//   <out>/Annotations/<id>.xml              VOC schema: <size>, <object><name>, <truncated>,
//                                           <difficult>, <bndbox> with 1-based inclusive pixels
//   <out>/ImageSets/Main/trainval.txt, test.txt
//   <out>/ImageSets/Main/<class>_trainval.txt, <class>_test.txt   ("<id>  1" / "<id> -1" /
//                                           "<id>  0" = present only as difficult, as in VOC)
//   <out>/classes.txt                       one class name per line (the config's class list)
//   <out>/.frcnn-synth                      marker: this folder was written by synth (kSynthMarker)
//
// Content: six classes that differ in shape and colour (circle, square, triangle, cross,
// ring, diamond), 1-4 objects of 30-120 px per image (overlaps allowed, IoU <= 0.4),
// on cluttered backgrounds (a colour gradient, pixel noise, distractor blobs and
// lines); sometimes one extra small object (12-22 px) marked difficult. Image sides
// are 200-400 px. The boxes are the tight bounds of the drawn pixels.
//
// Determinism: every random draw comes from Philox (engine/philox.h) keyed by
// (seed, image index), and the drawing uses integer/float arithmetic only (no libm
// transcendental functions), so the same seed gives byte-identical files.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "data/image.h"
#include "data/voc.h"

namespace frcnn {

struct SynthOptions {
  std::string out;       // the VOC root to write (created if missing)
  int train = 200;       // images in trainval
  int test = 50;         // images in test
  uint64_t seed = 0;     // same seed -> byte-identical files
  int min_side = 200;    // image width and height are drawn in [min_side, max_side]
  int max_side = 400;
  int jpeg_quality = 90;
  // `out` must be missing or empty unless force is set. Even with force, a folder that holds a
  // VOC dataset without the marker file (kSynthMarker) is refused: synth never overwrites a
  // dataset it did not write. With force, the files of an earlier synth there are replaced.
  bool force = false;
};

// Written first into every synthetic dataset's root, so that a later synth knows the folder
// is its own (and an interrupted one can be redone with force).
inline constexpr const char* kSynthMarker = ".frcnn-synth";

// The six class names, in label order (label = index + 1).
std::vector<std::string> synth_class_names();

// One synthetic image and its objects (boxes in our continuous convention, labels 1..6).
struct SynthSample {
  Image image;
  std::vector<VocObject> objects;
};
// Image `index` of the dataset with `seed` (trainval images are 0..train-1, test images
// continue the numbering), at sides drawn from [min_side, max_side].
SynthSample make_synthetic_image(uint64_t seed, uint64_t index, int min_side = 200, int max_side = 400);

// The VOC XML text for an image (1-based inclusive boxes).
std::string voc_annotation_xml(const std::string& id, int width, int height, const std::vector<VocObject>& objects);

struct SynthSummary {
  int images = 0;
  int objects = 0;
  int difficult = 0;
};
// Writes the whole dataset (see the header comment). Throws naming the path on I/O errors and
// when `out` may not be written (SynthOptions::force), before writing anything.
SynthSummary write_synthetic_voc(const SynthOptions& options);

}  // namespace frcnn
