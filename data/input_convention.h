// How pixels must be prepared for a given set of pretrained weights: channel order,
// value range, per-channel mean and std. Stored in the weights file's safetensors
// metadata (written by scripts/convert_vgg16.py), read back here, so the network is
// always fed the way its weights were trained.
//
// Metadata keys (all four are written together; values are plain strings):
//   "input.channel_order"  "bgr" or "rgb": the order of the 3 input planes
//   "input.scale"          "255" or "1": pixel value v in [0, 255] becomes v / 255 * scale
//   "input.mean"           "r,g,b": subtracted after scaling, in the scaled units,
//                          ALWAYS listed in R,G,B order whatever the channel order
//   "input.std"            "r,g,b": divides after subtracting the mean (R,G,B order)
// So input plane k (k-th channel of channel_order) = (v_c / 255 * scale - mean_c) / std_c.
//
// The two conventions in use:
//   Caffe VGG16 (the paper's):  bgr, 255, mean 122.7717,115.9465,102.9801 (= BGR 102.9801,
//                               115.9465, 122.7717), std 1,1,1
//   torchvision VGG16:          rgb, 1, mean 0.485,0.456,0.406, std 0.229,0.224,0.225
#pragma once
#include <array>
#include <map>
#include <optional>
#include <string>

namespace frcnn {

enum class ChannelOrder { RGB, BGR };

struct InputConvention {
  ChannelOrder order = ChannelOrder::BGR;
  float scale = 255.f;                                       // 255 or 1 (any positive value works)
  std::array<float, 3> mean{122.7717f, 115.9465f, 102.9801f};  // R, G, B, in scaled units
  std::array<float, 3> std{1.f, 1.f, 1.f};                    // R, G, B

  static InputConvention caffe();        // the paper's Caffe VGG16 (the default above)
  static InputConvention torchvision();  // torchvision's ImageNet models

  // Plane k of the network input holds RGB channel rgb_channel(k).
  int rgb_channel(int plane) const { return order == ChannelOrder::RGB ? plane : 2 - plane; }
  // The value fed to the network for 8-bit value v of RGB channel c.
  float normalize(float v, int c) const { return (v * (scale / 255.f) - mean[c]) / std[c]; }

  // The four metadata entries above.
  std::map<std::string, std::string> to_metadata() const;
  // One line for the run log: "bgr, scale 255, mean (r,g,b) 122.7717,115.9465,102.9801, std 1,1,1".
  std::string str() const;
  bool operator==(const InputConvention& o) const;
};

// nullopt when the metadata holds none of the input.* keys (e.g. weights trained by us
// from scratch, where the config decides). Throws std::invalid_argument naming `what`
// (the file) and the key when some keys are missing or a value does not parse
// (unknown channel order, non-positive scale or std, not exactly three numbers).
std::optional<InputConvention> input_convention_from_metadata(const std::map<std::string, std::string>& metadata,
                                                              const std::string& what);

// The rule every command and the trainer follow: the weights' input.* metadata wins;
// without it, the named convention (the config's input.convention: "caffe" or
// "torchvision"; anything else throws). Logs which one was used and why.
InputConvention input_convention_or(const std::map<std::string, std::string>& weights_metadata,
                                    const std::string& what, const std::string& fallback_name);

}  // namespace frcnn
