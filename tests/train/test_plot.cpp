#include <catch2/catch.hpp>

#include <cmath>
#include <fstream>
#include <random>

#include "data/image.h"
#include "tests/test_util.h"
#include "train/plot.h"
#include "train/voc_eval.h"

using namespace frcnn;

namespace {
size_t count_color(const Image& img, Color c) {
  size_t n = 0;
  for (size_t i = 0; i < img.data.size(); i += 3)
    n += img.data[i] == c.r && img.data[i + 1] == c.g && img.data[i + 2] == c.b;
  return n;
}
// Pixels close to c (anti-aliased lines blend into the background at their edges).
size_t count_near(const Image& img, Color c, int tol = 8) {
  size_t n = 0;
  for (size_t i = 0; i < img.data.size(); i += 3)
    n += std::abs(img.data[i] - c.r) <= tol && std::abs(img.data[i + 1] - c.g) <= tol &&
         std::abs(img.data[i + 2] - c.b) <= tol;
  return n;
}
}  // namespace

TEST_CASE("plot: nice ticks and labels", "[plot]") {
  REQUIRE(nice_ticks(0, 1, 6) == std::vector<double>{0, 0.2, 0.4, 0.6000000000000001, 0.8, 1.0});
  auto t = nice_ticks(0, 2000, 6);
  REQUIRE(t.front() == 0);
  REQUIRE(t.back() == 2000);
  REQUIRE(t[1] - t[0] == 500);
  t = nice_ticks(0.013, 0.87, 6);
  REQUIRE(t.front() == 0);
  REQUIRE(t.back() >= 0.87);
  t = nice_ticks(-3.2, 7.9, 6);
  REQUIRE(t.front() <= -3.2);
  REQUIRE(t.back() >= 7.9);
  for (double v : t) REQUIRE(std::fabs(v / 2.5 - std::round(v / 2.5)) < 1e-9);  // step 2.5
  REQUIRE(nice_ticks(5, 5).size() >= 2);
  REQUIRE(format_tick(0.25, 0.25) == "0.25");
  REQUIRE(format_tick(0.4, 0.2) == "0.4");
  REQUIRE(format_tick(20000, 10000) == "20k");
  REQUIRE(format_tick(500, 100) == "500");
  REQUIRE(format_tick(0, 0.1) == "0");
  REQUIRE(format_tick(1e-5, 1e-6) == "1.0e-05");
}

TEST_CASE("plot: line chart PNG decodes at the requested size with the series colours", "[plot]") {
  auto dir = test::temp_dir("plot_line");
  std::vector<PlotSeries> series(2);
  series[0].name = "loss_cls";
  series[1].name = "loss_bbox";
  for (int i = 0; i <= 100; ++i) {
    series[0].x.push_back(i * 10);
    series[0].y.push_back(1.0 / (1 + 0.05 * i));
    series[1].x.push_back(i * 10);
    series[1].y.push_back(0.3 * std::exp(-0.01 * i));
  }
  series[1].y[50] = NAN;  // a gap, not a crash
  LineChartOptions o;
  o.width = 640;
  o.height = 400;
  o.title = "losses";
  o.x_label = "iteration";
  o.y_label = "loss";
  const auto path = (dir / "chart.png").string();
  save_line_chart(path, series, o);
  Image img = load_image(path);
  REQUIRE(img.width == 640);
  REQUIRE(img.height == 400);
  REQUIRE(count_near(img, class_color(0)) > 300);
  REQUIRE(count_near(img, class_color(1)) > 300);
  REQUIRE(count_color(img, Color{255, 255, 255}) < size_t(640 * 400));
  // Log axis too, and a chart without data.
  o.log_y = true;
  Image lg = render_line_chart(series, o);
  REQUIRE(count_near(lg, class_color(0)) > 300);
  Image none = render_line_chart({}, o);
  REQUIRE(none.width == 640);
  // Bad input.
  series[0].y.pop_back();
  REQUIRE_THROWS_WITH(render_line_chart(series, o), Catch::Contains("loss_cls"));
  o.width = 50;
  REQUIRE_THROWS_WITH(render_line_chart({}, o), Catch::Contains("too small"));
}

