#include "train/trainer.h"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "data/loader.h"
#include "data/transforms.h"
#include "data/voc.h"
#include "engine/fault_injection.h"
#include "engine/log.h"
#include "engine/safetensors.h"
#include "engine/timer.h"
#include "layers/faster_rcnn.h"
#include "train/checkpoint.h"
#include "train/metrics_log.h"
#include "train/plot.h"
#include "train/proposal_store.h"
#include "train/run_lock.h"
#include "train/sgd.h"

namespace frcnn {

namespace fs = std::filesystem;

namespace {

// The RNG step of iteration `it` of a stage: distinct across stages.
uint64_t rng_step(const StagePlan& st, int64_t it) { return uint64_t(st.index) * 1000000000ull + uint64_t(it); }

std::string stage_path(const std::string& out, const std::string& name) { return out + "/" + name + ".safetensors"; }

// Proposals stored in original-image coordinates -> the sample's (flipped, resized) frame.
Tensor proposals_for(const Tensor& orig, const Sample& s) {
  Tensor out = orig.clone();
  float* b = out.data<float>();
  if (s.flipped) flip_boxes_horizontal(b, out.size(0), float(s.orig_width));
  for (int64_t i = 0; i < out.numel(); ++i) b[i] *= s.scale;
  return out;
}

// Rewrites metrics.jsonl keeping only records up to (stage index, iter): on resume the
// lines written after the checkpoint are replayed, so they must not appear twice.
void truncate_metrics(const std::string& path, const std::vector<StagePlan>& stages, int stage_index, int64_t iter) {
  std::ifstream in(path);
  if (!in) return;
  std::ostringstream kept;
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty()) continue;
    auto j = nlohmann::json::parse(line, nullptr, false);
    if (j.is_discarded() || !j.contains("stage") || !j.contains("iter")) continue;
    int si = -1;
    for (const auto& s : stages)
      if (s.name == j["stage"].get<std::string>()) si = s.index;
    if (si < stage_index || (si == stage_index && j["iter"].get<int64_t>() <= iter)) kept << line << "\n";
  }
  in.close();
  write_file_atomic(path, kept.str());
}

class TrainRun {
 public:
  TrainRun(const Config& cfg, Context& ctx, const TrainOptions& opts)
      : cfg_(cfg),
        ctx_(ctx),
        opts_(opts),
        model_(cfg.model),
        train_set_(cfg.data.root, cfg.data.train_split, cfg.model.classes),
        stages_(make_schedule(cfg)),
        metrics_path_(opts.out_dir + "/metrics.jsonl") {
    // The ImageNet weights' own convention wins (their header is enough to know it).
    conv_ = opts.imagenet_weights.empty()
                ? input_convention_or({}, "the random init", cfg.input.convention)
                : input_convention_or(read_safetensors_metadata(opts.imagenet_weights), opts.imagenet_weights,
                                      cfg.input.convention);
    for (Param* p : model_.params())
      if (p->name.size() > 5 && p->name.compare(p->name.size() - 5, 5, ".bias") == 0) {
        p->lr_mult = cfg.solver.bias_lr_mult;
        p->decay_mult = cfg.solver.bias_decay_mult;
      }
  }

