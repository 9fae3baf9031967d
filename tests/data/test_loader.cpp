// The prefetching loader: deterministic order and flips, resume, background prefetch,
// ground truth in resized/flipped coordinates, empty and bad images; pinned staging.
#include <catch2/catch.hpp>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <thread>

#include "data/loader.h"
#include "data/synth.h"
#include "data/transforms.h"
#include "tests/gpu.h"
#include "tests/test_util.h"

using namespace frcnn;
namespace fs = std::filesystem;

namespace {

fs::path make_set(const std::string& tag, int train = 6) {
  auto dir = test::temp_dir(tag);
  SynthOptions o;
  o.out = dir.string();
  o.train = train;
  o.test = 0;
  o.seed = 21;
  write_synthetic_voc(o);
  return dir;
}

// Small scale keeps the tests fast.
LoaderOptions small_train(uint64_t seed) {
  LoaderOptions o = LoaderOptions::training(96, 160, seed);
  o.workers = 2;
  o.prefetch = 3;
  return o;
}

std::vector<std::pair<size_t, bool>> walk(Loader& l, int n) {
  std::vector<std::pair<size_t, bool>> out;
  for (int i = 0; i < n; ++i) {
    auto s = l.next();
    REQUIRE(s.has_value());
    out.emplace_back(s->index, s->flipped);
  }
  return out;
}

}  // namespace

TEST_CASE("loader: same seed gives the same order and flips and each epoch is a permutation", "[loader]") {
  auto dir = make_set("loader_det");
  VocDataset ds(dir.string(), "trainval", synth_class_names());
  Loader a(ds, small_train(5)), b(ds, small_train(5)), c(ds, small_train(6));
  const int n = static_cast<int>(a.epoch_size());
  REQUIRE(n == 6);
  auto sa = walk(a, 3 * n), sb = walk(b, 3 * n), sc = walk(c, 3 * n);
  REQUIRE(sa == sb);
  REQUIRE(sa != sc);
  int flips = 0;
  bool epochs_differ = false;
  for (int e = 0; e < 3; ++e) {
    std::vector<size_t> idx;
    for (int i = 0; i < n; ++i) {
      idx.push_back(sa[e * n + i].first);
      flips += sa[e * n + i].second ? 1 : 0;
      REQUIRE(a.at(uint64_t(e * n + i)) == sa[e * n + i]);  // next() follows the pure sequence
    }
    std::sort(idx.begin(), idx.end());
    REQUIRE(idx == std::vector<size_t>{0, 1, 2, 3, 4, 5});
    if (e > 0)
      for (int i = 0; i < n; ++i) epochs_differ |= sa[e * n + i].first != sa[i].first;
  }
  REQUIRE(epochs_differ);
  REQUIRE(flips > 0);
  REQUIRE(flips < 3 * n);
  // Over many epochs the flip rate is about one half.
  int many = 0;
  for (uint64_t p = 0; p < 600; ++p) many += a.at(p).second ? 1 : 0;
  REQUIRE(many > 240);
  REQUIRE(many < 360);
}

TEST_CASE("loader: resuming at step k gives the same remaining sequence", "[loader]") {
  auto dir = make_set("loader_resume");
  VocDataset ds(dir.string(), "trainval", synth_class_names());
  Loader full(ds, small_train(9));
  std::vector<Sample> ref;
  for (int i = 0; i < 14; ++i) ref.push_back(*full.next());
  LoaderOptions o = small_train(9);
  o.start = 8;  // mid-epoch 1, runs into epoch 2
  o.count = 6;
  Loader resumed(ds, o);
  REQUIRE(resumed.position() == 8);
  for (int i = 8; i < 14; ++i) {
    auto s = resumed.next();
    REQUIRE(s.has_value());
    REQUIRE(s->position == uint64_t(i));
    REQUIRE(s->epoch == uint64_t(i) / 6);
    REQUIRE(s->index == ref[i].index);
    REQUIRE(s->flipped == ref[i].flipped);
    REQUIRE(s->image.to_vector<float>() == ref[i].image.to_vector<float>());
    REQUIRE(s->gt_boxes.to_vector<float>() == ref[i].gt_boxes.to_vector<float>());
  }
  REQUIRE(!resumed.next().has_value());  // count reached
}

