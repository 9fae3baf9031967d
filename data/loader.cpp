#include "data/loader.h"

#include <algorithm>
#include <chrono>
#include <cstring>
#include <limits>
#include <stdexcept>

#include "data/transforms.h"
#include "engine/log.h"
#include "engine/rng.h"

namespace frcnn {

LoaderOptions LoaderOptions::training(int scale, int max_size, uint64_t seed) {
  LoaderOptions o;
  o.scale = scale;
  o.max_size = max_size;
  o.seed = seed;
  return o;
}

LoaderOptions LoaderOptions::evaluation(int scale, int max_size) {
  LoaderOptions o;
  o.scale = scale;
  o.max_size = max_size;
  o.shuffle = false;
  o.flip = false;
  o.use_difficult = true;
  o.skip_empty = false;
  // Evaluation runs the detector only: as many decode workers as the machine has threads
  // (at most 8), so the input keeps up with a GPU (docs/BENCHMARKS.md, "Loader").
  o.workers = int(std::clamp(std::thread::hardware_concurrency(), 2u, 8u));
  o.prefetch = 2 * o.workers;
  return o;
}

Tensor image_on(const Sample& s, Context& ctx) {
  return ctx.is_cuda() ? upload_to(s.image, s.staged.get(), ctx.device(), ctx.stream()) : s.image;
}

Loader::Loader(const VocDataset& dataset, LoaderOptions options) : ds_(dataset), opt_(std::move(options)) {
  if (opt_.scale <= 0 || opt_.max_size <= 0)
    throw std::invalid_argument(str_cat("Loader: invalid scale ", opt_.scale, " / max size ", opt_.max_size));
  if (opt_.workers < 1 || opt_.prefetch < 1)
    throw std::invalid_argument(str_cat("Loader: need workers >= 1 and prefetch >= 1, got ", opt_.workers, ", ",
                                        opt_.prefetch));
  size_t empty = 0;
  for (size_t i = 0; i < ds_.size(); ++i) {
    const VocRecord& r = ds_.record(i);
    const size_t n = opt_.use_difficult ? r.objects.size() : static_cast<size_t>(r.num_non_difficult());
    if (opt_.skip_empty && n == 0) {
      ++empty;
      continue;
    }
    usable_.push_back(i);
  }
  if (empty > 0)
    log_warn(str_cat(ds_.root(), " split '", ds_.split(), "': ", empty, " of ", ds_.size(), " images have no ",
                     opt_.use_difficult ? "" : "non-difficult ", "objects and are left out of training"));
  if (usable_.empty())
    throw std::runtime_error(str_cat(ds_.root(), " split '", ds_.split(), "': no usable images for the loader"));

  const uint64_t n = usable_.size();
  if (opt_.count >= 0) {
    end_ = opt_.start + static_cast<uint64_t>(opt_.count);
  } else if (opt_.shuffle) {
    end_ = std::numeric_limits<uint64_t>::max();
  } else {
    end_ = std::max<uint64_t>(opt_.start, (opt_.start / n + 1) * n);  // to the end of the current pass
  }
  next_pos_ = consumer_ = opt_.start;
  if (opt_.pin_memory) pool_ = PinnedPool::create(true);
  if (pool_ && !pool_->pinned()) pool_.reset();  // nothing to gain from staging in pageable memory
  for (int i = 0; i < opt_.workers; ++i) threads_.emplace_back([this] { worker_loop(); });
}

Loader::~Loader() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  cv_work_.notify_all();
  for (auto& t : threads_) t.join();
}

std::shared_ptr<const std::vector<uint32_t>> Loader::permutation(uint64_t epoch) const {
  std::lock_guard<std::mutex> lock(perm_mu_);
  auto it = perms_.find(epoch);
  if (it != perms_.end()) return it->second;
  auto p = std::make_shared<std::vector<uint32_t>>(usable_.size());
  for (size_t i = 0; i < p->size(); ++i) (*p)[i] = static_cast<uint32_t>(i);
  if (opt_.shuffle) {
    const RngKey key = CounterRng(opt_.seed, epoch).key(RngPurpose::Shuffle);
    for (size_t j = p->size(); j-- > 1;) {
      const size_t k = key.u32(j) % (j + 1);
      std::swap((*p)[j], (*p)[k]);
    }
  }
  // Keep only a few recent epochs (workers straddle at most two).
  while (perms_.size() >= 4) perms_.erase(perms_.begin());
  perms_[epoch] = p;
  return p;
}

std::pair<size_t, bool> Loader::at(uint64_t position) const {
  const uint64_t n = usable_.size();
  const uint64_t epoch = position / n;
  const size_t record = usable_[(*permutation(epoch))[position % n]];
  const bool flip =
      opt_.flip && CounterRng(opt_.seed, epoch).key(RngPurpose::Flip, static_cast<uint32_t>(record)).uniform(0) < 0.5f;
  return {record, flip};
}