  TrainResult run() {
    fs::create_directories(opts_.out_dir);
    const std::string config_text = dump_config(cfg_);
    const std::string ckpt_path = opts_.out_dir + "/checkpoint.safetensors";
    int start_stage = 0;
    int64_t start_iter = 0;
    uint64_t start_position = 0;
    model_.to(ctx_);
    if (opts_.resume) {
      if (!fs::exists(ckpt_path))
        throw std::runtime_error(ckpt_path + ": --resume given but there is no checkpoint to resume from");
      CheckpointState ck = load_checkpoint(ckpt_path);
      if (ck.extra["config"] != config_text)
        throw std::runtime_error(ckpt_path + ": written with a different config; resume with the same --config and "
                                             "--set, or start a new --out folder");
      start_stage = -1;
      for (const auto& s : stages_)
        if (s.name == ck.stage) start_stage = s.index;
      if (start_stage < 0)
        throw std::runtime_error(ckpt_path + ": stage '" + ck.stage + "' is not part of the " + cfg_.schedule.type +
                                 " schedule");
      restore(ck);
      start_iter = ck.iter;
      start_position = std::stoull(ck.extra["loader_position"]);
      truncate_metrics(metrics_path_, stages_, start_stage, start_iter);
      log_info(str_cat("resuming ", ckpt_path, " at stage ", ck.stage, " iteration ", ck.iter, "/",
                       stages_[start_stage].sc.iters));
    } else {
      if (fs::exists(ckpt_path))
        throw std::runtime_error(ckpt_path + " exists: pass --resume to continue that run, or use another --out");
      std::ofstream(metrics_path_, std::ios::trunc);
    }
    write_file_atomic(opts_.out_dir + "/config.yaml", config_text);
    log_info("effective config: " + opts_.out_dir + "/config.yaml");
    metrics_ = std::make_unique<MetricsLog>(metrics_path_);

    TrainResult result;
    for (size_t si = static_cast<size_t>(start_stage); si < stages_.size(); ++si) {
      const StagePlan& st = stages_[si];
      const bool resumed_here = opts_.resume && static_cast<int>(si) == start_stage;
      if (!resumed_here) prepare_stage(st);
      const int64_t it0 = resumed_here ? start_iter : 0;
      const uint64_t pos0 = resumed_here ? start_position : 0;
      if (!run_stage(st, it0, pos0, config_text, ckpt_path)) return result;  // stopped (stop_after)
      model_.save(stage_path(opts_.out_dir, st.name), model_metadata(config_text));
      kill_point("stage-end:" + st.name);
      const bool last = si + 1 == stages_.size();
      // A stop asked for in the stage's last iteration (or while its snapshot was written)
      // ends the run here: the checkpoint says the stage is complete, and --resume goes on
      // with the proposals and the next stage.
      if (!last && stop_requested()) {
        log_info(str_cat("stopping at the end of stage ", st.name, ": checkpoint at iteration ", st.sc.iters,
                         "; continue with --resume"));
        return result;
      }
      // alt4: proposals for the next Fast R-CNN stage.
      if (st.parts == TrainParts::Rpn && !last && !write_proposals(st, stages_[si + 1].proposals)) return result;
    }
    result.model_path = opts_.out_dir + "/model.safetensors";
    model_.save(result.model_path, model_metadata(config_text));
    try {
      plot_metrics_jsonl(metrics_path_, opts_.out_dir + "/loss_");
    } catch (const std::exception& e) {
      log_warn(std::string("loss curves not drawn: ") + e.what());
    }
    log_info("final model: " + result.model_path);
    result.finished = true;
    return result;
  }

 private:
  std::map<std::string, std::string> model_metadata(const std::string& config_text) const {
    auto m = conv_.to_metadata();
    m["config"] = config_text;
    m["schedule"] = cfg_.schedule.type;
    return m;
  }

  // The random (or ImageNet) starting point of a stage that starts from it.
  void fresh_init() {
    model_.init(ctx_, cfg_.seed, cfg_.init);
    if (!opts_.imagenet_weights.empty()) model_.load_imagenet(ctx_, opts_.imagenet_weights);
  }

  // Where each stage starts (py-faster-rcnn's train_faster_rcnn_alt_opt.py and the
  // alt-opt prototxts; docs/TRAINING.md): rpn1, frcn1 and joint from the ImageNet (or
  // random) init; rpn2 from frcn1 with fresh RPN layers (frcn1 carries only never-trained
  // RPN fillers); frcn2 from rpn2's snapshot, which holds the backbone, fc6, fc7 and the
  // RPN but no cls_score / bbox_pred, so those two start from their fillers again.
  void prepare_stage(const StagePlan& st) {
    if (st.name == "rpn1" || st.name == "frcn1" || st.name == "joint") fresh_init();
    if (st.name == "rpn2") model_.rpn().init(ctx_, cfg_.seed + 1);
    if (st.name == "frcn2") model_.head().init(ctx_, cfg_.seed + 3, /*with_fc=*/false, cfg_.init);
    sgd_momentum_.clear();
  }