TEST_CASE("loader: prefetches in the background up to the prefetch depth", "[loader]") {
  auto dir = make_set("loader_prefetch");
  VocDataset ds(dir.string(), "trainval", synth_class_names());
  LoaderOptions o = small_train(1);
  o.workers = 2;
  o.prefetch = 4;
  Loader l(ds, o);
  // Nobody has called next(): the workers fill the queue on their own, and stop at 4.
  auto t0 = std::chrono::steady_clock::now();
  while (l.ready() < 4 && std::chrono::steady_clock::now() - t0 < std::chrono::seconds(10))
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  REQUIRE(l.ready() == 4);
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  REQUIRE(l.ready() == 4);
  // Taking one ready sample does not block.
  const double before = l.wait_seconds();
  auto s = l.next();
  REQUIRE(s.has_value());
  REQUIRE(l.wait_seconds() == before);
  REQUIRE(l.position() == 1);
}

TEST_CASE("loader: ground truth follows the resize and the flip", "[loader]") {
  auto dir = make_set("loader_gt");
  VocDataset ds(dir.string(), "trainval", synth_class_names());
  LoaderOptions o = small_train(3);
  Loader l(ds, o);
  bool saw_flip = false, saw_plain = false;
  for (int i = 0; i < 12; ++i) {
    Sample s = *l.next();
    const VocRecord& r = ds.record(s.index);
    REQUIRE(s.id == r.id);
    REQUIRE(s.orig_width == r.width);
    REQUIRE(s.orig_height == r.height);
    const ResizeTarget rt = detection_resize(r.width, r.height, 96, 160);
    REQUIRE(s.scale == rt.scale);
    REQUIRE(s.image.shape() == Shape{1, 3, rt.height, rt.width});
    // Training ground truth: the non-difficult objects, scaled and flipped.
    std::vector<float> expect;
    std::vector<int32_t> labels;
    for (const auto& ob : r.objects) {
      if (ob.difficult) continue;
      float x1 = ob.x1, x2 = ob.x2;
      if (s.flipped) x1 = r.width - ob.x2, x2 = r.width - ob.x1;
      expect.insert(expect.end(), {x1 * rt.scale, ob.y1 * rt.scale, x2 * rt.scale, ob.y2 * rt.scale});
      labels.push_back(ob.label);
    }
    REQUIRE(s.gt_boxes.shape() == Shape{int64_t(labels.size()), 4});
    REQUIRE(s.gt_boxes.to_vector<float>() == expect);
    REQUIRE(s.gt_labels.to_vector<int32_t>() == labels);
    // The pixels are the (flipped) image through the fused resize.
    Image img = ds.load_image(s.index);
    if (s.flipped) img = flip_horizontal(img);
    float sc = 0;
    Tensor ref = prepare_image(img, 96, 160, o.convention, &sc);
    REQUIRE(s.image.to_vector<float>() == ref.to_vector<float>());
    (s.flipped ? saw_flip : saw_plain) = true;
  }
  REQUIRE(saw_flip);
  REQUIRE(saw_plain);
}

TEST_CASE("loader: empty images are left out of training and kept for evaluation", "[loader]") {
  auto dir = make_set("loader_empty");
  // Image 000002 gets no objects; 000003 only a difficult one.
  {
    VocDataset ds(dir.string(), "trainval", synth_class_names());
    const VocRecord& r2 = ds.record(1);
    std::ofstream(dir / "Annotations" / "000002.xml") << voc_annotation_xml("000002", r2.width, r2.height, {});
    const VocRecord& r3 = ds.record(2);
    VocObject d = r3.objects[0];
    d.difficult = true;
    std::ofstream(dir / "Annotations" / "000003.xml") << voc_annotation_xml("000003", r3.width, r3.height, {d});
  }
  VocDataset ds(dir.string(), "trainval", synth_class_names());
  REQUIRE(ds.size() == 6);
  Loader train(ds, small_train(0));
  REQUIRE(train.epoch_size() == 4);
  REQUIRE(train.usable() == std::vector<size_t>{0, 3, 4, 5});

  LoaderOptions eo = LoaderOptions::evaluation(96, 160);
  eo.workers = 1;
  Loader eval(ds, eo);
  REQUIRE(eval.epoch_size() == 6);
  std::vector<size_t> order;
  while (auto s = eval.next()) {
    order.push_back(s->index);
    REQUIRE(!s->flipped);
    if (s->index == 1) REQUIRE(s->gt_boxes.shape() == Shape{0, 4});
    if (s->index == 2) {
      REQUIRE(s->gt_labels.numel() == 1);
      REQUIRE(s->gt_difficult.to_vector<uint8_t>() == std::vector<uint8_t>{1});
    }
  }
  REQUIRE(order == std::vector<size_t>{0, 1, 2, 3, 4, 5});  // dataset order, one pass
}

