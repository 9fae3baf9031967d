#include "train/bench_loader.h"

#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <random>

#include "data/image.h"
#include "data/input_convention.h"
#include "data/transforms.h"
#include "engine/log.h"
#include "engine/ordered_prefetch.h"
#include "engine/timer.h"
#include "train/bench_e2e.h"  // time_stats

namespace frcnn {

namespace {

namespace fs = std::filesystem;

// A photo-like 500x375 image: per-channel gradients in random directions plus noise.
Image photo_like(uint32_t seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> u(-1.f, 1.f);
  std::normal_distribution<float> noise(0.f, 12.f);
  Image img(500, 375);
  float gx[3], gy[3], base[3];
  for (int c = 0; c < 3; ++c) gx[c] = 0.4f * u(rng), gy[c] = 0.4f * u(rng), base[c] = 128.f + 60.f * u(rng);
  for (int y = 0; y < img.height; ++y)
    for (int x = 0; x < img.width; ++x)
      for (int c = 0; c < 3; ++c)
        img.px(x, y)[c] =
            uint8_t(std::clamp(std::lround(base[c] + gx[c] * (x - 250) + gy[c] * (y - 187) + noise(rng)), 0L, 255L));
  return img;
}

// The folder of test images; removed with the object.
struct TempImages {
  fs::path dir;
  std::vector<std::string> files;
  explicit TempImages(int count) {
    dir = fs::temp_directory_path() / ("frcnn_bench_loader_" + std::to_string(::getpid()));
    fs::create_directories(dir);
    for (int i = 0; i < count; ++i) {
      files.push_back((dir / (std::to_string(i) + ".jpg")).string());
      save_image(files.back(), photo_like(uint32_t(1000 + i)), 90);
    }
  }
  ~TempImages() {
    std::error_code ec;
    fs::remove_all(dir, ec);
  }
};

}  // namespace

std::vector<LoaderBench> bench_loader(const std::vector<int>& threads, int scale, int max_size, int count,
                                      int passes) {
  TempImages set(std::max(1, count));
  const InputConvention conv = InputConvention::caffe();
  // Single-thread split: decode vs resize + normalise.
  std::vector<double> dec, rsz;
  for (const std::string& f : set.files) {
    WallTimer t;
    Image img = load_image(f);
    dec.push_back(t.millis());
    t.reset();
    float s = 0;
    Tensor x = prepare_image(img, scale, max_size, conv, &s);
    rsz.push_back(t.millis());
  }
  std::vector<LoaderBench> rows;
  const size_t n = set.files.size() * size_t(std::max(1, passes));
  for (int th : threads) {
    if (th < 1) continue;
    LoaderBench r;
    r.threads = th;
    r.images = int(n);
    r.decode_ms = time_stats(dec).median;
    r.resize_ms = time_stats(rsz).median;
    WallTimer wall;
    {
      OrderedPrefetch<Tensor> pre(
          n,
          [&](size_t i) {
            float s = 0;
            return prepare_image(load_image(set.files[i % set.files.size()]), scale, max_size, conv, &s);
          },
          th, 2 * th);
      for (size_t i = 0; i < n; ++i) pre.next();
    }
    r.images_per_s = double(n) / std::max(wall.seconds(), 1e-9);
    rows.push_back(r);
  }
  return rows;
}

nlohmann::json loader_bench_json(const std::vector<LoaderBench>& rows) {
  nlohmann::json j = nlohmann::json::array();
  for (const LoaderBench& r : rows)
    j.push_back({{"threads", r.threads},
                 {"images", r.images},
                 {"images_per_s", r.images_per_s},
                 {"decode_ms_median", r.decode_ms},
                 {"resize_normalize_ms_median", r.resize_ms}});
  return j;
}

}  // namespace frcnn