  // The parameters a stage trains; everything else is frozen for its duration.
  std::vector<Param*> configure(const StagePlan& st) {
    model_.backbone().freeze_blocks(st.frozen_blocks);
    model_.rpn().set_frozen(st.parts == TrainParts::Head);
    model_.head().set_frozen(st.parts == TrainParts::Rpn);
    std::vector<Param*> ps;
    for (Param* p : model_.params())
      if (!p->frozen) ps.push_back(p);
    return ps;
  }

  void restore(const CheckpointState& ck) {
    for (Param* p : model_.params()) {
      auto it = ck.params.find(p->name);
      if (it == ck.params.end()) throw std::runtime_error("checkpoint lacks parameter '" + p->name + "'");
      if (it->second.shape() != p->value.shape())
        throw std::runtime_error("checkpoint parameter '" + p->name + "' has shape " + shape_str(it->second.shape()) +
                                 ", the config needs " + shape_str(p->value.shape()));
      p->value.copy_from(it->second, ctx_.stream());
      p->touch();
    }
    sgd_momentum_ = ck.momentum;
    ctx_.synchronize();
  }

  void save_ckpt(const std::string& path, const StagePlan& st, int64_t iter, uint64_t position, const Sgd& sgd,
                 const std::string& config_text) {
    CheckpointState s;
    s.stage = st.name;
    s.iter = iter;
    s.rng_seed = cfg_.seed;
    s.rng_step = rng_step(st, iter);
    for (Param* p : model_.params()) s.params[p->name] = p->value;
    s.momentum = sgd.momentum_buffers();
    s.extra["config"] = config_text;
    s.extra["loader_position"] = std::to_string(position);
    save_checkpoint(path, s);
  }

