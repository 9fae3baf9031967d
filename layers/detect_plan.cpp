#include "layers/detect_plan.h"

namespace frcnn {

DetectPlan::DetectPlan(const Device& dev, Stream s, const DetectPlanKey& k)
    : key(k), pool(dev), host_params(2 * sizeof(float)) {
  PoolScope scope(pool, s);
  input = Tensor::empty({1, 3, k.height, k.width}, DType::F32, dev, s);
  params = Tensor::empty({2}, DType::F32, dev, s);
}

}  // namespace frcnn
