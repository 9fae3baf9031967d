#include "layers/detect_plan.h"

namespace frcnn {

DetectPlan::DetectPlan(const Device& dev, Stream s, const DetectPlanKey& k)
    : key(k), pool(dev), host_params(2 * sizeof(float) * k.images.size()) {
  PoolScope scope(pool, s);
  input = Tensor::empty({k.batch(), 3, k.height, k.width}, DType::F32, dev, s);
  params = Tensor::empty({2 * k.batch()}, DType::F32, dev, s);
}

}  // namespace frcnn