TEST_CASE("plot: metrics JSON lines give one chart per stage", "[plot]") {
  auto dir = test::temp_dir("plot_metrics");
  const auto log = (dir / "metrics.jsonl").string();
  {
    // A synthetic log shaped like the trainer's: decaying noisy losses, lr, a string field.
    std::ofstream f(log);
    std::mt19937 gen(7);
    std::normal_distribution<double> noise(0.0, 1.0);
    for (int it = 20; it <= 4000; it += 20) {
      const double k = it / 4000.0;
      f << "{\"stage\":\"rpn1\",\"iter\":" << it << ",\"loss_rpn_cls\":"
        << 0.12 + 0.55 * std::exp(-5 * k) + 0.015 * noise(gen) << ",\"loss_rpn_bbox\":"
        << 0.05 + 0.12 * std::exp(-3 * k) + 0.01 * std::fabs(noise(gen))
        << ",\"lr\":0.001,\"device\":\"cpu\",\"ok\":true}\n";
    }
    f << "\n";
    for (int it = 20; it <= 2000; it += 20) {
      const double k = it / 2000.0;
      f << "{\"stage\":\"frcnn1\",\"iter\":" << it << ",\"loss_cls\":" << 0.35 + 1.1 * std::exp(-4 * k) + 0.04 * noise(gen)
        << ",\"loss_bbox\":" << 0.18 + 0.2 * std::exp(-2 * k) + 0.02 * noise(gen) << ",\"note\":null}\n";
    }
    f << "{\"lr\":0.0001,\"time_ms\":120}\n";  // no stage, no loss key: stage "all", every numeric key
  }
  auto paths = plot_metrics_jsonl(log, (dir / "loss_").string());
  REQUIRE(paths.size() == 3);  // no "loss" key in any stage: no whole-run chart
  REQUIRE(paths[0] == (dir / "loss_rpn1.png").string());
  REQUIRE(paths[1] == (dir / "loss_frcnn1.png").string());
  REQUIRE(paths[2] == (dir / "loss_all.png").string());
  Image a = load_image(paths[0]);
  REQUIRE(a.width == 800);
  REQUIRE(a.height == 480);
  REQUIRE(count_near(a, class_color(0)) > 300);  // loss_rpn_cls
  REQUIRE(count_near(a, class_color(1)) > 300);  // loss_rpn_bbox
  REQUIRE(count_near(a, class_color(2)) == 0);   // lr is not a loss: not plotted
  Image b = load_image(paths[1]);
  REQUIRE(count_near(b, class_color(1)) > 300);
  std::printf("example written: %s\n", paths[0].c_str());

  std::ofstream(dir / "bad.jsonl") << "{\"iter\":1}\n[1,2]\n";
  REQUIRE_THROWS_WITH(plot_metrics_jsonl((dir / "bad.jsonl").string(), (dir / "x_").string()),
                      Catch::Contains("bad.jsonl:2"));
  std::ofstream(dir / "bad2.jsonl") << "{\"iter\":1, oops\n";
  REQUIRE_THROWS_WITH(plot_metrics_jsonl((dir / "bad2.jsonl").string(), (dir / "x_").string()),
                      Catch::Contains("bad2.jsonl:1") && Catch::Contains("not JSON"));
  REQUIRE_THROWS_WITH(plot_metrics_jsonl((dir / "missing.jsonl").string(), (dir / "x_").string()),
                      Catch::Contains("missing.jsonl"));
}

TEST_CASE("plot: PR curves from an evaluation are written per class and together", "[plot]") {
  // Three classes with seeded random detections around their ground truth; one class has
  // no ground truth (excluded, no chart).
  auto dir = test::temp_dir("plot_pr");
  std::mt19937 gen(11);
  std::uniform_real_distribution<float> u(0.f, 1.f);
  std::vector<std::string> names = {"aeroplane", "bicycle", "bird", "boat"};
  std::vector<VocGtImage> gt;
  std::vector<std::vector<VocDetection>> dets(4);
  for (int i = 0; i < 40; ++i) {
    VocGtImage g;
    g.image_id = "img" + std::to_string(i);
    for (int c = 0; c < 3; ++c) {
      const float x = 20.f + 100.f * c, y = 30.f;
      g.boxes.push_back({x, y, x + 60, y + 80});
      g.labels.push_back(c);
      g.difficult.push_back(i % 13 == 0);
      // Better classes get more accurate boxes and higher scores for hits.
      for (int k = 0; k < 2; ++k) {
        const float jitter = (k == 0 ? 8.f : 40.f) * (1.f + c) * u(gen);
        const float s = (k == 0 ? 0.5f : 0.1f) + 0.5f * u(gen) - 0.1f * c;
        dets[c].push_back({g.image_id, s, x + jitter, y, x + 60 + jitter, y + 80});
      }
    }
    gt.push_back(g);
  }
  auto res = voc_evaluate(names, dets, gt);
  REQUIRE(res.excluded == std::vector<std::string>{"boat"});
  auto paths = write_pr_curves(res, (dir / "pr").string());
  REQUIRE(paths.size() == 4);
  REQUIRE(paths[0] == (dir / "pr" / "pr_aeroplane.png").string());
  REQUIRE(paths[3] == (dir / "pr" / "pr_all.png").string());
  Image all = load_image(paths[3]);
  REQUIRE(all.width == 800);
  REQUIRE(all.height == 560);
  for (int c = 0; c < 3; ++c) REQUIRE(count_near(all, class_color(c)) > 100);
  Image one = load_image(paths[1]);
  REQUIRE(one.width == 640);
  REQUIRE(count_near(one, class_color(0)) > 100);
  std::printf("example written: %s\n%s", paths[3].c_str(), format_ap_table(res).c_str());
}

