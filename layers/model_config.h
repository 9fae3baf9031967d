// The detector's hyper-parameters: plain structs, defaults = the paper's released
// VGG16 / VOC 2007 setup (docs/TRAINING.md). train/config.h wraps them with the data,
// solver and schedule settings and loads everything from YAML.
#pragma once
#include <string>
#include <vector>

namespace frcnn {

// The 20 PASCAL VOC classes (background is the implicit label 0, not listed).
inline std::vector<std::string> voc_classes() {
  return {"aeroplane", "bicycle", "bird",  "boat",      "bottle", "bus",         "car",
          "cat",       "chair",   "cow",   "diningtable", "dog",  "horse",       "motorbike",
          "person",    "pottedplant", "sheep", "sofa",  "train",  "tvmonitor"};
}

struct BackboneConfig {
  std::vector<int> widths{64, 128, 256, 512, 512};  // output channels of conv blocks 1..5 (VGG16)
  int frozen_blocks = 2;                             // conv1_x..conv2_x never train (the paper)
  std::string conv_backend = "own";                  // CUDA conv: own | cudnn
  bool deterministic = true;                         // cuDNN uses only deterministic algorithms
};

struct AnchorConfig {
  int stride = 16;                              // feature stride of conv5_3
  std::vector<float> sizes{128.f, 256.f, 512.f};  // anchor side lengths (sqrt of area), pixels
  std::vector<float> ratios{0.5f, 1.f, 2.f};      // height / width
  int count() const { return static_cast<int>(sizes.size() * ratios.size()); }
};

struct RpnConfig {
  int channels = 512;           // the 3x3 conv's width
  float pos_iou = 0.7f;         // anchor positive at IoU >= this (and each GT's best anchor)
  float neg_iou = 0.3f;         // anchor negative below this
  int batch = 256;              // sampled anchors per image
  float fg_fraction = 0.5f;     // at most this share of positives
  int allowed_border = 0;       // anchors crossing the border by more than this are ignored
  double nms = 0.7;             // proposal NMS IoU (a double, compared as torchvision's nms: kernels/nms.h)
  int train_pre_nms = 12000;    // proposals kept before NMS, RPN training (<=0: no cap)
  int train_post_nms = 2000;    // ... after NMS
  int test_pre_nms = 6000;      // proposals kept before NMS at test time (<=0: no cap)
  int test_post_nms = 300;      // ... after NMS
  float min_size = 16.f;        // proposals smaller than this (original-image pixels) are dropped
  float sigma = 3.f;            // smooth-L1 sigma of the RPN box loss
};

struct RoiHeadConfig {
  int pool = 7;                  // RoI max-pool output size
  int fc_dim = 4096;             // fc6 / fc7 width
  float dropout = 0.5f;          // after fc6 and fc7 (training only)
  int batch = 128;               // RoIs sampled per MINIBATCH, split evenly over its images
                                 // (py-faster-rcnn's BATCH_SIZE: 64 per image with 2 images)
  float fg_fraction = 0.25f;     // foreground share of each image's RoI batch
  float fg_iou = 0.5f;           // RoI foreground at IoU >= this
  float bg_iou_hi = 0.5f;        // background below this, down to the training stage's bg_iou_lo
  std::vector<float> bbox_stds{0.1f, 0.1f, 0.2f, 0.2f};  // regression target normalisation
  float sigma = 1.f;             // smooth-L1 sigma of the head box loss
};

struct TestConfig {
  double nms = 0.3;              // per-class NMS IoU of the final detections (a double, as rpn.nms)
  float score_threshold = 0.05f; // detections below are dropped
  int max_per_image = 100;       // detections kept per image (<=0: no cap)
  bool cuda_graphs = true;       // CUDA: capture detect()'s GPU work per input shape and replay it
};

struct ModelConfig {
  std::vector<std::string> classes = voc_classes();
  // Precision of every convolution and fully connected layer: fp32 | tf32 | bf16
  // (engine/math_mode.h says what each backend does in each). A Context carries it
  // (apps/run_setup.cpp applies it); the rest of the model is FP32 always.
  std::string precision = "fp32";
  BackboneConfig backbone;
  AnchorConfig anchors;
  RpnConfig rpn;
  RoiHeadConfig roi;
  TestConfig test;
  int num_classes() const { return static_cast<int>(classes.size()) + 1; }  // + background
};

}  // namespace frcnn
