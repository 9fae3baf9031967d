// Prefetching data loader: background worker threads decode, flip, resize and normalise
// images ahead of the consumer, so the training loop (and the GPU) never waits on JPEG
// decoding.
//
// Sequence. The loader walks global positions p = start, start + 1, ... Position p is
// image usable[perm_e[p mod N]] of epoch e = p / N, where N is the number of usable
// images and perm_e is a Fisher-Yates shuffle drawn from
// CounterRng(seed, step = e).key(RngPurpose::Shuffle); the flip of record r in epoch e
// is CounterRng(seed, e).key(RngPurpose::Flip, r).uniform(0) < 0.5. The sequence is a pure
// function of (seed, dataset), so a resumed run that starts at the saved position sees
// exactly the remaining sequence (save `last sample's position + 1`).
//
// Training mode (LoaderOptions::training()): shuffled, flipped with p = 0.5, ground truth
// without difficult objects (the paper's code), and images without any non-difficult
// object are left out of the sequence (one warning with the count); endless.
// Evaluation mode (LoaderOptions::evaluation()): dataset order, no flip, every image
// (also those without objects), ground truth with difficult objects and their flags;
// one pass.
//
// Bad images (corrupt file, size disagreeing with the XML): with skip_bad_images the
// image is skipped with one warning naming the file (its position is consumed; positions
// stay aligned with the pure sequence above) and the record is not decoded again;
// otherwise next() throws the error. An epoch in which every image is bad throws.
#pragma once
#include <condition_variable>
#include <cstdint>
#include <exception>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "data/input_convention.h"
#include "data/pinned.h"
#include "data/voc.h"
#include "engine/context.h"
#include "engine/tensor.h"

namespace frcnn {

struct LoaderOptions {
  int scale = 600;                 // shorter side after resizing
  int max_size = 1000;             // cap on the longer side
  InputConvention convention;      // from the weights' metadata (default: Caffe VGG16)
  uint64_t seed = 0;               // shuffle and flip seed
  uint64_t start = 0;              // first global position (resume)
  int64_t count = -1;              // positions to walk; -1: endless (shuffle) or to the end of the pass
  bool shuffle = true;             // per-epoch deterministic shuffle
  bool flip = true;                // horizontal flip with p = 0.5 per (epoch, image)
  bool use_difficult = false;      // keep difficult objects in the ground truth (evaluation: true)
  bool skip_empty = true;          // leave out images without (non-difficult) objects
  bool skip_bad_images = true;     // skip corrupt images with a warning instead of throwing
  int workers = 2;                 // background decoding threads (evaluation(): the machine's, 2..8)
  int prefetch = 4;                // samples prepared ahead of the consumer (evaluation(): 2 per worker)
  bool pin_memory = true;          // stage images in page-locked memory when a GPU is present

  static LoaderOptions training(int scale = 600, int max_size = 1000, uint64_t seed = 0);
  static LoaderOptions evaluation(int scale = 600, int max_size = 1000);
};

struct Sample {
  uint64_t position = 0;  // global position in the sequence
  uint64_t epoch = 0;
  size_t index = 0;       // record index in the dataset
  std::string id;
  Tensor image;           // (1, 3, H, W) F32 CPU, normalised per the input convention
  Tensor gt_boxes;        // (G, 4) F32, (x1, y1, x2, y2) in the resized (and flipped) image
  Tensor gt_labels;       // (G) I32, 1..K
  Tensor gt_difficult;    // (G) U8, 1 for difficult (only with use_difficult)
  int orig_width = 0, orig_height = 0;
  float scale = 1.f;      // resized = original * scale
  bool flipped = false;
  // Page-locked copy of `image` (pin_memory on a machine with a GPU), else null.
  std::shared_ptr<HostBlock> staged;
};

// The sample's image on `ctx`'s device: the CPU tensor itself on a CPU context; on a
// CUDA context an asynchronous copy on ctx.stream() from the page-locked staging block
// when there is one (an ordinary copy otherwise).
Tensor image_on(const Sample& s, Context& ctx);

class Loader {
 public:
  // `dataset` must outlive the loader.
  Loader(const VocDataset& dataset, LoaderOptions options);
  ~Loader();
  Loader(const Loader&) = delete;
  Loader& operator=(const Loader&) = delete;

  // The next sample (blocking until a worker has it ready); nullopt after `count` positions.
  std::optional<Sample> next();

  size_t epoch_size() const { return usable_.size(); }      // N
  const std::vector<size_t>& usable() const { return usable_; }  // record indices in the sequence
  // (record index, flipped) at a global position: the pure sequence, no decoding.
  std::pair<size_t, bool> at(uint64_t position) const;
  uint64_t position() const;        // position the next call to next() starts from
  size_t ready() const;             // samples prepared and waiting
  double wait_seconds() const;      // total time next() spent blocked on workers
  const LoaderOptions& options() const { return opt_; }

 private:
  struct Slot {
    std::optional<Sample> sample;
    std::string bad;                 // non-empty: skipped image, the reason
    std::exception_ptr error;        // unexpected error or (without skip_bad_images) a bad image
  };
  std::shared_ptr<const std::vector<uint32_t>> permutation(uint64_t epoch) const;
  Slot produce(uint64_t position);
  void worker_loop();

  const VocDataset& ds_;
  LoaderOptions opt_;
  std::vector<size_t> usable_;
  uint64_t end_;  // one past the last position
  std::shared_ptr<PinnedPool> pool_;

  mutable std::mutex mu_;
  std::condition_variable cv_work_, cv_ready_;
  uint64_t next_pos_;   // next position a worker takes
  uint64_t consumer_;   // next position the consumer returns
  std::map<uint64_t, Slot> ready_;
  std::set<size_t> bad_records_;
  bool stop_ = false;
  double wait_s_ = 0;
  size_t consecutive_bad_ = 0;

  mutable std::mutex perm_mu_;
  mutable std::map<uint64_t, std::shared_ptr<const std::vector<uint32_t>>> perms_;

  std::vector<std::thread> threads_;
};

}  // namespace frcnn
