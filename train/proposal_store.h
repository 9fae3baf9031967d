// Proposals written between the stages of 4-step alternating training: the RPN of
// stage k proposes boxes for every training image, the Fast R-CNN of stage k trains
// on them. One safetensors file per stage: tensor "<image id>" = (P, 4) F32 boxes in
// ORIGINAL image coordinates (so a flipped or differently scaled view of the image maps
// them itself), sorted by objectness; metadata records the stage and the settings.
#pragma once
#include <map>
#include <string>

#include "engine/tensor.h"

namespace frcnn {

class ProposalStore {
 public:
  void put(const std::string& image_id, Tensor boxes);  // (P, 4) F32, any device (copied to the CPU)
  bool has(const std::string& image_id) const { return boxes_.count(image_id) != 0; }
  // Throws "<source>: no proposals for image '<id>'" when absent.
  const Tensor& get(const std::string& image_id) const;
  size_t size() const { return boxes_.size(); }

  void save(const std::string& path, const std::map<std::string, std::string>& metadata) const;  // atomic
  static ProposalStore load(const std::string& path);
  const std::map<std::string, std::string>& metadata() const { return meta_; }

 private:
  std::string source_ = "proposal store";
  std::map<std::string, Tensor> boxes_;
  std::map<std::string, std::string> meta_;
};

}  // namespace frcnn