// A detector that is poor at low recall: its PR curve runs along the bottom at first, so
// the old lower-left legend sat on it. The legend must leave every curve in view.
TEST_CASE("plot: the PR legend hides no curve", "[plot]") {
  std::vector<PrCurve> curves(2);
  curves[0] = {"cat", {0.02, 0.1, 0.2, 0.3, 0.6, 1.0}, {0.05, 0.08, 0.1, 0.9, 0.9, 0.9}, 0.5};
  curves[1] = {"dog", {0.1, 0.5, 0.9, 1.0}, {1.0, 0.98, 0.95, 0.2}, 0.9};  // through the upper right
  const Image chart = render_pr_chart(curves, "PR");
  // The same curves without a legend, as render_pr_chart draws them.
  std::vector<PlotSeries> series;
  for (size_t i = 0; i < curves.size(); ++i) {
    PlotSeries s;
    s.color = class_color(int(i));
    s.x = {0.0};
    s.y = {curves[i].precision.front()};
    s.x.insert(s.x.end(), curves[i].recall.begin(), curves[i].recall.end());
    s.y.insert(s.y.end(), curves[i].precision.begin(), curves[i].precision.end());
    series.push_back(s);
  }
  LineChartOptions o;
  o.width = 800, o.height = 560, o.title = "PR", o.x_label = "recall", o.y_label = "precision";
  o.x_min = 0.0, o.x_max = 1.0, o.y_min = 0.0, o.y_max = 1.02;
  o.legend = LegendPos::None;
  const Image bare = render_line_chart(series, o);
  for (int i = 0; i < 2; ++i) {
    INFO("curve " << i);
    // Every curve pixel is still there (the legend adds a swatch of the colour, hides none).
    REQUIRE(count_color(chart, class_color(i)) >= count_color(bare, class_color(i)));
  }
  // LegendPos::Best on a line chart: the same rule.
  o.legend = LegendPos::Best;
  series[0].name = "cat";
  series[1].name = "dog";
  const Image best = render_line_chart(series, o);
  for (int i = 0; i < 2; ++i) REQUIRE(count_color(best, class_color(i)) >= count_color(bare, class_color(i)));
}

TEST_CASE("plot: ema_smooth is TensorBoard's debiased EMA", "[plot]") {
  const auto s = ema_smooth({1.0, 0.0, 0.0}, 0.5);
  REQUIRE(s[0] == Approx(1.0));  // debiased: the first value is itself
  REQUIRE(s[1] == Approx(1.0 / 3));
  REQUIRE(s[2] == Approx(1.0 / 7));
  const auto n = ema_smooth({2.0, std::nan(""), 2.0}, 0.9);
  REQUIRE(n[0] == Approx(2.0));
  REQUIRE(std::isnan(n[1]));
  REQUIRE(n[2] == Approx(2.0));  // a constant stays constant; the NaN does not enter
  REQUIRE(ema_smooth({3.0, 1.0}, 0.0) == std::vector<double>{3.0, 1.0});
  REQUIRE(ema_weight_for(10) == Approx(0.6));
  REQUIRE(ema_weight_for(200) == Approx(0.9));
  REQUIRE(ema_weight_for(100000) == Approx(0.98));
}

TEST_CASE("plot: loss charts draw the EMA over faint raw values, and a whole-run chart marks the stages",
          "[plot]") {
  auto dir = test::temp_dir("plot_smooth");
  const auto log = (dir / "metrics.jsonl").string();
  {
    std::ofstream f(log);
    std::mt19937 gen(3);
    std::normal_distribution<double> noise(0.0, 1.0);
    for (const char* stage : {"rpn1", "frcn1"})
      for (int it = 1; it <= 400; ++it) {
        const double a = 0.3 + 0.6 * std::exp(-it / 80.0) + 0.08 * noise(gen), b = 0.1 + 0.05 * noise(gen);
        f << "{\"stage\":\"" << stage << "\",\"iter\":" << it << ",\"loss\":" << a + b << ",\"loss_a\":" << a
          << ",\"loss_b\":" << b << "}\n";
      }
  }
  const auto paths = plot_metrics_jsonl(log, (dir / "loss_").string());
  REQUIRE(paths.size() == 3);
  REQUIRE(paths[2] == (dir / "loss_run.png").string());
  std::printf("examples written: %s, %s\n", paths[0].c_str(), paths[2].c_str());
  const Image stage = load_image(paths[0]);
  // Both the faint raw line and the full-colour smoothed one of each key.
  for (int k = 0; k < 3; ++k) {
    const Color c = class_color(k);
    const Color washed{uint8_t(std::lround(255 - (255 - c.r) * 0.35)), uint8_t(std::lround(255 - (255 - c.g) * 0.35)),
                       uint8_t(std::lround(255 - (255 - c.b) * 0.35))};
    INFO("key " << k);
    REQUIRE(count_near(stage, washed, 6) > 200);
    REQUIRE(count_near(stage, c, 8) > 200);
  }
  const Image run = load_image(paths[2]);
  REQUIRE(run.width == 800);
  REQUIRE(count_near(run, class_color(0), 8) > 300);
  REQUIRE(count_color(run, Color{150, 150, 150}) > 50);  // the dashed stage boundaries
}