  // Runs iterations [it0, iters) of a stage; false when stopped early by stop_after.
  bool run_stage(const StagePlan& st, int64_t it0, uint64_t pos0, const std::string& config_text,
                 const std::string& ckpt_path) {
    std::vector<Param*> params = configure(st);
    Sgd sgd(SgdConfig{cfg_.solver.base_lr, cfg_.solver.momentum, cfg_.solver.weight_decay, cfg_.solver.gamma,
                      st.sc.step});
    for (const auto& [name, v] : sgd_momentum_) sgd.set_momentum(name, v, ctx_);
    sgd_momentum_.clear();
    if (it0 >= st.sc.iters) return true;

    std::unique_ptr<ProposalStore> store;
    if (st.parts == TrainParts::Head) {
      store = std::make_unique<ProposalStore>(
          ProposalStore::load(opts_.out_dir + "/" + st.proposals + ".safetensors"));
    }
    LoaderOptions lo = LoaderOptions::training(cfg_.input.scale, cfg_.input.max_size, cfg_.seed + 7919 * st.index);
    lo.convention = conv_;
    lo.flip = cfg_.data.flip;
    lo.use_difficult = cfg_.data.use_difficult;
    lo.prefetch = cfg_.data.prefetch;
    lo.start = pos0;
    lo.pin_memory = ctx_.is_cuda();
    Loader loader(train_set_, lo);
    log_info(str_cat("stage ", st.name, ": ", st.sc.iters, " iterations from ", it0, ", ", st.sc.ims_per_batch,
                     " image(s) per batch, ", params.size(), " trainable tensors, ", frozen_blocks_text(st.frozen_blocks),
                     ", ", loader.epoch_size(), " training images"));

    const int n_img = st.sc.ims_per_batch;
    WallTimer window;
    int64_t window_iters = 0;
    for (int64_t it = it0; it < st.sc.iters; ++it) {
      CounterRng rng(cfg_.seed, rng_step(st, it));
      zero_grad(ctx_, params);
      StepLosses sum;
      std::string ids;
      for (int slot = 0; slot < n_img; ++slot) {
        std::optional<Sample> s = loader.next();
        if (!s) throw std::logic_error("training loader ran dry");
        ids += (slot ? "," : "") + s->id;
        Tensor img = image_on(*s, ctx_);
        Tensor gt = s->gt_boxes.to(ctx_.device(), ctx_.stream());
        Tensor lab = s->gt_labels.to(ctx_.device(), ctx_.stream());
        Tensor props;
        if (store) props = proposals_for(store->get(s->id), *s).to(ctx_.device(), ctx_.stream());
        StepLosses l = model_.train_image(ctx_, img, gt, lab, s->scale, props, rng, uint32_t(slot), st.step);
        if (!std::isfinite(l.total()))
          throw std::runtime_error(str_cat("stage ", st.name, ", iteration ", it + 1, ", image ", s->id,
                                           ": the loss is not finite (rpn_cls ", l.rpn_cls, ", rpn_bbox ", l.rpn_bbox,
                                           ", cls ", l.cls, ", bbox ", l.bbox,
                                           "); stopped before the update, the last checkpoint is intact"));
        sum.rpn_cls += l.rpn_cls / n_img;
        sum.rpn_bbox += l.rpn_bbox / n_img;
        sum.cls += l.cls / n_img;
        sum.bbox += l.bbox / n_img;
        sum.rois += l.rois;
        sum.fg_rois += l.fg_rois;
      }
      sgd.step(ctx_, params, it);
      kill_point("iteration:" + st.name);
      ++window_iters;
      ++iters_this_process_;

      std::map<std::string, double> scalars{{"loss", sum.total()}};
      if (st.parts != TrainParts::Head) {
        scalars["loss_rpn_cls"] = sum.rpn_cls;
        scalars["loss_rpn_bbox"] = sum.rpn_bbox;
      }
      if (st.parts != TrainParts::Rpn) {
        scalars["loss_cls"] = sum.cls;
        scalars["loss_bbox"] = sum.bbox;
        scalars["fg_fraction"] = sum.rois ? double(sum.fg_rois) / sum.rois : 0.0;
      }
      const int64_t done = it + 1;
      const bool print = done % cfg_.schedule.log_every == 0 || done == st.sc.iters || done == it0 + 1;
      const double spi = window.seconds() / double(window_iters);
      metrics_->log(st.name, done, st.sc.iters, scalars, sgd.learning_rate(it), spi, print,
                    remaining_run_seconds(stages_, size_t(st.index), done, spi));
      if (print) {
        window.reset();
        window_iters = 0;
      }
      const bool stop = (opts_.stop_after >= 0 && iters_this_process_ >= opts_.stop_after) || stop_requested();
      if (done % cfg_.schedule.checkpoint_every == 0 || done == st.sc.iters || stop)
        save_ckpt(ckpt_path, st, done, loader.position(), sgd, config_text);
      if (stop && done < st.sc.iters) {
        log_info(str_cat("stopping after ", iters_this_process_, " iterations: checkpoint at stage ", st.name,
                         " iteration ", done, "; continue with --resume"));
        return false;
      }
    }
    return true;
  }

  bool stop_requested() const { return opts_.stop_requested && opts_.stop_requested->load(); }

