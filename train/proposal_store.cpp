#include "train/proposal_store.h"

#include <stdexcept>

#include "engine/safetensors.h"

namespace frcnn {

void ProposalStore::put(const std::string& image_id, Tensor boxes) {
  if (boxes.ndim() != 2 || boxes.size(1) != 4 || boxes.dtype() != DType::F32)
    throw std::invalid_argument("ProposalStore::put('" + image_id + "'): expected F32 (P, 4) boxes, got " +
                                shape_str(boxes.shape()));
  boxes_[image_id] = boxes.to(Device::cpu());
}

const Tensor& ProposalStore::get(const std::string& image_id) const {
  auto it = boxes_.find(image_id);
  if (it == boxes_.end()) throw std::runtime_error(source_ + ": no proposals for image '" + image_id + "'");
  return it->second;
}

void ProposalStore::save(const std::string& path, const std::map<std::string, std::string>& metadata) const {
  auto meta = metadata;
  meta["format"] = "frcnn-proposals-1";
  save_safetensors(path, boxes_, meta);
}

ProposalStore ProposalStore::load(const std::string& path) {
  TensorFile f = load_safetensors(path);
  if (f.meta("format") != "frcnn-proposals-1")
    throw std::runtime_error(path + ": not a frcnn proposals file");
  ProposalStore s;
  s.source_ = path;
  s.meta_ = f.metadata;
  for (auto& [id, t] : f.tensors) {
    if (t.ndim() != 2 || t.size(1) != 4 || t.dtype() != DType::F32)
      throw std::runtime_error(path + ": proposals of '" + id + "' have shape " + shape_str(t.shape()) +
                               ", expected (P, 4) F32");
    s.boxes_[id] = t;
  }
  return s;
}

}  // namespace frcnn
