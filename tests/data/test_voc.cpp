// VOC reader on a small synthetic set and on every bad-input case; synth determinism.
#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

#include "data/synth.h"
#include "data/voc.h"
#include "tests/test_util.h"

using namespace frcnn;
namespace fs = std::filesystem;

namespace {

std::string read_all(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

void write_text(const fs::path& p, const std::string& s) { std::ofstream(p, std::ios::binary) << s; }

// A 6-image trainval + 2-image test synthetic set.
fs::path make_synth(const std::string& tag, uint64_t seed = 7, int train = 6, int test = 2) {
  auto dir = test::temp_dir(tag);
  SynthOptions o;
  o.out = dir.string();
  o.train = train;
  o.test = test;
  o.seed = seed;
  write_synthetic_voc(o);
  return dir;
}

// A hand-written annotation for image `id` of size w x h.
std::string xml_with(int w, int h, const std::string& objects) {
  return "<annotation><filename>x.jpg</filename><size><width>" + std::to_string(w) + "</width><height>" +
         std::to_string(h) + "</height><depth>3</depth></size>" + objects + "</annotation>";
}
std::string obj(const std::string& name, int xmin, int ymin, int xmax, int ymax, int difficult = 0) {
  return "<object><name>" + name + "</name><truncated>0</truncated><difficult>" + std::to_string(difficult) +
         "</difficult><bndbox><xmin>" + std::to_string(xmin) + "</xmin><ymin>" + std::to_string(ymin) +
         "</ymin><xmax>" + std::to_string(xmax) + "</xmax><ymax>" + std::to_string(ymax) + "</ymax></bndbox></object>";
}

}  // namespace

TEST_CASE("voc: reads a synthetic set with the VOC box convention", "[voc]") {
  auto dir = make_synth("voc_read");
  VocDataset ds(dir.string(), "trainval", read_class_names((dir / "classes.txt").string()));
  REQUIRE(ds.size() == 6);
  REQUIRE(ds.num_classes() == 6);
  REQUIRE(ds.skipped().empty());
  REQUIRE(ds.warnings().empty());
  VocDataset test_ds(dir.string(), "test", synth_class_names());
  REQUIRE(test_ds.size() == 2);
  REQUIRE(test_ds.record(0).id == "000007");  // ids continue after trainval

  for (size_t i = 0; i < ds.size(); ++i) {
    const VocRecord& r = ds.record(i);
    // The records match what the generator drew, through the XML's 1-based boxes.
    SynthSample s = make_synthetic_image(7, i);
    REQUIRE(r.width == s.image.width);
    REQUIRE(r.height == s.image.height);
    REQUIRE(r.width >= 200);
    REQUIRE(r.width <= 400);
    REQUIRE(r.objects.size() == s.objects.size());
    REQUIRE(!r.objects.empty());
    for (size_t k = 0; k < r.objects.size(); ++k) {
      const auto& a = r.objects[k];
      const auto& b = s.objects[k];
      REQUIRE(a.name == b.name);
      REQUIRE(a.label == b.label);
      REQUIRE(a.label >= 1);
      REQUIRE(a.label <= 6);
      REQUIRE(a.x1 == b.x1);
      REQUIRE(a.y1 == b.y1);
      REQUIRE(a.x2 == b.x2);
      REQUIRE(a.y2 == b.y2);
      REQUIRE(a.difficult == b.difficult);
      REQUIRE(a.x1 >= 0);
      REQUIRE(a.x2 <= r.width);
      if (!a.difficult) {
        REQUIRE(a.x2 - a.x1 >= 20);  // drawn extent of a 30-120 px object
        REQUIRE(a.x2 - a.x1 <= 120);
      }
    }
    Image img = ds.load_image(i);
    REQUIRE(img.width == r.width);
    REQUIRE(img.height == r.height);
  }
}

TEST_CASE("voc: annotation mapping of 1-based inclusive boxes", "[voc]") {
  auto dir = test::temp_dir("voc_map");
  write_text(dir / "a.xml", xml_with(50, 40, obj("dog", 1, 1, 1, 1) + obj("cat", 10, 5, 20, 30, 1)));
  std::vector<std::string> warnings;
  VocRecord r = parse_voc_annotation((dir / "a.xml").string(), {"cat", "dog"}, {}, &warnings);
  REQUIRE(warnings.empty());
  REQUIRE(r.width == 50);
  REQUIRE(r.height == 40);
  REQUIRE(r.objects.size() == 2);
  // One pixel at (0, 0): (0, 0, 1, 1).
  REQUIRE(r.objects[0].label == 2);
  REQUIRE(r.objects[0].x1 == 0.f);
  REQUIRE(r.objects[0].y1 == 0.f);
  REQUIRE(r.objects[0].x2 == 1.f);
  REQUIRE(r.objects[0].y2 == 1.f);
  REQUIRE(r.objects[1].label == 1);
  REQUIRE(r.objects[1].x1 == 9.f);
  REQUIRE(r.objects[1].y1 == 4.f);
  REQUIRE(r.objects[1].x2 == 20.f);
  REQUIRE(r.objects[1].y2 == 30.f);
  REQUIRE(r.objects[1].difficult);
  REQUIRE(r.num_non_difficult() == 1);
  VocOptions no_diff;
  no_diff.keep_difficult = false;
  REQUIRE(parse_voc_annotation((dir / "a.xml").string(), {"cat", "dog"}, no_diff, nullptr).objects.size() == 1);
}

TEST_CASE("voc: object-level bad input is skipped or clipped with a warning", "[voc]") {
  auto dir = test::temp_dir("voc_objects");
  const auto xml = (dir / "b.xml").string();
  write_text(xml, xml_with(100, 80,
                           obj("cat", 10, 10, 30, 30) +        // fine
                               obj("unicorn", 10, 10, 30, 30) +  // unknown class: skipped
                               obj("cat", 90, 70, 120, 95) +     // partly outside: clipped to (89, 69, 100, 80)
                               obj("cat", 200, 200, 220, 220) +  // entirely outside: zero area, skipped
                               obj("cat", 40, 40, 39, 50)));     // xmax < xmin: zero area, skipped
  std::vector<std::string> warnings;
  VocRecord r = parse_voc_annotation(xml, {"cat"}, {}, &warnings);
  REQUIRE(r.objects.size() == 2);
  REQUIRE(r.objects[1].x1 == 89.f);
  REQUIRE(r.objects[1].y1 == 69.f);
  REQUIRE(r.objects[1].x2 == 100.f);
  REQUIRE(r.objects[1].y2 == 80.f);
  // The unknown class is listed for the dataset's summary, not warned about per object.
  REQUIRE(r.unknown_classes == std::vector<std::string>{"unicorn"});
  REQUIRE(warnings.size() == 3);
  REQUIRE_THAT(warnings[0], Catch::Contains(xml) && Catch::Contains("clipped"));
  REQUIRE_THAT(warnings[1], Catch::Contains("zero area"));
  REQUIRE_THAT(warnings[2], Catch::Contains("zero area"));
  // A missing <bndbox> is an object-level problem too.
  write_text(xml, xml_with(100, 80, "<object><name>cat</name></object>"));
  warnings.clear();
  REQUIRE(parse_voc_annotation(xml, {"cat"}, {}, &warnings).objects.empty());
  REQUIRE_THAT(warnings.at(0), Catch::Contains("<bndbox>"));

  // Strict mode stops at the first problem, naming the file.
  VocOptions strict;
  strict.strict = true;
  write_text(xml, xml_with(100, 80, obj("unicorn", 10, 10, 30, 30)));
  REQUIRE_THROWS_WITH(parse_voc_annotation(xml, {"cat"}, strict, nullptr),
                      Catch::Contains(xml) && Catch::Contains("unicorn"));
}

TEST_CASE("voc: a <size> beyond 2^24 a side is an invalid size naming the file", "[voc]") {
  // Found by fuzzing (tests/fuzz/regressions/voc_xml): a height of 3752222222222 was cast to
  // int (UBSan: outside the range of int).
  auto dir = test::temp_dir("voc_huge_size");
  const auto xml = dir / "000001.xml";
  for (const char* size : {"<width>500</width><height>3752222222222</height>", "<width>16777217</width><height>1</height>"}) {
    write_text(xml, std::string("<annotation><size>") + size + "</size></annotation>");
    REQUIRE_THROWS_WITH(parse_voc_annotation(xml.string(), {"dog"}, {}, nullptr),
                        Catch::Contains(xml.string()) && Catch::Contains("invalid image size"));
  }
  write_text(xml, "<annotation><size><width>16777216</width><height>1</height></size></annotation>");
  REQUIRE(parse_voc_annotation(xml.string(), {"dog"}, {}, nullptr).width == 16777216);
}

TEST_CASE("voc: image-level bad input skips the image with a warning naming the file", "[voc]") {
  auto dir = make_synth("voc_bad", 3, 6, 0);
  const auto classes = synth_class_names();
  // 000001: malformed XML; 000002: XML deleted; 000003: image deleted;
  // 000004: XML without <size>; 000005: no objects at all; 000006: corrupt JPEG.
  const auto ann = dir / "Annotations";
  write_text(ann / "000001.xml", "<annotation><size><width>10</width></size><object>");
  fs::remove(ann / "000002.xml");
  fs::remove(dir / "JPEGImages" / "000003.jpg");
  write_text(ann / "000004.xml", "<annotation><object><name>circle</name></object></annotation>");
  {
    Image img = load_image((dir / "JPEGImages" / "000005.jpg").string());
    write_text(ann / "000005.xml", voc_annotation_xml("000005", img.width, img.height, {}));
  }
  write_text(dir / "JPEGImages" / "000006.jpg", "\xff\xd8\xff\xe0 garbage, not a JPEG");

  VocDataset ds(dir.string(), "trainval", classes);
  REQUIRE(ds.size() == 2);  // 000005 (kept: evaluation needs images without objects) and 000006
  REQUIRE(ds.record(0).id == "000005");
  REQUIRE(ds.record(0).objects.empty());
  REQUIRE(ds.record(1).id == "000006");
  REQUIRE(ds.skipped().size() == 4);
  REQUIRE_THAT(ds.skipped()[0], Catch::Contains("000001.xml") && Catch::Contains("malformed"));
  REQUIRE_THAT(ds.skipped()[1], Catch::Contains("000002.xml") && Catch::Contains("not found"));
  REQUIRE_THAT(ds.skipped()[2], Catch::Contains("000003.jpg") && Catch::Contains("not found"));
  REQUIRE_THAT(ds.skipped()[3], Catch::Contains("000004.xml") && Catch::Contains("<size>"));
  // The corrupt JPEG is found when decoded.
  REQUIRE_THROWS_WITH(ds.load_image(1), Catch::Contains("000006.jpg") && Catch::Contains("cannot decode"));

  // A size in the XML that disagrees with the JPEG.
  {
    Image img = load_image((dir / "JPEGImages" / "000005.jpg").string());
    write_text(ann / "000005.xml", voc_annotation_xml("000005", img.width + 1, img.height, {}));
    VocDataset ds2(dir.string(), "trainval", classes);
    REQUIRE_THROWS_WITH(ds2.load_image(0), Catch::Contains("000005.jpg") && Catch::Contains("disagrees"));
  }

  // Strict mode throws on the first bad image instead.
  VocOptions strict;
  strict.strict = true;
  REQUIRE_THROWS_WITH(VocDataset(dir.string(), "trainval", classes, strict), Catch::Contains("000001.xml"));
  // A missing split file always throws.
  REQUIRE_THROWS_WITH(VocDataset(dir.string(), "nosuchsplit", classes), Catch::Contains("nosuchsplit.txt"));
}

TEST_CASE("voc: an id listed twice in a split is an error naming the file, the lines and the id", "[voc]") {
  auto dir = make_synth("voc_dup_ids", 5, 4, 0);
  const auto split = dir / "ImageSets" / "Main" / "trainval.txt";
  write_text(split, "000001\n000002\n\n000003 1\n000002\n000004\n");
  for (bool strict : {false, true}) {
    VocOptions o;
    o.strict = strict;
    REQUIRE_THROWS_WITH(VocDataset(dir.string(), "trainval", synth_class_names(), o),
                        Catch::Contains(split.string() + ":5") && Catch::Contains("'000002'") &&
                            Catch::Contains("first at line 2"));
  }
  write_text(split, "000001\n000002\n000003\n000004\n");
  REQUIRE(VocDataset(dir.string(), "trainval", synth_class_names()).size() == 4);
}

TEST_CASE("voc: classes missing from the class list are reported once, as a summary", "[voc]") {
  auto dir = make_synth("voc_unknown", 5, 6, 0);
  // A config that lists only two of the six synthetic classes.
  const std::vector<std::string> classes = {"circle", "square"};
  VocDataset ds(dir.string(), "trainval", classes);
  VocDataset full(dir.string(), "trainval", synth_class_names());
  // Expected counts straight from the full reading.
  std::map<std::string, int> expect;
  std::map<std::string, std::string> first;
  for (const auto& r : full.records())
    for (const auto& o : r.objects)
      if (o.name != "circle" && o.name != "square") {
        if (!expect.count(o.name)) first[o.name] = r.annotation_path;
        ++expect[o.name];
      }
  REQUIRE(!expect.empty());
  REQUIRE(ds.unknown_classes().size() == expect.size());
  for (const auto& u : ds.unknown_classes()) {
    INFO(u.name);
    REQUIRE(u.count == expect.at(u.name));
    REQUIRE(u.first_file == first.at(u.name));
  }
  // One warning in all, naming every class with its count, its first file and the fix.
  REQUIRE(ds.warnings().size() == 1);
  for (const auto& [name, n] : expect)
    REQUIRE_THAT(ds.warnings()[0], Catch::Contains("'" + name + "': " + std::to_string(n)) &&
                                       Catch::Contains(first.at(name)));
  REQUIRE_THAT(ds.warnings()[0], Catch::Contains("model.classes") && Catch::Contains("classes.txt"));
  REQUIRE(full.unknown_classes().empty());
  REQUIRE(full.warnings().empty());
}

TEST_CASE("voc: class list parsing", "[voc]") {
  auto dir = test::temp_dir("voc_classes");
  write_text(dir / "c.txt", "# comment\ncat\n\n dog \n");
  REQUIRE(read_class_names((dir / "c.txt").string()) == std::vector<std::string>{"cat", "dog"});
  write_text(dir / "d.txt", "cat\ncat\n");
  REQUIRE_THROWS_WITH(read_class_names((dir / "d.txt").string()), Catch::Contains("twice"));
  write_text(dir / "e.txt", "__background__\ncat\n");
  REQUIRE_THROWS_WITH(read_class_names((dir / "e.txt").string()), Catch::Contains("background"));
  REQUIRE_THROWS_WITH(read_class_names((dir / "none.txt").string()), Catch::Contains("none.txt"));
  REQUIRE(voc_class_names().size() == 20);
  REQUIRE(voc_class_names().front() == "aeroplane");
  REQUIRE(voc_class_names().back() == "tvmonitor");
}

TEST_CASE("synth: same seed gives byte-identical files and another seed differs", "[synth]") {
  auto a = make_synth("synth_a", 11, 4, 2);
  auto b = make_synth("synth_b", 11, 4, 2);
  auto c = make_synth("synth_c", 12, 4, 2);
  size_t files = 0;
  bool any_diff = false;
  for (auto& e : fs::recursive_directory_iterator(a)) {
    if (!e.is_regular_file()) continue;
    auto rel = fs::relative(e.path(), a);
    REQUIRE(fs::exists(b / rel));
    INFO(rel.string());
    REQUIRE(read_all(e.path()) == read_all(b / rel));
    if (read_all(e.path()) != read_all(c / rel)) any_diff = true;
    ++files;
  }
  // 6 jpg + 6 xml + trainval.txt + test.txt + 12 per-class lists + classes.txt + the synth marker
  REQUIRE(files == 6 + 6 + 2 + 12 + 1 + 1);
  REQUIRE(any_diff);
  REQUIRE(read_all(a / "classes.txt") == "circle\nsquare\ntriangle\ncross\nring\ndiamond\n");
  REQUIRE(read_all(a / "ImageSets/Main/test.txt") == "000005\n000006\n");
}

TEST_CASE("synth: per-class lists agree with the annotations", "[synth]") {
  auto dir = make_synth("synth_lists", 5, 12, 0);
  VocDataset ds(dir.string(), "trainval", synth_class_names());
  for (const auto& cls : synth_class_names()) {
    std::ifstream in(dir / "ImageSets/Main" / (cls + "_trainval.txt"));
    std::string id;
    int flag;
    size_t i = 0;
    while (in >> id >> flag) {
      const VocRecord& r = ds.record(i++);
      REQUIRE(r.id == id);
      int expect = -1;
      for (const auto& o : r.objects)
        if (o.name == cls) expect = std::max(expect, o.difficult ? 0 : 1);
      REQUIRE(flag == expect);
    }
    REQUIRE(i == ds.size());
  }
}

TEST_CASE("synth: statistics over many images cover every class and some difficult objects", "[synth]") {
  // Layout only (no file I/O): 120 images.
  std::vector<int> per_class(7, 0);
  int difficult = 0, multi = 0;
  for (uint64_t i = 0; i < 120; ++i) {
    SynthSample s = make_synthetic_image(1, i);
    multi += s.objects.size() > 1 ? 1 : 0;
    for (const auto& o : s.objects) {
      per_class[o.label]++;
      difficult += o.difficult ? 1 : 0;
      const float side = std::max(o.x2 - o.x1, o.y2 - o.y1);
      if (o.difficult) {
        REQUIRE(side <= 22);
      } else {
        REQUIRE(side >= 22);  // drawn extent of a >= 30 px box (a triangle's is a bit smaller)
        REQUIRE(side <= 120);
      }
    }
  }
  for (int k = 1; k <= 6; ++k) REQUIRE(per_class[k] > 10);
  REQUIRE(difficult > 10);
  REQUIRE(multi > 40);
  REQUIRE_THROWS(make_synthetic_image(1, 0, 300, 200));
}

// VOC's boxes refer to the pixels as stored (VOC's own JPEGs carry no orientation tag; a
// tagged image in a VOC-layout set is read as stored, with a warning), while detect and
// load_image apply the tag.
TEST_CASE("voc: images are read as stored, their EXIF orientation ignored", "[voc]") {
  auto dir = make_synth("voc_exif", 7, 1, 0);
  const fs::path jpg = dir / "JPEGImages" / "000001.jpg";
  const Image stored = load_image(jpg.string());
  std::string b = read_all(jpg);
  // APP1 Exif, big-endian TIFF, IFD0 with one entry: orientation 6 (rotate 90 clockwise).
  const std::string tiff("MM\0\x2a\0\0\0\x08\0\x01\x01\x12\0\x03\0\0\0\x01\0\x06\0\0\0\0\0\0", 26);
  const std::string app1 = std::string("\xff\xe1\0\x22", 4) + std::string("Exif\0\0", 6) + tiff;
  write_text(jpg, b.substr(0, 2) + app1 + b.substr(2));
  REQUIRE(load_image(jpg.string()).width == stored.height);  // load_image applies the tag

  VocDataset ds(dir.string(), "trainval", synth_class_names());
  REQUIRE(ds.size() == 1);
  const Image img = ds.load_image(0);  // no "disagrees with <size>"
  REQUIRE(img.width == stored.width);
  REQUIRE(img.height == stored.height);
  REQUIRE(img.data == stored.data);
}
