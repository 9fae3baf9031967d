// The input pipeline alone, as `frcnn bench` reports it: how many images per second the
// host turns from JPEG files into network inputs (decode, the paper's resize, normalise:
// load_image + prepare_image, what `frcnn detect`'s and the loader's workers run), with one
// worker thread and with one per hardware thread — whether it keeps a GPU fed.
//
// The images: `count` JPEGs of VOC's typical 500x375, quality 90, written once into a
// temporary folder (smooth gradients plus noise, so they compress like photos, not like
// flat colour), decoded from the page cache. Each thread count walks the set `passes`
// times through OrderedPrefetch (engine/ordered_prefetch.h), in order, as the detector
// would consume them.
#pragma once
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace frcnn {

struct LoaderBench {
  int threads = 1;
  int images = 0;             // timed
  double images_per_s = 0;    // wall clock over the walk
  double decode_ms = 0;       // median per image, single thread: load_image
  double resize_ms = 0;       // median per image, single thread: prepare_image (resize + normalise)
};

// One row per thread count in `threads` (values < 1: skipped); `scale`/`max_size` as the
// config's input; throws std::runtime_error if the temporary folder cannot be written.
std::vector<LoaderBench> bench_loader(const std::vector<int>& threads, int scale, int max_size, int count = 16,
                                      int passes = 3);

nlohmann::json loader_bench_json(const std::vector<LoaderBench>& rows);

}  // namespace frcnn
