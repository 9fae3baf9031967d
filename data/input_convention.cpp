#include "data/input_convention.h"

#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <sstream>
#include <stdexcept>

#include "engine/log.h"

namespace frcnn {

namespace {

const char* kOrder = "input.channel_order";
const char* kScale = "input.scale";
const char* kMean = "input.mean";
const char* kStd = "input.std";

// Shortest text that reads back to the same float.
std::string fmt(float v) {
  for (int prec = 6; prec <= 9; ++prec) {
    std::ostringstream os;
    os.precision(prec);
    os << v;
    if (std::strtof(os.str().c_str(), nullptr) == v) return os.str();
  }
  std::ostringstream os;
  os.precision(9);
  os << v;
  return os.str();
}

float parse_float(const std::string& s, const std::string& what, const std::string& key) {
  char* end = nullptr;
  errno = 0;
  float v = std::strtof(s.c_str(), &end);
  if (s.empty() || errno != 0 || end != s.c_str() + s.size() || !std::isfinite(v))
    throw std::invalid_argument(what + ": metadata '" + key + "': '" + s + "' is not a number");
  return v;
}

std::array<float, 3> parse_triple(const std::string& s, const std::string& what, const std::string& key) {
  std::array<float, 3> out{};
  size_t n = 0, pos = 0;
  while (true) {
    size_t comma = s.find(',', pos);
    std::string item = s.substr(pos, comma == std::string::npos ? std::string::npos : comma - pos);
    auto b = item.find_first_not_of(' '), e = item.find_last_not_of(' ');
    item = b == std::string::npos ? "" : item.substr(b, e - b + 1);
    if (n >= 3) throw std::invalid_argument(what + ": metadata '" + key + "': '" + s + "' has more than 3 values");
    out[n++] = parse_float(item, what, key);
    if (comma == std::string::npos) break;
    pos = comma + 1;
  }
  if (n != 3) throw std::invalid_argument(what + ": metadata '" + key + "': '" + s + "' needs 3 values (r,g,b)");
  return out;
}

}  // namespace

InputConvention InputConvention::caffe() { return InputConvention{}; }

InputConvention InputConvention::torchvision() {
  InputConvention c;
  c.order = ChannelOrder::RGB;
  c.scale = 1.f;
  c.mean = {0.485f, 0.456f, 0.406f};
  c.std = {0.229f, 0.224f, 0.225f};
  return c;
}

std::map<std::string, std::string> InputConvention::to_metadata() const {
  return {{kOrder, order == ChannelOrder::BGR ? "bgr" : "rgb"},
          {kScale, fmt(scale)},
          {kMean, fmt(mean[0]) + "," + fmt(mean[1]) + "," + fmt(mean[2])},
          {kStd, fmt(std[0]) + "," + fmt(std[1]) + "," + fmt(std[2])}};
}

std::string InputConvention::str() const {
  auto m = to_metadata();
  return m[kOrder] + ", scale " + m[kScale] + ", mean (r,g,b) " + m[kMean] + ", std " + m[kStd];
}

bool InputConvention::operator==(const InputConvention& o) const {
  return order == o.order && scale == o.scale && mean == o.mean && std == o.std;
}

std::optional<InputConvention> input_convention_from_metadata(const std::map<std::string, std::string>& metadata,
                                                              const std::string& what) {
  int present = 0;
  for (const char* k : {kOrder, kScale, kMean, kStd}) present += metadata.count(k) ? 1 : 0;
  if (present == 0) return std::nullopt;
  for (const char* k : {kOrder, kScale, kMean, kStd})
    if (!metadata.count(k))
      throw std::invalid_argument(what + ": metadata has some input.* keys but not '" + std::string(k) + "'");
  InputConvention c;
  const std::string& order = metadata.at(kOrder);
  if (order == "bgr" || order == "BGR")
    c.order = ChannelOrder::BGR;
  else if (order == "rgb" || order == "RGB")
    c.order = ChannelOrder::RGB;
  else
    throw std::invalid_argument(what + ": metadata '" + kOrder + "': '" + order + "' (expected bgr or rgb)");
  c.scale = parse_float(metadata.at(kScale), what, kScale);
  if (!(c.scale > 0)) throw std::invalid_argument(what + ": metadata '" + kScale + "' must be positive");
  c.mean = parse_triple(metadata.at(kMean), what, kMean);
  c.std = parse_triple(metadata.at(kStd), what, kStd);
  for (float s : c.std)
    if (!(s > 0)) throw std::invalid_argument(what + ": metadata '" + kStd + "' values must be positive");
  return c;
}

InputConvention input_convention_or(const std::map<std::string, std::string>& weights_metadata,
                                    const std::string& what, const std::string& fallback_name) {
  if (auto c = input_convention_from_metadata(weights_metadata, what)) {
    log_info("input convention from " + what + ": " + c->str());
    return *c;
  }
  InputConvention c;
  if (fallback_name == "caffe") {
    c = InputConvention::caffe();
  } else if (fallback_name == "torchvision") {
    c = InputConvention::torchvision();
  } else {
    throw std::invalid_argument("config: 'input.convention' is '" + fallback_name +
                                "' (expected caffe or torchvision)");
  }
  log_info("input convention from config input.convention=" + fallback_name + " (" + what + " records none): " +
           c.str());
  return c;
}

}  // namespace frcnn
