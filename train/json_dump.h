// Numbers in the JSON files users read (detect's <stem>.json, eval's detections.json):
// rounded to the decimals docs/USAGE.md gives (boxes 0.01 px, scores 1e-6, times 1 us) and
// written in their shortest form. nlohmann's dump() alone does not do the second: its
// Grisu2 printer writes some doubles with 17 digits (0.788105 as 0.7881050000000001).
#pragma once
#include <algorithm>
#include <charconv>
#include <cmath>
#include <string>

#include <nlohmann/json.hpp>

namespace frcnn {

// `v` rounded to `decimals` (0..15) decimal places: the double nearest that decimal, so it
// prints (dump_json) with at most that many decimals; -0 becomes 0.
inline double round_decimals(double v, int decimals) {
  if (!std::isfinite(v)) return v;
  const double p = std::pow(10.0, std::clamp(decimals, 0, 15));  // exact: 10^k is a double for k <= 22
  // The integer n divided by the exact p is the double nearest n / 10^decimals;
  // multiplying by 10^-decimals (inexact) would not be.
  const double r = std::round(v * p) / p;
  return r == 0.0 ? 0.0 : r;
}

namespace detail {
template <class Json>
void dump_json_to(std::string& out, const Json& j, int indent, int level) {
  auto newline = [&](int l) {
    if (indent < 0) return;
    out += '\n';
    out.append(size_t(indent) * size_t(l), ' ');
  };
  if (j.is_object() || j.is_array()) {
    const bool obj = j.is_object();
    if (j.empty()) {
      out += obj ? "{}" : "[]";
      return;
    }
    out += obj ? '{' : '[';
    bool first = true;
    for (auto it = j.begin(); it != j.end(); ++it) {
      if (!first) out += ',';
      first = false;
      newline(level + 1);
      if (obj) {
        out += Json(it.key()).dump();
        out += indent < 0 ? ":" : ": ";
      }
      dump_json_to(out, *it, indent, level + 1);
    }
    newline(level);
    out += obj ? '}' : ']';
  } else if (j.is_number_float()) {
    const double v = j.template get<double>();
    if (!std::isfinite(v)) {
      out += "null";  // as nlohmann writes it
      return;
    }
    char buf[400];  // fixed notation of any double fits
    const auto r = std::to_chars(buf, buf + sizeof buf, v, std::chars_format::fixed);  // shortest round trip
    std::string s(buf, r.ptr);
    if (s.find('.') == std::string::npos) s += ".0";  // stays a float, as nlohmann writes it
    out += s;
  } else {
    out += j.dump();
  }
}
}  // namespace detail

// j.dump(indent) (indent < 0: compact), except that floats are written in their shortest
// fixed form (0.788105, 12.34, 0.000001).
template <class Json>
std::string dump_json(const Json& j, int indent = -1) {
  std::string out;
  detail::dump_json_to(out, j, indent, 0);
  return out;
}

}  // namespace frcnn
