// Charts rendered with data/draw.h and written as PNG through save_image: line charts
// (loss curves from the training metrics log), precision-recall charts (VOC evaluation).
// No plotting dependency: axes, "nice" ticks, grid, legend and text are drawn here.
#pragma once
#include <optional>
#include <string>
#include <vector>

#include "data/draw.h"
#include "data/image.h"

namespace frcnn {

struct PlotSeries {
  std::string name;            // legend entry; empty: not in the legend
  std::vector<double> x, y;    // same length; non-finite points (and y <= 0 on a log axis) break the line
  std::optional<Color> color;  // default: class_color(series index)
  std::optional<float> line_width;  // default: LineChartOptions::line_width
};

// Best: the inside corner where the legend covers the fewest pixels of the curves (lower
// left, upper right, lower right, upper left on ties); outside on the right when every
// corner would cover some.
enum class LegendPos { UpperRight, LowerLeft, LowerRight, OutsideRight, None, UpperLeft, Best };

struct LineChartOptions {
  int width = 800, height = 480;      // whole image, pixels (at least 200 x 150)
  std::string title, x_label, y_label;
  bool log_y = false;                 // log10 y axis; ticks at 1-2-5 or powers of ten
  std::optional<double> x_min, x_max, y_min, y_max;  // axis limits; default: data range rounded to ticks
  float line_width = 2.f;
  LegendPos legend = LegendPos::UpperRight;
  // Vertical dashed lines at these x values, each labelled at the top of the plot (the
  // stage boundaries of a whole-run loss chart).
  std::vector<std::pair<double, std::string>> x_marks;
};

// TensorBoard's smoothing: an exponential moving average with weight `weight` in [0, 1)
// (0: no smoothing), debiased (divided by 1 - weight^k) so the first values are not pulled
// towards 0. Non-finite values stay non-finite and do not enter the average.
std::vector<double> ema_smooth(const std::vector<double>& y, double weight);
// The smoothing weight of a loss chart with n points: 1 - 20 / n clamped to [0.6, 0.98]
// (about n / 20 points of memory; TensorBoard's default is 0.6).
double ema_weight_for(size_t n);

// "Nice" axis ticks (1, 2, 2.5 or 5 times a power of ten) covering [lo, hi] with about
// `target` ticks; the first/last tick may lie outside [lo, hi] (the axis is widened to them).
std::vector<double> nice_ticks(double lo, double hi, int target = 6);
// Tick labels: as many decimals as the step needs, "20k" for thousands, 1e-5 style for tiny
// or huge values.
std::string format_tick(double v, double step);

// Renders the chart. Throws std::invalid_argument for x/y of different lengths or bad sizes.
// A chart with no finite point draws axes over [0, 1] and says "no data".
Image render_line_chart(const std::vector<PlotSeries>& series, const LineChartOptions& opts);
void save_line_chart(const std::string& png_path, const std::vector<PlotSeries>& series,
                     const LineChartOptions& opts);

// Training metrics log: JSON lines, one object per logged iteration, e.g.
//   {"stage":"rpn1","iter":20,"loss_rpn_cls":0.6,"loss_rpn_bbox":0.1,"lr":0.001}
// Writes one chart per stage, <out_png_prefix><stage>.png, with one series per numeric key
// whose name contains "loss" (every numeric key when a stage has none), against "iter" (the
// record's index within its stage when absent): the raw values as a thin faint line, the
// EMA (ema_smooth, ema_weight_for) over them in the full colour. Lines without "stage" go
// to stage "all". When some stage has a "loss" key, also <out_png_prefix>run.png: "loss"
// over the whole run, the stages one after another (iterations counted from the run's
// start), raw and smoothed per stage, a dashed line and the stage's name where each starts.
// Non-numeric values (strings, booleans, null, arrays) are skipped; blank lines are skipped;
// a line that is not a JSON object throws std::runtime_error naming file and line.
// Returns the PNG paths written (stages in order of first appearance, then the run chart).
std::vector<std::string> plot_metrics_jsonl(const std::string& jsonl_path, const std::string& out_png_prefix,
                                            bool log_y = false);

// Precision-recall chart: one curve per entry (recall on x in [0, 1], precision on y in
// [0, 1]), the legend reading "name  AP 0.763".
struct PrCurve {
  std::string name;
  std::vector<double> recall, precision;
  double ap = 0.0;
};
Image render_pr_chart(const std::vector<PrCurve>& curves, const std::string& title, int width = 800,
                      int height = 560);

}  // namespace frcnn