TEST_CASE("loader: a corrupt image is skipped with a warning or reported", "[loader]") {
  auto dir = make_set("loader_bad");
  std::ofstream(dir / "JPEGImages" / "000004.jpg", std::ios::binary) << "\xff\xd8\xff\xe0 truncated";
  VocDataset ds(dir.string(), "trainval", synth_class_names());
  LoaderOptions eo = LoaderOptions::evaluation(96, 160);
  Loader eval(ds, eo);
  std::vector<size_t> got;
  while (auto s = eval.next()) got.push_back(s->index);
  REQUIRE(got == std::vector<size_t>{0, 1, 2, 4, 5});

  // Training: the bad image is skipped every epoch; positions stay on the pure sequence.
  LoaderOptions to = small_train(2);
  Loader train(ds, to);
  for (int i = 0; i < 12; ++i) {
    Sample s = *train.next();
    REQUIRE(s.index != 3);
    REQUIRE(train.at(s.position).first == s.index);
  }

  eo.skip_bad_images = false;
  Loader strict(ds, eo);
  REQUIRE_THROWS_WITH(
      [&] {
        while (strict.next()) {
        }
      }(),
      Catch::Contains("000004.jpg"));
}

TEST_CASE("loader: bad options are rejected", "[loader]") {
  auto dir = make_set("loader_opts", 2);
  VocDataset ds(dir.string(), "trainval", synth_class_names());
  LoaderOptions o = small_train(0);
  o.workers = 0;
  REQUIRE_THROWS_AS(Loader(ds, o), std::invalid_argument);
  o = small_train(0);
  o.scale = 0;
  REQUIRE_THROWS_AS(Loader(ds, o), std::invalid_argument);
}

TEST_CASE("pinned pool: blocks are reused after release (ordinary memory without a GPU)", "[loader]") {
  auto pool = PinnedPool::create(true);
  REQUIRE(pool->pinned() == pinned_memory_available());
  void* first = nullptr;
  {
    auto a = pool->acquire(1000);
    REQUIRE(a->bytes >= 1000);
    first = a->data;
    std::memset(a->data, 7, 1000);
    auto b = pool->acquire(500);  // a is still held: a second block
    REQUIRE(b->data != first);
    REQUIRE(pool->blocks_allocated() == 2);
  }
  auto c = pool->acquire(900);  // the smallest free block that fits: the first one
  REQUIRE(c->data == first);
  REQUIRE(pool->blocks_allocated() == 2);
  auto d = pool->acquire(5000);
  REQUIRE(pool->blocks_allocated() == 3);
  if (!pool->pinned()) REQUIRE_THROWS_WITH(upload_async(*d, nullptr, 10, Stream{}), Catch::Contains("page-locked"));
}

TEST_CASE("loader: image_on uploads the pinned staging copy to the GPU", "[loader][gpu]") {
  FRCNN_REQUIRE_GPU();
  auto dir = make_set("loader_gpu");
  VocDataset ds(dir.string(), "trainval", synth_class_names());
  Loader l(ds, small_train(4));
  Context ctx(Device::cuda(0));
  for (int i = 0; i < 8; ++i) {
    Sample s = *l.next();
    REQUIRE(s.staged);
    REQUIRE(s.staged->pinned);
    Tensor d = image_on(s, ctx);
    REQUIRE(d.is_cuda());
    Tensor back = d.to(Device::cpu(), ctx.stream());
    ctx.synchronize();
    REQUIRE(back.to_vector<float>() == s.image.to_vector<float>());
  }
  // CPU context: the tensor itself.
  Context cpu;
  Sample s = *l.next();
  REQUIRE(image_on(s, cpu).shares_storage_with(s.image));
}