  // alt4: proposals of every training image with the current RPN, in original-image
  // coordinates, for the Fast R-CNN stage that follows. False when a stop was asked for
  // on the way: nothing is written (the checkpoint still ends the RPN stage, so --resume
  // computes them again; on VOC this pass takes minutes, too long to make a user wait).
  bool write_proposals(const StagePlan& rpn_stage, const std::string& name) {
    const std::string path = opts_.out_dir + "/" + name + ".safetensors";
    LoaderOptions lo = LoaderOptions::evaluation(cfg_.input.scale, cfg_.input.max_size);
    lo.convention = conv_;
    lo.pin_memory = ctx_.is_cuda();
    Loader loader(train_set_, lo);
    ProposalStore store;
    const size_t n = loader.epoch_size();
    WallTimer t;
    size_t done = 0;
    int64_t total_boxes = 0;
    while (auto s = loader.next()) {
      if (stop_requested()) {
        log_info(str_cat("stopping during the proposals of stage ", rpn_stage.name, " (", done, "/", n,
                         " images): they are computed again on --resume"));
        return false;
      }
      Proposals p = model_.propose(ctx_, image_on(*s, ctx_), s->scale, /*pre_nms=*/0, cfg_.schedule.proposal_post_nms);
      Tensor boxes = p.boxes.to(Device::cpu(), ctx_.stream());
      for (int64_t i = 0; i < boxes.numel(); ++i) boxes.data<float>()[i] /= s->scale;
      total_boxes += boxes.size(0);
      store.put(s->id, boxes);
      ++done;
      kill_point("proposals:" + rpn_stage.name);
      if (done % std::max<size_t>(1, n / 10) == 0 || done == n)
        log_info(str_cat("proposals (", rpn_stage.name, "): ", done, "/", n, " images, ",
                         format_duration(t.seconds() / double(done) * double(n - done)), " left"));
    }
    store.save(path, {{"stage", rpn_stage.name},
                      {"post_nms", std::to_string(cfg_.schedule.proposal_post_nms)},
                      {"pre_nms", "no cap"}});
    log_info(str_cat("proposals: ", path, " (", done, " images, ", done ? total_boxes / int64_t(done) : 0,
                     " boxes per image on average)"));
    return true;
  }

  const Config& cfg_;
  Context& ctx_;
  TrainOptions opts_;
  FasterRCNN model_;
  VocDataset train_set_;
  std::vector<StagePlan> stages_;
  InputConvention conv_;
  std::string metrics_path_;
  std::unique_ptr<MetricsLog> metrics_;
  std::map<std::string, Tensor> sgd_momentum_;  // restored momentum, handed to the stage's solver
  int64_t iters_this_process_ = 0;
};

}  // namespace

std::vector<StagePlan> make_schedule(const Config& c) {
  const int f = c.model.backbone.frozen_blocks;
  const ScheduleConfig& s = c.schedule;
  auto stage = [&](const char* name, TrainParts parts, const StageConfig& sc, int frozen, const char* proposals,
                   int index) {
    return StagePlan{name, parts, sc, frozen, proposals, index,
                     minibatch_step(parts, c.model, sc.ims_per_batch, sc.bg_iou_lo)};
  };
  if (s.type == "joint") return {stage("joint", TrainParts::Joint, s.joint, f, "", 0)};
  return {stage("rpn1", TrainParts::Rpn, s.rpn1, f, "", 0),
          stage("frcn1", TrainParts::Head, s.frcn1, f, "proposals_rpn1", 1),
          stage("rpn2", TrainParts::Rpn, s.rpn2, 5, "", 2),
          stage("frcn2", TrainParts::Head, s.frcn2, 5, "proposals_rpn2", 3)};
}

std::string frozen_blocks_text(int n) {
  if (n <= 0) return "no backbone block frozen";
  if (n == 1) return "backbone block 1 frozen";
  return str_cat("backbone blocks 1..", n, " frozen");
}

double remaining_run_seconds(const std::vector<StagePlan>& stages, size_t stage, int64_t done, double sec_per_iter) {
  if (stage >= stages.size()) return 0.0;
  const StagePlan& cur = stages[stage];
  double s = sec_per_iter * double(std::max<int64_t>(0, cur.sc.iters - done));
  const double per_image = sec_per_iter / double(std::max(1, cur.sc.ims_per_batch));
  for (size_t k = stage + 1; k < stages.size(); ++k)
    s += per_image * double(stages[k].sc.iters) * double(std::max(1, stages[k].sc.ims_per_batch));
  return s;
}

TrainResult train(const Config& cfg, Context& ctx, const TrainOptions& opts) {
  if (cfg.data.root.empty()) throw std::runtime_error("train: no dataset (set data.root or pass --data)");
  // Before anything is read or written in the folder: a second run on it fails here, and
  // the temp files of a run that was killed mid-write go (no live run can own them now).
  OutputFolderLock lock(opts.out_dir);
  TrainRun run(cfg, ctx, opts);
  return run.run();
}

}  // namespace frcnn
