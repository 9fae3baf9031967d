#!/usr/bin/env python3
"""Times torchvision's side of the benchmark table (issue 7), in the same device session
as frcnn's own benchmarks:

  * torchvision.ops.nms on 6000 and 12000 boxes, torchvision.ops.roi_pool with 128 and
    300 RoIs on a 512x38x50 map: the inputs are generated here from a fixed seed and
    written to <out>/bench_inputs.safetensors, so frcnn_bench can time OUR kernels on the
    very same tensors (FRCNN_BENCH_INPUTS=<that file>);
  * a torchvision FasterRCNN configured like ours (VGG16 conv1_1..conv5_3, one 512-channel
    map at stride 16, 9 anchors 128/256/512 x 0.5/1/2, 6000/300 proposals at NMS 0.7, 7x7
    RoI max-pool, fc6/fc7 4096, 21 classes, random weights), batch 1 at 600x1000, fp32, and
    again with TF32 allowed (reported separately).

Timing: CUDA events around each call, warm-up first, median of repeats. On the CPU
(--device cpu, for a smoke test) the wall clock is used.

Usage: /usr/bin/python3 bench/compare_torchvision.py --out DIR [--device cuda] [--iters 50]
Writes DIR/torchvision.json.
"""
import argparse
import json
import os
import statistics
import sys
import time

import numpy as np
import torch
import torchvision
from torchvision.models.detection import FasterRCNN
from torchvision.models.detection.rpn import AnchorGenerator
from torchvision.ops import RoIPool, nms, roi_pool

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "scripts", "fixtures"))
import safetensors_np  # noqa: E402


def timer(device):
    """Returns f(fn, warmup, iters) -> list of milliseconds per call."""
    def run(fn, warmup, iters):
        for _ in range(warmup):
            fn()
        times = []
        for _ in range(iters):
            if device.type == "cuda":
                a, b = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
                a.record()
                fn()
                b.record()
                b.synchronize()
                times.append(a.elapsed_time(b))
            else:
                t = time.perf_counter()
                fn()
                times.append((time.perf_counter() - t) * 1e3)
        return times
    return run


def random_boxes(rng, n, w=1000.0, h=600.0):
    """Boxes like RPN proposals: centres anywhere, sides 16..400 px, clipped to the image."""
    cx, cy = rng.uniform(0, w, n), rng.uniform(0, h, n)
    bw, bh = rng.uniform(16, 400, n), rng.uniform(16, 400, n)
    b = np.stack([cx - bw / 2, cy - bh / 2, cx + bw / 2, cy + bh / 2], 1)
    b[:, [0, 2]] = b[:, [0, 2]].clip(0, w)
    b[:, [1, 3]] = b[:, [1, 3]].clip(0, h)
    return b.astype(np.float32)


def make_inputs(seed=0):
    rng = np.random.default_rng(seed)
    t = {}
    for n in (6000, 12000):
        t[f"nms{n}.boxes"] = random_boxes(rng, n)
        t[f"nms{n}.scores"] = rng.uniform(0, 1, n).astype(np.float32)
    t["roi.features"] = rng.standard_normal((1, 512, 38, 50)).astype(np.float32)
    for r in (128, 300):
        boxes = random_boxes(rng, r, w=800.0, h=608.0)
        t[f"roi{r}.rois"] = np.concatenate([np.zeros((r, 1), np.float32), boxes], 1)
        t[f"roi{r}.grad"] = rng.standard_normal((r, 512, 7, 7)).astype(np.float32)
    return t


class RoIPoolBox(torch.nn.Module):
    """RoI max-pool in the signature FasterRCNN's box_roi_pool expects."""

    def __init__(self):
        super().__init__()
        self.pool = RoIPool(output_size=(7, 7), spatial_scale=1.0 / 16)

    def forward(self, features, proposals, image_shapes):
        return self.pool(features["0"], proposals)


