#include "train/plot.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <limits>
#include <map>
#include <stdexcept>

#include <nlohmann/json.hpp>

namespace frcnn {

namespace {

constexpr Color kBg{255, 255, 255};
constexpr Color kInk{40, 40, 40};       // text
constexpr Color kAxis{90, 90, 90};      // frame and tick marks
constexpr Color kGrid{228, 228, 228};   // grid lines
constexpr Color kMuted{110, 110, 110};  // "no data"
constexpr Color kMark{150, 150, 150};   // x marks (stage boundaries)

// A series colour washed towards white: the raw points under their smoothed curve.
Color faint(Color c) {
  auto f = [](uint8_t v) { return uint8_t(std::lround(255.0 - (255.0 - v) * 0.35)); };
  return {f(c.r), f(c.g), f(c.b)};
}

// The raw values (thin, faint, no legend entry) and their EMA (named, full colour).
void add_raw_and_smoothed(std::vector<PlotSeries>& raw, std::vector<PlotSeries>& smooth, const PlotSeries& s,
                          Color c) {
  PlotSeries r = s;
  r.name.clear();
  r.color = faint(c);
  r.line_width = 1.f;
  raw.push_back(std::move(r));
  PlotSeries e = s;
  e.color = c;
  e.y = ema_smooth(s.y, ema_weight_for(s.y.size()));
  smooth.push_back(std::move(e));
}

double nice_step(double raw) {
  const double p = std::pow(10.0, std::floor(std::log10(raw)));
  const double f = raw / p;
  const double m = f <= 1.0 ? 1.0 : f <= 2.0 ? 2.0 : f <= 2.5 ? 2.5 : f <= 5.0 ? 5.0 : 10.0;
  return m * p;
}

// Fake bold: the same text twice, one pixel apart (the font has a single weight).
void draw_bold(Image& img, int x, int y, const std::string& s, Color c) {
  draw_text(img, x, y, s, c);
  draw_text(img, x + 1, y, s, c);
}

struct Axis {
  double lo = 0, hi = 1;  // in data units
  bool log = false;
  std::vector<double> ticks;
  double step = 0.1;  // linear tick step (for labels)
  double f(double v) const { return log ? std::log10(v) : v; }
  double frac(double v) const { return (f(v) - f(lo)) / (f(hi) - f(lo)); }
};

std::vector<double> log_ticks(double lo, double hi) {
  // lo, hi > 0. Powers of ten when the range spans two decades or more, else 1-2-5 steps.
  const int k0 = int(std::floor(std::log10(lo) + 1e-9)), k1 = int(std::ceil(std::log10(hi) - 1e-9));
  std::vector<double> t;
  if (k1 - k0 >= 2) {
    const int every = std::max(1, (k1 - k0 + 7) / 8);
    for (int k = k0; k <= k1; k += every) t.push_back(std::pow(10.0, k));
    if (t.back() < hi) t.push_back(std::pow(10.0, k1));
    return t;
  }
  for (int k = k0; k <= k1; ++k)
    for (double m : {1.0, 2.0, 5.0}) {
      const double v = m * std::pow(10.0, k);
      t.push_back(v);
    }
  // Keep one tick at or below lo and one at or above hi.
  std::vector<double> out;
  for (size_t i = 0; i < t.size(); ++i) {
    const bool below_next = i + 1 < t.size() && t[i + 1] <= lo * (1 + 1e-12);
    const bool above_prev = i > 0 && t[i - 1] >= hi * (1 - 1e-12);
    if (!below_next && !above_prev) out.push_back(t[i]);
  }
  return out;
}

Axis make_axis(double dlo, double dhi, std::optional<double> fixed_lo, std::optional<double> fixed_hi, bool log,
               int target) {
  Axis a;
  a.log = log;
  if (!(dlo <= dhi)) {  // no data
    dlo = log ? 1.0 : 0.0;
    dhi = log ? 10.0 : 1.0;
  }
  if (fixed_lo) dlo = *fixed_lo;
  if (fixed_hi) dhi = *fixed_hi;
  if (log && (!(dlo > 0) || !(dhi > 0))) throw std::invalid_argument("line chart: log axis limits must be > 0");
  if (dhi < dlo) throw std::invalid_argument("line chart: axis minimum exceeds maximum");
  if (dhi == dlo) {
    if (log) {
      dlo /= 2;
      dhi *= 2;
    } else {
      const double d = dlo == 0 ? 1.0 : std::fabs(dlo) * 0.1;
      dlo -= d;
      dhi += d;
    }
  }
  if (log) {
    a.ticks = log_ticks(dlo, dhi);
    a.lo = fixed_lo ? dlo : std::min(dlo, a.ticks.front());
    a.hi = fixed_hi ? dhi : std::max(dhi, a.ticks.back());
  } else {
    a.ticks = nice_ticks(dlo, dhi, target);
    a.step = a.ticks.size() > 1 ? a.ticks[1] - a.ticks[0] : 1.0;
    a.lo = fixed_lo ? dlo : a.ticks.front();
    a.hi = fixed_hi ? dhi : a.ticks.back();
  }
  // Ticks outside fixed limits are dropped.
  std::vector<double> in;
  for (double t : a.ticks)
    if (t >= a.lo - 1e-9 * std::fabs(a.hi - a.lo) && t <= a.hi + 1e-9 * std::fabs(a.hi - a.lo)) in.push_back(t);
  a.ticks = in;
  return a;
}

std::string log_tick_label(double v) {
  const double k = std::log10(v);
  if (std::fabs(k - std::round(k)) < 1e-9 && (k < -3 || k > 4)) {
    char b[16];
    std::snprintf(b, sizeof(b), "1e%d", int(std::lround(k)));
    return b;
  }
  return format_tick(v, v);  // 1-2-5 values need only their own decimals
}

}  // namespace

std::vector<double> nice_ticks(double lo, double hi, int target) {
  if (!std::isfinite(lo) || !std::isfinite(hi) || hi < lo) throw std::invalid_argument("nice_ticks: bad range");
  if (target < 2) target = 2;
  if (hi == lo) hi = lo + (lo == 0 ? 1.0 : std::fabs(lo) * 0.1);
  const double step = nice_step((hi - lo) / (target - 1));
  const double first = std::floor(lo / step + 1e-9) * step;
  std::vector<double> t;
  for (int i = 0;; ++i) {
    double v = first + i * step;
    if (std::fabs(v) < step * 1e-9) v = 0.0;  // no "-0"
    t.push_back(v);
    if (v >= hi - step * 1e-9) break;
  }
  return t;
}

std::string format_tick(double v, double step) {
  char b[32];
  const double av = std::fabs(v);
  if (v == 0) return "0";
  if (av >= 1e7 || av < 1e-4) {
    std::snprintf(b, sizeof(b), "%.1e", v);
    return b;
  }
  if (av >= 1e4 && std::fmod(step, 1000.0) == 0.0 && std::fmod(v, 1000.0) == 0.0) {
    std::snprintf(b, sizeof(b), "%.0fk", v / 1000.0);
    return b;
  }
  int dec = step > 0 ? std::max(0, int(std::ceil(-std::log10(step) - 1e-9))) : 2;
  // Steps such as 0.25 need one more decimal than their order of magnitude says.
  const double scaled = step * std::pow(10.0, dec);
  if (std::fabs(scaled - std::round(scaled)) > 1e-6) ++dec;
  std::snprintf(b, sizeof(b), "%.*f", std::min(dec, 6), v);
  return b;
}

Image render_line_chart(const std::vector<PlotSeries>& series, const LineChartOptions& opts) {
  if (opts.width < 200 || opts.height < 150)
    throw std::invalid_argument("line chart: size " + std::to_string(opts.width) + "x" +
                                std::to_string(opts.height) + " is too small (at least 200x150)");
  // Data range over the usable points.
  double xlo = std::numeric_limits<double>::infinity(), xhi = -xlo, ylo = xlo, yhi = -xlo;
  auto usable = [&](double x, double y) { return std::isfinite(x) && std::isfinite(y) && (!opts.log_y || y > 0); };
  for (const auto& s : series) {
    if (s.x.size() != s.y.size())
      throw std::invalid_argument("line chart: series '" + s.name + "' has " + std::to_string(s.x.size()) +
                                  " x values and " + std::to_string(s.y.size()) + " y values");
    for (size_t i = 0; i < s.x.size(); ++i)
      if (usable(s.x[i], s.y[i])) {
        xlo = std::min(xlo, s.x[i]), xhi = std::max(xhi, s.x[i]);
        ylo = std::min(ylo, s.y[i]), yhi = std::max(yhi, s.y[i]);
      }
  }
  const bool has_data = xlo <= xhi;
  const Axis ax = make_axis(xlo, xhi, opts.x_min, opts.x_max, false, 7);
  const Axis ay = make_axis(ylo, yhi, opts.y_min, opts.y_max, opts.log_y, 6);

  std::vector<std::string> ylabels;
  int ylab_w = 0;
  for (double t : ay.ticks) {
    ylabels.push_back(ay.log ? log_tick_label(t) : format_tick(t, ay.step));
    ylab_w = std::max(ylab_w, text_width(ylabels.back()));
  }
  // Legend entries and size.
  struct Entry {
    std::string name;
    Color color;
  };
  std::vector<Entry> entries;
  for (size_t i = 0; i < series.size(); ++i)
    if (!series[i].name.empty())
      entries.push_back({series[i].name, series[i].color ? *series[i].color : class_color(int(i))});
  const int th = text_height();
  const int swatch = 22, row_h = th + 4;
  int legend_w = 0;
  for (const auto& e : entries) legend_w = std::max(legend_w, text_width(e.name));
  legend_w += swatch + 6 + 16;
  const int legend_h = int(entries.size()) * row_h + 10;
  const bool legend = opts.legend != LegendPos::None && !entries.empty();

  // Layout: margins around the plot area [L, R) x [T, B).
  const int L = 14 + (opts.y_label.empty() ? 0 : th + 10) + ylab_w + 8;
  const int R = opts.width - 24 - (legend && opts.legend == LegendPos::OutsideRight ? legend_w + 12 : 0);
  const int T = opts.title.empty() ? 16 : th + 24;
  const int B = opts.height - (12 + th + 8 + (opts.x_label.empty() ? 0 : th + 8));
  if (R - L < 40 || B - T < 40)
    throw std::invalid_argument("line chart: too small for its labels and legend (" + std::to_string(opts.width) +
                                "x" + std::to_string(opts.height) + ")");
  const int pw = R - L, ph = B - T;
  auto X = [&](double v) { return L + ax.frac(v) * pw; };
  auto Y = [&](double v) { return T + (1.0 - ay.frac(v)) * ph; };

  Image img(opts.width, opts.height, kBg.r, kBg.g, kBg.b);
  // Grid and ticks.
  for (size_t i = 0; i < ax.ticks.size(); ++i) {
    const int px = int(std::lround(X(ax.ticks[i])));
    fill_rect(img, float(px), float(T), float(px + 1), float(B), kGrid);
    fill_rect(img, float(px), float(B), float(px + 1), float(B + 5), kAxis);
    const std::string s = format_tick(ax.ticks[i], ax.step);
    draw_text(img, px - text_width(s) / 2, B + 8, s, kInk);
  }
  for (size_t i = 0; i < ay.ticks.size(); ++i) {
    const int py = int(std::lround(Y(ay.ticks[i])));
    fill_rect(img, float(L), float(py), float(R), float(py + 1), kGrid);
    fill_rect(img, float(L - 5), float(py), float(L), float(py + 1), kAxis);
    draw_text(img, L - 8 - text_width(ylabels[i]), py - th / 2, ylabels[i], kInk);
  }

  // Series on a copy of the plot area, so lines are clipped to it.
  Image area(pw, ph);
  for (int y = 0; y < ph; ++y) std::copy_n(img.px(L, T + y), size_t(pw) * 3, area.px(0, y));
  // Stage marks under the curves: dashed vertical lines.
  for (const auto& [mx, name] : opts.x_marks) {
    if (!std::isfinite(mx)) continue;
    const float px = float(X(mx) - L);
    for (int y = 0; y < ph; y += 8) draw_line(area, px, float(y), px, float(std::min(ph, y + 4)), kMark, 1.5f);
  }
  const Image area_before = opts.legend == LegendPos::Best ? area : Image();  // the legend may cover marks
  for (size_t si = 0; si < series.size(); ++si) {
    const auto& s = series[si];
    const Color c = s.color ? *s.color : class_color(int(si));
    const float lw = s.line_width ? *s.line_width : opts.line_width;
    std::vector<std::array<float, 2>> run;
    auto flush = [&] {
      draw_polyline(area, run, c, lw);
      run.clear();
    };
    for (size_t i = 0; i < s.x.size(); ++i) {
      if (!usable(s.x[i], s.y[i])) {
        if (!run.empty()) flush();
        continue;
      }
      // Clamp far-away points so float maths stays sane with user limits.
      const double px = std::clamp(X(s.x[i]) - L, -4.0 * pw, 5.0 * pw);
      const double py = std::clamp(Y(s.y[i]) - T, -4.0 * ph, 5.0 * ph);
      run.push_back({float(px), float(py)});
    }
    if (!run.empty()) flush();
  }
  for (int y = 0; y < ph; ++y) std::copy_n(area.px(0, y), size_t(pw) * 3, img.px(L, T + y));
  // Legend corner (plot-area coordinates of its top-left for each inside position).
  auto corner = [&](LegendPos p) -> std::array<int, 2> {
    switch (p) {
      case LegendPos::UpperRight: return {pw - legend_w - 10, 10};
      case LegendPos::LowerLeft: return {10, ph - legend_h - 10};
      case LegendPos::LowerRight: return {pw - legend_w - 10, ph - legend_h - 10};
      case LegendPos::UpperLeft: return {10, 10};
      default: return {0, 0};
    }
  };
  LegendPos where = opts.legend;
  if (legend && where == LegendPos::Best) {
    // The corner hiding the fewest curve pixels (pixels the series changed).
    long best = -1;
    for (LegendPos p : {LegendPos::LowerLeft, LegendPos::UpperRight, LegendPos::LowerRight, LegendPos::UpperLeft}) {
      const auto [cx, cy] = corner(p);
      long ink = 0;
      for (int y = std::max(0, cy); y < std::min(ph, cy + legend_h); ++y)
        for (int x = std::max(0, cx); x < std::min(pw, cx + legend_w); ++x)
          ink += std::memcmp(area.px(x, y), area_before.px(x, y), 3) != 0;
      if (best < 0 || ink < best) best = ink, where = p;
    }
    if (best > 0) {  // every corner covers part of a curve: outside, on the right
      LineChartOptions o = opts;
      o.legend = LegendPos::OutsideRight;
      return render_line_chart(series, o);
    }
  }
  if (!has_data) {
    const std::string msg = "no data";
    draw_text(img, L + (pw - text_width(msg)) / 2, T + (ph - th) / 2, msg, kMuted);
  }

  // Frame; the marks' labels just inside the top of the plot, right of their line.
  draw_rect(img, float(L - 1), float(T - 1), float(R + 1), float(B + 1), kAxis, 1);
  for (const auto& [mx, name] : opts.x_marks) {
    if (!std::isfinite(mx) || name.empty()) continue;
    const int px = int(std::lround(X(mx)));
    if (px < L - 1 || px > R) continue;
    draw_text(img, std::min(px + 4, R - text_width(name) - 2), T + 4, name, kInk, 1, kBg, 1);
  }

  // Title, axis labels.
  if (!opts.title.empty()) draw_bold(img, L + (pw - text_width(opts.title)) / 2, 10, opts.title, kInk);
  if (!opts.x_label.empty())
    draw_text(img, L + (pw - text_width(opts.x_label)) / 2, opts.height - 10 - th, opts.x_label, kInk);
  if (!opts.y_label.empty()) draw_text_vertical(img, 12, T + (ph - text_width(opts.y_label)) / 2, opts.y_label, kInk);

  // Legend.
  if (legend) {
    int lx = R + 14, ly = T;  // OutsideRight
    if (where != LegendPos::OutsideRight) {
      const auto [cx, cy] = corner(where);
      lx = L + cx, ly = T + cy;
    }
    fill_rect(img, float(lx), float(ly), float(lx + legend_w), float(ly + legend_h), kBg, 0.88f);
    draw_rect(img, float(lx), float(ly), float(lx + legend_w), float(ly + legend_h), Color{200, 200, 200}, 1);
    for (size_t i = 0; i < entries.size(); ++i) {
      const int ry = ly + 5 + int(i) * row_h;
      const float cy = float(ry + row_h / 2.0);
      draw_line(img, float(lx + 8), cy, float(lx + 8 + swatch), cy, entries[i].color, 3.f);
      draw_text(img, lx + 8 + swatch + 6, ry + 2, entries[i].name, kInk);
    }
  }
  return img;
}

void save_line_chart(const std::string& png_path, const std::vector<PlotSeries>& series,
                     const LineChartOptions& opts) {
  save_image(png_path, render_line_chart(series, opts));
}

std::vector<double> ema_smooth(const std::vector<double>& y, double weight) {
  weight = std::clamp(weight, 0.0, 0.999999);
  std::vector<double> out(y.size());
  double acc = 0.0, decay = 1.0;
  for (size_t i = 0; i < y.size(); ++i) {
    if (!std::isfinite(y[i])) {
      out[i] = y[i];
      continue;
    }
    acc = acc * weight + (1.0 - weight) * y[i];
    decay *= weight;
    out[i] = acc / (1.0 - decay);
  }
  return out;
}

double ema_weight_for(size_t n) { return std::clamp(1.0 - 20.0 / double(std::max<size_t>(n, 1)), 0.6, 0.98); }

std::vector<std::string> plot_metrics_jsonl(const std::string& jsonl_path, const std::string& out_png_prefix,
                                            bool log_y) {
  std::ifstream f(jsonl_path);
  if (!f) throw std::runtime_error(jsonl_path + ": cannot open metrics log");
  struct Stage {
    int records = 0;
    std::vector<std::string> keys;  // first-appearance order
    std::map<std::string, PlotSeries> series;
  };
  std::vector<std::string> order;
  std::map<std::string, Stage> stages;
  std::string line;
  int lineno = 0;
  while (std::getline(f, line)) {
    ++lineno;
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    nlohmann::ordered_json j;  // keeps the log's key order (legend and colours follow it)
    try {
      j = nlohmann::ordered_json::parse(line);
    } catch (const std::exception& e) {
      throw std::runtime_error(jsonl_path + ":" + std::to_string(lineno) + ": not JSON (" + e.what() + ")");
    }
    if (!j.is_object()) throw std::runtime_error(jsonl_path + ":" + std::to_string(lineno) + ": not a JSON object");
    std::string stage = "all";
    if (j.contains("stage") && j["stage"].is_string()) stage = j["stage"].get<std::string>();
    if (!stages.count(stage)) order.push_back(stage);
    Stage& st = stages[stage];
    const double x = j.contains("iter") && j["iter"].is_number() ? j["iter"].get<double>() : double(st.records);
    ++st.records;
    for (auto it = j.begin(); it != j.end(); ++it) {
      if (it.key() == "iter" || it.key() == "stage" || !it.value().is_number()) continue;
      auto [s, fresh] = st.series.try_emplace(it.key());
      if (fresh) {
        s->second.name = it.key();
        st.keys.push_back(it.key());
      }
      s->second.x.push_back(x);
      s->second.y.push_back(it.value().get<double>());
    }
  }
  std::vector<std::string> written;
  for (const auto& name : order) {
    const Stage& st = stages[name];
    std::vector<std::string> keys;
    for (const auto& k : st.keys)
      if (k.find("loss") != std::string::npos) keys.push_back(k);
    if (keys.empty()) keys = st.keys;
    std::vector<PlotSeries> series, smoothed;
    for (size_t k = 0; k < keys.size(); ++k)
      add_raw_and_smoothed(series, smoothed, st.series.at(keys[k]), class_color(int(k)));
    series.insert(series.end(), smoothed.begin(), smoothed.end());  // smoothed curves on top
    LineChartOptions o;
    o.title = "Training losses, stage " + name + " (smoothed; raw values faint)";
    o.x_label = "iteration";
    o.y_label = log_y ? "loss (log scale)" : "loss";
    o.log_y = log_y;
    o.legend = LegendPos::Best;
    const std::string path = out_png_prefix + name + ".png";
    save_line_chart(path, series, o);
    written.push_back(path);
  }
  // The whole run: each stage's "loss" after the previous stages' iterations.
  std::vector<PlotSeries> raw, smooth;
  LineChartOptions o;
  double offset = 0.0;
  for (const auto& name : order) {
    const Stage& st = stages[name];
    auto it = st.series.find("loss");
    if (it == st.series.end() || it->second.x.empty()) continue;
    PlotSeries s = it->second;
    for (double& x : s.x) x += offset;
    s.name = raw.empty() ? "loss" : "";  // one legend entry for the whole curve
    o.x_marks.push_back({offset, name});
    add_raw_and_smoothed(raw, smooth, s, class_color(0));
    double last = 0.0;
    for (double x : it->second.x)
      if (std::isfinite(x)) last = std::max(last, x);
    offset += last;
  }
  if (!raw.empty()) {
    raw.insert(raw.end(), smooth.begin(), smooth.end());
    o.title = "Training loss, whole run (smoothed; raw values faint; stages marked)";
    o.x_label = "iteration (whole run)";
    o.y_label = log_y ? "loss (log scale)" : "loss";
    o.log_y = log_y;
    o.legend = LegendPos::Best;
    const std::string path = out_png_prefix + "run.png";
    save_line_chart(path, raw, o);
    written.push_back(path);
  }
  return written;
}

Image render_pr_chart(const std::vector<PrCurve>& curves, const std::string& title, int width, int height) {
  std::vector<PlotSeries> series;
  for (size_t i = 0; i < curves.size(); ++i) {
    const auto& c = curves[i];
    if (c.recall.size() != c.precision.size())
      throw std::invalid_argument("pr chart: curve '" + c.name + "' has recall/precision of different lengths");
    PlotSeries s;
    char ap[32];
    std::snprintf(ap, sizeof(ap), "  AP %.3f", c.ap);
    s.name = c.name + ap;
    s.color = class_color(int(i));
    // Start the curve at recall 0 with the first precision, as the devkit's plot reads.
    if (!c.recall.empty()) {
      s.x.push_back(0.0);
      s.y.push_back(c.precision.front());
    }
    s.x.insert(s.x.end(), c.recall.begin(), c.recall.end());
    s.y.insert(s.y.end(), c.precision.begin(), c.precision.end());
    series.push_back(std::move(s));
  }
  LineChartOptions o;
  o.width = width;
  o.height = height;
  o.title = title;
  o.x_label = "recall";
  o.y_label = "precision";
  o.x_min = 0.0;
  o.x_max = 1.0;
  o.y_min = 0.0;
  o.y_max = 1.02;
  o.legend = curves.size() > 6 ? LegendPos::OutsideRight : LegendPos::Best;
  return render_line_chart(series, o);
}

}  // namespace frcnn
