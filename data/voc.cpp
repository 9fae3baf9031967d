#include "data/voc.h"

#include <tinyxml2.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <stdexcept>

#include "engine/log.h"

namespace fs = std::filesystem;

namespace frcnn {

namespace {

std::string trim(const std::string& s) {
  const char* ws = " \t\r\n";
  auto b = s.find_first_not_of(ws);
  if (b == std::string::npos) return "";
  auto e = s.find_last_not_of(ws);
  return s.substr(b, e - b + 1);
}

// Text of child `name` of `parent`, trimmed; nullptr-safe. Empty when absent.
std::string child_text(const tinyxml2::XMLElement* parent, const char* name) {
  if (!parent) return "";
  const tinyxml2::XMLElement* e = parent->FirstChildElement(name);
  if (!e || !e->GetText()) return "";
  return trim(e->GetText());
}

// Parses a number the way VOC writes them ("48", sometimes "48.0" in other datasets).
bool parse_number(const std::string& s, double* out) {
  if (s.empty()) return false;
  char* end = nullptr;
  errno = 0;
  double v = std::strtod(s.c_str(), &end);
  if (errno != 0 || end != s.c_str() + s.size() || !std::isfinite(v)) return false;
  *out = v;
  return true;
}

// Object-level problem: throw when strict, else record a warning and return.
void object_problem(const VocOptions& opt, std::vector<std::string>* warnings, const std::string& msg) {
  if (opt.strict) throw std::runtime_error(msg);
  if (warnings) warnings->push_back(msg);
}

}  // namespace

int VocRecord::num_non_difficult() const {
  int n = 0;
  for (const auto& o : objects) n += o.difficult ? 0 : 1;
  return n;
}

VocRecord parse_voc_annotation(const std::string& xml_path, const std::vector<std::string>& class_names,
                               const VocOptions& options, std::vector<std::string>* warnings) {
  if (!fs::exists(xml_path)) throw std::runtime_error(xml_path + ": annotation file not found");
  tinyxml2::XMLDocument doc;
  if (doc.LoadFile(xml_path.c_str()) != tinyxml2::XML_SUCCESS)
    throw std::runtime_error(xml_path + ": malformed annotation XML (" + std::string(doc.ErrorStr()) + ")");
  const tinyxml2::XMLElement* root = doc.FirstChildElement("annotation");
  if (!root) throw std::runtime_error(xml_path + ": malformed annotation XML (no <annotation> element)");

  VocRecord rec;
  rec.annotation_path = xml_path;
  rec.id = fs::path(xml_path).stem().string();
  const tinyxml2::XMLElement* size = root->FirstChildElement("size");
  double w = 0, h = 0;
  if (!size || !parse_number(child_text(size, "width"), &w) || !parse_number(child_text(size, "height"), &h))
    throw std::runtime_error(xml_path + ": malformed annotation XML (missing or unreadable <size><width>/<height>)");
  // At most 2^24 a side, as the image decoder (stb_image): a larger size would not fit the int
  // fields (found by fuzzing, tests/fuzz).
  if (w < 1 || h < 1 || w != std::floor(w) || h != std::floor(h) || w > (1 << 24) || h > (1 << 24))
    throw std::runtime_error(xml_path + ": invalid image size " + child_text(size, "width") + "x" +
                             child_text(size, "height") + " in <size>");
  rec.width = static_cast<int>(w);
  rec.height = static_cast<int>(h);

  int index = 0;
  for (const tinyxml2::XMLElement* o = root->FirstChildElement("object"); o;
       o = o->NextSiblingElement("object"), ++index) {
    const std::string where = str_cat(xml_path, ": object ", index);
    VocObject obj;
    obj.name = child_text(o, "name");
    auto it = std::find(class_names.begin(), class_names.end(), obj.name);
    if (it == class_names.end()) {
      if (options.strict)
        throw std::runtime_error(str_cat(where, ": class '", obj.name, "' is not in the class list"));
      rec.unknown_classes.push_back(obj.name);
      continue;
    }
    obj.label = static_cast<int>(it - class_names.begin()) + 1;
    obj.difficult = child_text(o, "difficult") == "1";
    obj.truncated = child_text(o, "truncated") == "1";
    if (obj.difficult && !options.keep_difficult) continue;

    const tinyxml2::XMLElement* bb = o->FirstChildElement("bndbox");
    double xmin = 0, ymin = 0, xmax = 0, ymax = 0;
    if (!bb || !parse_number(child_text(bb, "xmin"), &xmin) || !parse_number(child_text(bb, "ymin"), &ymin) ||
        !parse_number(child_text(bb, "xmax"), &xmax) || !parse_number(child_text(bb, "ymax"), &ymax)) {
      object_problem(options, warnings, str_cat(where, " ('", obj.name, "'): missing or unreadable <bndbox>, object skipped"));
      continue;
    }
    // 1-based inclusive -> continuous (docs/DATA.md, box conventions).
    double x1 = xmin - 1, y1 = ymin - 1, x2 = xmax, y2 = ymax;
    const double cx1 = std::clamp(x1, 0.0, w), cy1 = std::clamp(y1, 0.0, h);
    const double cx2 = std::clamp(x2, 0.0, w), cy2 = std::clamp(y2, 0.0, h);
    if (!(cx2 > cx1) || !(cy2 > cy1)) {
      object_problem(options, warnings,
                     str_cat(where, " ('", obj.name, "'): box (", xmin, ", ", ymin, ", ", xmax, ", ", ymax,
                             ") has zero area inside the ", rec.width, "x", rec.height, " image, object skipped"));
      continue;
    }
    if (cx1 != x1 || cy1 != y1 || cx2 != x2 || cy2 != y2) {
      object_problem(options, warnings,
                     str_cat(where, " ('", obj.name, "'): box (", xmin, ", ", ymin, ", ", xmax, ", ", ymax,
                             ") extends outside the ", rec.width, "x", rec.height, " image, clipped"));
    }
    obj.x1 = static_cast<float>(cx1);
    obj.y1 = static_cast<float>(cy1);
    obj.x2 = static_cast<float>(cx2);
    obj.y2 = static_cast<float>(cy2);
    rec.objects.push_back(obj);
  }
  return rec;
}

VocDataset::VocDataset(const std::string& root, const std::string& split, std::vector<std::string> class_names,
                       VocOptions options)
    : root_(root), split_(split), class_names_(std::move(class_names)), options_(options) {
  if (class_names_.empty()) throw std::invalid_argument("VocDataset(" + root + "): empty class list");
  const std::string split_path = (fs::path(root) / "ImageSets" / "Main" / (split + ".txt")).string();
  std::ifstream in(split_path);
  if (!in) throw std::runtime_error(split_path + ": split file not found or unreadable (is " + root + " a VOC root?)");
  std::vector<std::string> ids;
  std::map<std::string, int> line_of;  // id -> its line in the split file
  int lineno = 0;
  for (std::string line; std::getline(in, line);) {
    ++lineno;
    line = trim(line);
    if (line.empty()) continue;
    // Per-class split files ("<id> 1") also work: the id is the first field.
    std::string id = line.substr(0, line.find_first_of(" \t"));
    // A repeated id would weigh one image twice in training and count its objects twice
    // in evaluation (two detections of one object: one is a false positive).
    auto [it, fresh] = line_of.emplace(id, lineno);
    if (!fresh)
      throw std::runtime_error(str_cat(split_path, ":", lineno, ": image id '", id, "' is listed twice (first at line ",
                                       it->second, "); each image may appear once in a split"));
    ids.push_back(std::move(id));
  }

  for (const auto& id : ids) {
    const std::string xml = (fs::path(root) / "Annotations" / (id + ".xml")).string();
    std::vector<std::string> obj_warnings;
    VocRecord rec;
    try {
      rec = parse_voc_annotation(xml, class_names_, options_, &obj_warnings);
      rec.id = id;
      // Prefer the file named in <filename>; fall back to <id>.jpg.
      tinyxml2::XMLDocument doc;
      std::string fname;
      if (doc.LoadFile(xml.c_str()) == tinyxml2::XML_SUCCESS)
        fname = child_text(doc.FirstChildElement("annotation"), "filename");
      if (fname.empty() || !fs::exists(fs::path(root) / "JPEGImages" / fname)) fname = id + ".jpg";
      rec.image_path = (fs::path(root) / "JPEGImages" / fname).string();
      if (!fs::exists(rec.image_path)) throw std::runtime_error(rec.image_path + ": image file not found");
    } catch (const std::runtime_error& e) {
      if (options_.strict) throw;
      std::string msg = str_cat(e.what(), " -- image '", id, "' skipped");
      log_warn(msg);
      warnings_.push_back(msg);
      skipped_.push_back(msg);
      continue;
    }
    for (auto& w : obj_warnings) {
      log_warn(w);
      warnings_.push_back(std::move(w));
    }
    for (const auto& name : rec.unknown_classes) {
      auto u = std::find_if(unknown_classes_.begin(), unknown_classes_.end(),
                            [&](const VocUnknownClass& c) { return c.name == name; });
      if (u == unknown_classes_.end()) u = unknown_classes_.insert(unknown_classes_.end(), {name, 0, xml});
      ++u->count;
    }
    records_.push_back(std::move(rec));
  }
  if (!unknown_classes_.empty()) {
    // One summary instead of a line per object: a dataset labelled with other names (or a
    // config listing the wrong classes) would otherwise print thousands of lines.
    int total = 0;
    std::string list;
    for (const auto& u : unknown_classes_) {
      total += u.count;
      list += str_cat("\n  '", u.name, "': ", u.count, u.count == 1 ? " object" : " objects", ", first in ", u.first_file);
    }
    std::string msg = str_cat(root, " split '", split, "': ", total, total == 1 ? " object" : " objects", " of ",
                              unknown_classes_.size(), unknown_classes_.size() == 1 ? " class" : " classes",
                              " not in the class list skipped:", list,
                              "\n  if these classes are wanted, add them to model.classes in the config (the dataset's "
                              "classes.txt, when it has one, lists the classes it was made with)");
    log_warn(msg);
    warnings_.push_back(std::move(msg));
  }
  if (!skipped_.empty())
    log_warn(str_cat(root, " split '", split, "': ", skipped_.size(), " of ", ids.size(), " images skipped"));
}

const VocRecord& VocDataset::record(size_t i) const {
  if (i >= records_.size())
    throw std::out_of_range(str_cat("VocDataset(", root_, "): record ", i, " of ", records_.size()));
  return records_[i];
}

Image VocDataset::load_image(size_t i) const {
  const VocRecord& r = record(i);
  // VOC boxes refer to the pixels as stored (VOC's own JPEGs have no EXIF orientation tag),
  // so a tag is ignored here, with one warning per process.
  ImageFileInfo info;
  Image img = frcnn::load_image(r.image_path, ImageOrientation::Stored, &info);
  static std::atomic<bool> warned{false};
  if (info.exif_orientation != 1 && !warned.exchange(true))
    log_warn(str_cat(r.image_path, ": EXIF orientation ", info.exif_orientation,
                     " ignored: the annotations of a VOC-layout dataset refer to the pixels as stored (further "
                     "tagged images are not reported)"));
  if (img.width != r.width || img.height != r.height)
    throw std::runtime_error(str_cat(r.image_path, ": decoded size ", img.width, "x", img.height,
                                     " disagrees with <size> ", r.width, "x", r.height, " in ", r.annotation_path));
  return img;
}

std::vector<std::string> voc_class_names() {
  return {"aeroplane",   "bicycle", "bird",  "boat",      "bottle", "bus",         "car",
          "cat",         "chair",   "cow",   "diningtable", "dog",  "horse",       "motorbike",
          "person",      "pottedplant", "sheep", "sofa",  "train",  "tvmonitor"};
}

std::vector<std::string> read_class_names(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw std::runtime_error(path + ": class list not found or unreadable");
  std::vector<std::string> names;
  std::set<std::string> seen;
  int lineno = 0;
  for (std::string line; std::getline(in, line);) {
    ++lineno;
    line = trim(line);
    if (line.empty() || line[0] == '#') continue;
    if (line == "__background__" || line == "background")
      throw std::runtime_error(str_cat(path, ":", lineno, ": '", line,
                                       "' must not be listed (label 0 is the implicit background)"));
    if (!seen.insert(line).second) throw std::runtime_error(str_cat(path, ":", lineno, ": class '", line, "' listed twice"));
    names.push_back(line);
  }
  if (names.empty()) throw std::runtime_error(path + ": class list is empty");
  return names;
}

}  // namespace frcnn
