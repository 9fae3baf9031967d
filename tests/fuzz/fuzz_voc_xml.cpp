// Fuzz target: one PASCAL VOC annotation file through parse_voc_annotation (data/voc.h), as
// VocDataset reads it, with the 20 VOC classes, in the lenient mode (object problems are
// warnings) and the strict one (they throw), keeping and dropping difficult objects.
// A parse that succeeds must give a positive integer size and, for every object, a known
// label and a box of positive area inside the image (the reader clips and skips to that end).
#include <cmath>
#include <string>
#include <vector>

#include "data/voc.h"
#include "tests/fuzz/fuzz_util.h"

FRCNN_FUZZ_TARGET(voc_xml) {
  using namespace frcnn;
  static const std::vector<std::string> classes = voc_class_names();
  const std::string path = fuzz::write_input(data, size, "000001.xml");
  for (int mode = 0; mode < 3; ++mode) {
    VocOptions opt;
    opt.strict = mode == 1;
    opt.keep_difficult = mode != 2;
    fuzz::expect_clean(path, [&] {
      std::vector<std::string> warnings;
      const VocRecord r = parse_voc_annotation(path, classes, opt, &warnings);
      fuzz::check(r.width >= 1 && r.height >= 1, "image size >= 1x1");
      fuzz::check(r.id == "000001", "the id is the file's stem");
      for (const VocObject& o : r.objects) {
        fuzz::check(o.label >= 1 && o.label <= static_cast<int>(classes.size()), "label in 1..K");
        fuzz::check(classes[o.label - 1] == o.name, "label matches the name");
        fuzz::check(std::isfinite(o.x1) && std::isfinite(o.y1) && std::isfinite(o.x2) && std::isfinite(o.y2),
                    "finite box");
        fuzz::check(0 <= o.x1 && o.x1 < o.x2 && o.x2 <= r.width, "box x inside the image, positive width");
        fuzz::check(0 <= o.y1 && o.y1 < o.y2 && o.y2 <= r.height, "box y inside the image, positive height");
        fuzz::check(opt.keep_difficult || !o.difficult, "difficult objects dropped when asked");
      }
      for (const std::string& w : warnings) fuzz::check(w.find(path) != std::string::npos, "warnings name the file");
    });
  }
  return 0;
}