Loader::Slot Loader::produce(uint64_t position) {
  Slot slot;
  const auto [index, flip] = at(position);
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (bad_records_.count(index)) {
      slot.bad = "known bad image " + ds_.record(index).image_path;
      return slot;
    }
  }
  const VocRecord& rec = ds_.record(index);
  Image img;
  try {
    img = ds_.load_image(index);
  } catch (const std::runtime_error& e) {
    if (!opt_.skip_bad_images) {
      slot.error = std::current_exception();
      return slot;
    }
    bool first = false;
    {
      std::lock_guard<std::mutex> lock(mu_);
      first = bad_records_.insert(index).second;
    }
    if (first) log_warn(str_cat(e.what(), " -- image '", rec.id, "' skipped by the loader"));
    slot.bad = e.what();
    return slot;
  }
  if (flip) img = flip_horizontal(img);

  Sample s;
  s.position = position;
  s.epoch = position / usable_.size();
  s.index = index;
  s.id = rec.id;
  s.orig_width = img.width;
  s.orig_height = img.height;
  s.flipped = flip;
  const ResizeTarget r = detection_resize(img.width, img.height, opt_.scale, opt_.max_size);
  s.scale = r.scale;
  s.image = Tensor::empty({1, 3, r.height, r.width}, DType::F32);
  resize_normalize_chw(img, r.width, r.height, opt_.convention, s.image.data<float>());

  std::vector<float> boxes;
  std::vector<int32_t> labels;
  std::vector<uint8_t> difficult;
  for (const VocObject& o : rec.objects) {
    if (o.difficult && !opt_.use_difficult) continue;
    boxes.insert(boxes.end(), {o.x1, o.y1, o.x2, o.y2});
    labels.push_back(o.label);
    difficult.push_back(o.difficult ? 1 : 0);
  }
  const int64_t g = static_cast<int64_t>(labels.size());
  if (flip) flip_boxes_horizontal(boxes.data(), g, static_cast<float>(img.width));
  for (float& v : boxes) v *= r.scale;
  s.gt_boxes = Tensor::from_vector<float>({g, 4}, boxes);
  s.gt_labels = Tensor::from_vector<int32_t>({g}, labels);
  s.gt_difficult = Tensor::from_vector<uint8_t>({g}, difficult);

  if (pool_) {
    s.staged = pool_->acquire(s.image.nbytes());
    std::memcpy(s.staged->data, s.image.raw_data(), s.image.nbytes());
  }
  slot.sample = std::move(s);
  return slot;
}

void Loader::worker_loop() {
  while (true) {
    uint64_t p;
    {
      std::unique_lock<std::mutex> lock(mu_);
      cv_work_.wait(lock, [&] {
        return stop_ || (next_pos_ < end_ && next_pos_ < consumer_ + static_cast<uint64_t>(opt_.prefetch));
      });
      if (stop_) return;
      p = next_pos_++;
    }
    Slot slot;
    try {
      slot = produce(p);
    } catch (...) {
      slot = Slot{};
      slot.error = std::current_exception();
    }
    {
      std::lock_guard<std::mutex> lock(mu_);
      ready_[p] = std::move(slot);
    }
    cv_ready_.notify_all();
  }
}

std::optional<Sample> Loader::next() {
  while (true) {
    Slot slot;
    {
      std::unique_lock<std::mutex> lock(mu_);
      if (consumer_ >= end_) return std::nullopt;
      auto it = ready_.find(consumer_);
      if (it == ready_.end()) {
        const auto t0 = std::chrono::steady_clock::now();
        cv_ready_.wait(lock, [&] { return ready_.count(consumer_) != 0; });
        wait_s_ += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
        it = ready_.find(consumer_);
      }
      slot = std::move(it->second);
      ready_.erase(it);
      ++consumer_;
    }
    cv_work_.notify_all();
    if (slot.error) std::rethrow_exception(slot.error);
    if (slot.sample) {
      consecutive_bad_ = 0;
      return std::move(slot.sample);
    }
    if (++consecutive_bad_ >= usable_.size())
      throw std::runtime_error(str_cat(ds_.root(), " split '", ds_.split(), "': every image in a whole epoch failed to load (last: ",
                                       slot.bad, ")"));
  }
}

uint64_t Loader::position() const {
  std::lock_guard<std::mutex> lock(mu_);
  return consumer_;
}

size_t Loader::ready() const {
  std::lock_guard<std::mutex> lock(mu_);
  return ready_.size();
}

double Loader::wait_seconds() const {
  std::lock_guard<std::mutex> lock(mu_);
  return wait_s_;
}

}  // namespace frcnn
