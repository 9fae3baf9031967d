// PASCAL VOC reader for the standard layout:
//   <root>/JPEGImages/<id>.jpg
//   <root>/Annotations/<id>.xml
//   <root>/ImageSets/Main/<split>.txt      (one image id per line)
// (root is the VOC2007 folder itself, e.g. VOCdevkit/VOC2007.)
//
// Boxes follow docs/DATA.md, box conventions: VOC stores 1-based inclusive pixel indices
// (xmin, ymin, xmax, ymax); the reader maps them to our continuous convention
// (xmin - 1, ymin - 1, xmax, ymax), so a one-pixel box at pixel 0 is (0, 0, 1, 1).
//
// Labels: class_names is the config's list of K foreground classes (background is not in
// it); an object's label is its index in that list + 1, so labels are 1..K, 0 is background.
//
// Bad-input policy (every case logs one warning naming the file, or throws when
// VocOptions::strict is set; nothing crashes):
//   - split file missing or unreadable:            always throws (nothing to read).
//   - annotation XML missing or malformed, no <size> or a non-positive size,
//     image file missing:                           the image is skipped.
//   - the same id listed twice in the split:        always throws (naming the split file,
//                                                   both lines and the id).
//   - <object> with a class name not in the list:   the object is skipped; the dataset logs
//                                                   one summary (each unknown class with its
//                                                   count and first file, and the fix), not
//                                                   one line per object.
//   - <object> without a parsable <bndbox>:         the object is skipped.
//   - box partly outside the image (per <size>):    clipped to the image.
//   - box of zero area (after clipping), including a box entirely outside the image:
//                                                   the object is skipped.
//   - corrupt image file, or a decoded size that disagrees with <size>: found when the
//     image is decoded (load_image / the loader); load_image throws naming the file, and
//     the loader skips the image with a warning (LoaderOptions::skip_bad_images).
// Images with no objects are kept here (evaluation needs them); the training loader
// skips images without non-difficult objects.
#pragma once
#include <string>
#include <vector>

#include "data/image.h"

namespace frcnn {

struct VocObject {
  std::string name;
  int label = 0;                        // 1..K (index in class_names + 1)
  float x1 = 0, y1 = 0, x2 = 0, y2 = 0;  // continuous image coordinates (docs/DATA.md, box conventions)
  bool difficult = false;
  bool truncated = false;
};

struct VocRecord {
  std::string id;
  std::string image_path;
  std::string annotation_path;
  int width = 0, height = 0;  // from the XML's <size>; checked against the decoded image
  std::vector<VocObject> objects;
  // Class names of the <object>s skipped because they are not in the class list, in file
  // order (not in `warnings`: the dataset summarises them, see VocDataset::unknown_classes).
  std::vector<std::string> unknown_classes;

  int num_non_difficult() const;
};

struct VocOptions {
  // Throw on the first problem instead of skipping the object or image with a warning.
  bool strict = false;
  // Keep difficult objects in the records (evaluation needs them; the training loader
  // drops them unless told otherwise). false removes them here already.
  bool keep_difficult = true;
};

// Parses one annotation file. Applies the object-level policy above (bad or zero-area box:
// skip with a warning appended to `warnings`; unknown class: skip and list the name in
// VocRecord::unknown_classes; all three throw when strict; boxes partly outside are clipped
// with a warning). Throws std::runtime_error naming
// the file for a missing or malformed file, or a missing/invalid <size>.
// image_path is left empty (the dataset fills it in).
VocRecord parse_voc_annotation(const std::string& xml_path, const std::vector<std::string>& class_names,
                               const VocOptions& options, std::vector<std::string>* warnings);

// A class found in the annotations but not in the class list.
struct VocUnknownClass {
  std::string name;
  int count = 0;           // objects skipped
  std::string first_file;  // the first annotation it appears in (split order)
};

class VocDataset {
 public:
  // Reads the split's id list and every annotation (no image is decoded here).
  VocDataset(const std::string& root, const std::string& split, std::vector<std::string> class_names,
             VocOptions options = {});

  size_t size() const { return records_.size(); }
  const VocRecord& record(size_t i) const;
  const std::vector<VocRecord>& records() const { return records_; }
  const std::vector<std::string>& class_names() const { return class_names_; }
  int num_classes() const { return static_cast<int>(class_names_.size()); }  // K, without background
  const std::string& root() const { return root_; }
  const std::string& split() const { return split_; }
  // Ids listed in the split file that were skipped (with the reason), in file order.
  const std::vector<std::string>& skipped() const { return skipped_; }
  // Every warning emitted while reading (skipped images and objects, clipped boxes, the
  // unknown-class summary).
  const std::vector<std::string>& warnings() const { return warnings_; }
  // Classes skipped as unknown, in order of first appearance.
  const std::vector<VocUnknownClass>& unknown_classes() const { return unknown_classes_; }

  // Decodes image i (RGB) and checks its size against the XML. Throws std::runtime_error
  // naming the file when it is corrupt or its size disagrees with the annotation.
  Image load_image(size_t i) const;

 private:
  std::string root_, split_;
  std::vector<std::string> class_names_;
  VocOptions options_;
  std::vector<VocRecord> records_;
  std::vector<std::string> skipped_;
  std::vector<std::string> warnings_;
  std::vector<VocUnknownClass> unknown_classes_;
};

// The 20 PASCAL VOC classes in the devkit's order (aeroplane ... tvmonitor).
std::vector<std::string> voc_class_names();

// Reads a class list: one name per line; blank lines and lines starting with '#' are
// ignored, surrounding whitespace trimmed. Throws naming the file when it is missing,
// empty, lists a name twice, or lists "__background__"/"background" (label 0 is implicit).
std::vector<std::string> read_class_names(const std::string& path);

}  // namespace frcnn