class TwoFC(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.fc6 = torch.nn.Linear(512 * 7 * 7, 4096)
        self.fc7 = torch.nn.Linear(4096, 4096)

    def forward(self, x):
        x = torch.relu(self.fc6(x.flatten(1)))
        return torch.relu(self.fc7(x))


def make_frcnn():
    backbone = torchvision.models.vgg16().features[:-1]  # conv1_1..conv5_3 + ReLU, stride 16
    backbone.out_channels = 512
    anchors = AnchorGenerator(sizes=((128, 256, 512),), aspect_ratios=((0.5, 1.0, 2.0),))
    from torchvision.models.detection.faster_rcnn import FastRCNNPredictor
    model = FasterRCNN(backbone, num_classes=None, min_size=600, max_size=1000,
                       rpn_anchor_generator=anchors, rpn_pre_nms_top_n_test=6000, rpn_post_nms_top_n_test=300,
                       rpn_nms_thresh=0.7, box_head=TwoFC(), box_predictor=FastRCNNPredictor(4096, 21),
                       box_score_thresh=0.05, box_nms_thresh=0.3, box_detections_per_img=100)
    # The constructor only accepts MultiScaleRoIAlign; swap in RoI max-pool as the paper has it.
    model.roi_heads.box_roi_pool = RoIPoolBox()
    return model


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", required=True)
    ap.add_argument("--device", default="cuda")
    ap.add_argument("--iters", type=int, default=50)
    ap.add_argument("--warmup", type=int, default=5)
    ap.add_argument("--skip-model", action="store_true", help="kernels only")
    a = ap.parse_args()
    os.makedirs(a.out, exist_ok=True)
    dev = torch.device(a.device)
    run = timer(dev)
    torch.manual_seed(0)

    inputs = make_inputs()
    safetensors_np.save(os.path.join(a.out, "bench_inputs.safetensors"), inputs,
                        {"generator": "bench/compare_torchvision.py make_inputs(seed=0)"})
    T = {k: torch.from_numpy(v).to(dev) for k, v in inputs.items()}
    res = {"device": torch.cuda.get_device_name(0) if dev.type == "cuda" else "cpu",
           "torch": torch.__version__, "torchvision": torchvision.__version__,
           "date": time.strftime("%Y-%m-%d"), "timing": "median ms, CUDA events" if dev.type == "cuda" else "median ms, wall clock",
           "kernels": {}, "model": {}}

    def record(name, times):
        res["kernels"][name] = {"median_ms": statistics.median(times), "min_ms": min(times), "repeats": len(times)}
        print(f"{name:32s} {statistics.median(times):9.3f} ms", flush=True)

    for n in (6000, 12000):
        record(f"nms_{n}", run(lambda: nms(T[f"nms{n}.boxes"], T[f"nms{n}.scores"], 0.7), a.warmup, a.iters))
    feats = T["roi.features"].clone().requires_grad_(True)
    for r in (128, 300):
        rois = T[f"roi{r}.rois"]
        record(f"roi_pool_fwd_{r}", run(lambda: roi_pool(feats, rois, (7, 7), 1.0 / 16), a.warmup, a.iters))
        out = roi_pool(feats, rois, (7, 7), 1.0 / 16)
        g = T[f"roi{r}.grad"]
        record(f"roi_pool_bwd_{r}", run(lambda: torch.autograd.grad(out, feats, g, retain_graph=True), a.warmup, a.iters))

    if not a.skip_model:
        model = make_frcnn().to(dev).eval()
        img = [torch.rand(3, 600, 1000, device=dev)]
        modes = (("fp32", False), ("tf32", True)) if dev.type == "cuda" else (("fp32", False),)
        for label, tf32 in modes:
            if dev.type == "cuda":
                torch.backends.cuda.matmul.allow_tf32 = tf32
                torch.backends.cudnn.allow_tf32 = tf32
                torch.cuda.reset_peak_memory_stats()
            with torch.no_grad():
                times = run(lambda: model(img), a.warmup, a.iters)
            m = statistics.median(times)
            res["model"][label] = {"median_ms": m, "fps": 1000.0 / m, "repeats": len(times),
                                   "peak_mem_mib": torch.cuda.max_memory_allocated() / 2**20 if dev.type == "cuda" else None}
            print(f"torchvision FasterRCNN VGG16 {label}: {m:.2f} ms/image, {1000.0 / m:.2f} fps", flush=True)

    with open(os.path.join(a.out, "torchvision.json"), "w") as f:
        json.dump(res, f, indent=2)


if __name__ == "__main__":
    main()
