#!/usr/bin/env python3
"""Turns one benchmark session's results into the markdown table of docs/BENCHMARKS.md
and one merged JSON file (bench/results/<device>-<date>.json).

Inputs (all from the same run of scripts/bench-all.sh, so on the same device):
  --kernels      kernels.json      frcnn_bench, Google Benchmark JSON (peaks, conv, linear,
                                   detection kernels); with --benchmark_repetitions the
                                   "median" aggregates are used, else the median of the runs
  --torchvision  torchvision.json  bench/compare_torchvision.py (optional)
  --e2e          e2e_*.json        frcnn bench (any number)
Outputs: --md FILE (markdown), --merged FILE (JSON with every input plus the derived rows).

Columns: our time, the library baseline's time on the same shapes (cuDNN for conv, a bare
cuBLAS / OpenBLAS GEMM for Linear, torchvision for NMS and RoI pool, on the very same
tensors when FRCNN_BENCH_INPUTS was set: shared_inputs = 1), their ratio (baseline time /
our time: > 1 means ours is faster), and achieved GFLOP/s or GB/s as a fraction of the peaks
measured in the same run (peak/sgemm, peak/tf32, peak/bf16, peak/copy). Standard library only.

Precision (engine/math_mode.h): every conv, Linear and end-to-end row says its math mode. CUDA
kernel entries end in /fp32, /tf32 or /bf16 and their Google Benchmark label says what ran
(cuDNN's algorithm and math type, cuBLAS's handle mode or GemmEx, our conv's FMA or mma.sync
path). The conv table has one row per (layer, pass): ours and cuDNN in fp32, tf32 and bf16,
cuDNN / ours at the same precision, and ours as a fraction of the GEMM peak of its own
precision (fp32 -> peak/sgemm, tf32 -> peak/tf32, bf16 -> peak/bf16). Linear rows are read
against the peak of their precision too; bf16 Linear is paired with bare cublasGemmEx calls on
operands converted once (cublas_gemmex_bf16/...), so its ratio shows our per-call conversion
of the activations (the weight's BF16 copy is made once per change of the weight).
Absent rows (a CPU-only run has no CUDA ones, a run without cuDNN no cuDNN ones) leave "–".
"""
import argparse
import json
import os
import re
import statistics
import sys

BANDWIDTH_BOUND = {"BM_anchors", "BM_roi_pool_forward", "BM_roi_pool_backward"}
UNIT_MS = {"ns": 1e-6, "us": 1e-3, "ms": 1.0, "s": 1e3}
PRECISIONS = ("fp32", "tf32", "bf16")  # engine/math_mode.h, in table order


def load(path):
    with open(path) as f:
        return json.load(f)


def gbench_rows(doc):
    """name -> dict(ms, counters..., error) taking medians over repetitions."""
    runs, medians, errors, labels = {}, {}, {}, {}
    for b in doc.get("benchmarks", []):
        # "BM_nms/cpu/6000/real_time" -> "BM_nms/cpu/6000": the timing mode is not part of the name
        name = re.sub(r"/(real_time|manual_time)$", "", b.get("run_name", b["name"]))
        if b.get("error_occurred"):
            errors[name] = b.get("error_message", "error")
            continue
        if b.get("label"):
            labels[name] = b["label"]
        row = {k: v for k, v in b.items() if isinstance(v, (int, float)) and not isinstance(v, bool)}
        row["ms"] = b["real_time"] * UNIT_MS[b.get("time_unit", "ns")]
        if b.get("run_type") == "aggregate":
            if b.get("aggregate_name") == "median":
                medians[name] = row
        else:
            runs.setdefault(name, []).append(row)
    out = {}
    for name, rs in runs.items():
        keys = set().union(*rs)
        out[name] = {k: statistics.median([r[k] for r in rs if k in r]) for k in keys}
        out[name]["repeats"] = len(rs)
    for name, row in medians.items():  # aggregates win over single runs
        row["repeats"] = row.get("repetitions", 0)
        out[name] = row
    for name, msg in errors.items():
        out.setdefault(name, {"error": msg})
    for name, label in labels.items():  # what ran (math mode, cuDNN algorithm): text, kept as is
        if name in out:
            out[name]["label"] = label
    return out


def fmt(x, digits=3):
    if x is None:
        return "–"
    if isinstance(x, str):
        return x
    if x == 0:
        return "0"
    if abs(x) >= 100:
        return f"{x:.0f}"
    if abs(x) >= 10:
        return f"{x:.1f}"
    return f"{x:.{digits}g}" if abs(x) < 0.01 else f"{x:.{digits}f}".rstrip("0").rstrip(".")


def ratio(base_ms, ours_ms):
    if base_ms and ours_ms:
        return f"{base_ms / ours_ms:.2f}×"
    return "–"


def table(header, rows):
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(fmt(c) for c in r) + " |" for r in rows]
    return "\n".join(lines)


def by_precision(item):
    """Sort key of a (name, row) pair: the name, then its /fp32 /tf32 /bf16 suffix in PRECISIONS order."""
    m = re.match(r"(.*)/(fp32|tf32|bf16)$", item[0])
    return (m[1], PRECISIONS.index(m[2])) if m else (item[0], 0)


def ms_of(rows, name):
    r = rows.get(name)
    return None if not r or "error" in r else r["ms"]


def label_of(rows, name):
    r = rows.get(name)
    return (r or {}).get("label") or "–"


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--kernels")
    ap.add_argument("--torchvision")
    ap.add_argument("--e2e", nargs="*", default=[])
    ap.add_argument("--md")
    ap.add_argument("--merged")
    a = ap.parse_args()

    K = load(a.kernels) if a.kernels and os.path.exists(a.kernels) else None
    TV = load(a.torchvision) if a.torchvision and os.path.exists(a.torchvision) else None
    E = [load(p) for p in a.e2e if os.path.exists(p)]
    rows = gbench_rows(K) if K else {}
    gpu = any(n.endswith("Cuda") or "/cuda" in n or n.startswith(("conv_cuda", "linear_cuda", "cublas"))
              for n, r in rows.items() if "error" not in r)
    out, merged = [], {"kernels": rows, "torchvision": TV, "e2e": E, "derived": {}}

    # ---- header --------------------------------------------------------------
    dev = next((e["device"] for e in E if "cuda" in e.get("device", "")), None) or (E[0]["device"] if E else None)
    ctx = (K or {}).get("context", {})
    date = (E[0]["date"] if E else ctx.get("date", "?"))
    build = E[0]["build"] if E else "?"
    out.append(f"Device: {dev or ctx.get('host_name', '?')}  \nBuild: {build}  \nDate: {date}  \n"
               f"Kernel timing: {'CUDA events (manual time)' if gpu else 'wall clock'}, median of repetitions; "
               f"CPU: {ctx.get('num_cpus', '?')} CPUs at {ctx.get('mhz_per_cpu', '?')} MHz (Google Benchmark context).")
    merged["derived"].update(device=dev, build=build, date=date)

    # ---- peaks ---------------------------------------------------------------
    peaks = {}
    for key, name, field, scale in (("copy_cpu", "BM_PeakCopyCpu", "bytes_per_second", 1e-9),
                                    ("sgemm_cpu", "BM_PeakSgemmCpu/1024", "GFLOP/s", 1.0),
                                    ("copy_cuda", "BM_PeakCopyCuda", "bytes_per_second", 1e-9),
                                    ("sgemm_cuda", "BM_PeakSgemmCuda/8192", "GFLOP/s", 1.0),
                                    ("tf32_cuda", "BM_PeakTf32GemmCuda/8192", "GFLOP/s", 1.0),
                                    ("bf16_cuda", "BM_PeakBf16GemmCuda/8192", "GFLOP/s", 1.0)):
        r = rows.get(name)
        if r and field in r:
            peaks[key] = r[field] * scale
    merged["derived"]["peaks"] = peaks
    if peaks:
        out.append("\n### Measured peaks (same run)\n")
        out.append(table(["ceiling", "CPU", "CUDA"],
                         [["copy GB/s (read + write)", peaks.get("copy_cpu"), peaks.get("copy_cuda")],
                          ["fp32 GEMM GFLOP/s", peaks.get("sgemm_cpu"), peaks.get("sgemm_cuda")],
                          ["tf32 GEMM GFLOP/s (TF32 tensor cores)", None, peaks.get("tf32_cuda")],
                          ["bf16 GEMM GFLOP/s (BF16 tensor cores, FP32 accumulate)", None, peaks.get("bf16_cuda")]]))

    def pct(value, peak):
        return f"{100 * value / peak:.0f}%" if value and peak else "–"

    # ---- conv ------------------------------------------------------------------
    # The GEMM peak each precision is read against.
    peak_of = {"fp32": "sgemm_cuda", "tf32": "tf32_cuda", "bf16": "bf16_cuda"}
    # (layer, pass) in the order the suite ran them (network order, fwd / bwd_data / bwd_weight).
    keys = []
    for name, r in rows.items():
        m = re.match(r"conv_cuda_(?:own|cudnn)/(\w+)/(\w+)/(?:fp32|tf32|bf16)$", name)
        if m and "error" not in r and (m[1], m[2]) not in keys:
            keys.append((m[1], m[2]))
    conv, conv_algos = [], []
    for layer, pas in keys:
        own = {p: rows.get(f"conv_cuda_own/{layer}/{pas}/{p}") or {} for p in PRECISIONS}
        own_ms = {p: ms_of(rows, f"conv_cuda_own/{layer}/{pas}/{p}") for p in own}
        dnn = {p: f"conv_cuda_cudnn/{layer}/{pas}/{p}" for p in PRECISIONS}
        dnn_ms = {p: ms_of(rows, n) for p, n in dnn.items()}
        frac = [pct(own[p].get("GFLOP/s") if own_ms[p] else None, peaks.get(peak_of[p])) for p in own]
        # ours bf16 with BF16 activations in and out (forward only: what bf16 inference runs)
        act_ms = ms_of(rows, f"conv_cuda_own_bf16act/{layer}/{pas}/bf16")
        conv.append([layer, pas, own_ms["fp32"], own_ms["tf32"], own_ms["bf16"], act_ms, dnn_ms["fp32"],
                     dnn_ms["tf32"], dnn_ms["bf16"]] + [ratio(dnn_ms[p], own_ms[p]) for p in PRECISIONS] +
                    [ratio(dnn_ms["bf16"], act_ms)] + frac)
        # labels read "<math>: <what cuDNN ran>"; the column already says the math
        conv_algos.append([layer, pas] + [re.sub(r"^(fp32|tf32|bf16): ", "", label_of(rows, n)) for n in dnn.values()])
    if conv:
        out.append("\n### Convolution, VGG16 layer shapes and the RPN head at 600x1000, batch 1 (CUDA)\n")
        out.append("Ours in three precisions: fp32 (FP32 FMA, SIMT), tf32 (mma.sync m16n8k8) and bf16 "
                   "(mma.sync m16n8k16), FP32 accumulate. cuDNN in fp32 (CUDNN_FMA_MATH), tf32 (TF32 tensor "
                   "cores allowed) and bf16 (BF16 tensors, FLOAT compute, its pass alone on buffers converted "
                   "before timing; ours bf16 reads FP32 and rounds in registers, or, in the BF16-activations "
                   "column (forward only, as bf16 inference runs it), reads and writes BF16). conv5_1 stands for conv5_2, "
                   "conv5_3 and the RPN 3x3 (same "
                   "shape); rpn_cls / rpn_bbox are the RPN's 1x1 convs on conv5_3's 38x63 map. Each \"of peak\" "
                   "is against the GEMM peak of that precision (fp32 sgemm, tf32, bf16).\n")
        out.append(table(["layer", "pass", "ours fp32 ms", "ours tf32 ms", "ours bf16 ms",
                          "ours bf16, BF16 activations ms", "cuDNN fp32 ms", "cuDNN tf32 ms", "cuDNN bf16 ms",
                          "cuDNN fp32 / ours fp32", "cuDNN tf32 / ours tf32", "cuDNN bf16 / ours bf16",
                          "cuDNN bf16 / ours bf16 BF16 act.", "ours fp32 of fp32 peak", "ours tf32 of tf32 peak",
                          "ours bf16 of bf16 peak"], conv))
        if any(c != "–" for a in conv_algos for c in a[2:]):
            out.append("\nWhat cuDNN ran (algorithm, rank in its heuristic list, math type, workspace):\n")
            out.append(table(["layer", "pass", "fp32", "tf32", "bf16"], conv_algos))
    # ---- the inference max-pool fused into the conv's epilogue -----------------------------
    pool_rows = []
    for name in rows:
        m = re.match(r"conv_cuda_pool/(\w+)/fused/(fp32|tf32|bf16)$", name)
        if m:
            fused, unfused = ms_of(rows, name), ms_of(rows, f"conv_cuda_pool/{m[1]}/unfused/{m[2]}")
            pool_rows.append([m[1], m[2], unfused, fused, ratio(unfused, fused)])
    if any(r[3] is not None for r in pool_rows):
        out.append("\n### Inference conv + 2x2 max-pool, ours (CUDA)\n")
        out.append("The layers VGG16 pools after (conv3_2 stands for conv3_3, conv4_2 for conv4_3): "
                   "conv2d_forward with its fused ReLU then maxpool2d_forward, against "
                   "conv2d_relu_maxpool_forward, the pool in the conv's epilogue (what detection runs).\n")
        out.append(table(["layer", "precision", "conv then pool ms", "fused ms", "unfused / fused"], pool_rows))

    def im2col_ms(layer, pass_):
        r = rows.get(f"conv_cpu_im2col/{layer}/{pass_}_div10")
        return r["ms"] if r and "error" not in r else None

    conv_cpu = [[m[1], m[2], "fp32", r["ms"], r.get("GFLOP"), pct(r.get("GFLOP"), peaks.get("sgemm_cpu")),
                 im2col_ms(m[1], m[2]), ratio(im2col_ms(m[1], m[2]), r["ms"])]
                for name, r in sorted(rows.items())
                if (m := re.match(r"conv_cpu/(\w+)/(\w+)_div10$", name)) and "error" not in r]
    if conv_cpu:
        out.append("\n### Convolution on the CPU (oneDNN, beside the im2col / col2im + OpenBLAS reference), "
                   "VGG16 and RPN-head channels at 1/10 of the 600x1000 map (at least 8x8)\n")
        out.append(table(["layer", "pass", "math", "oneDNN ms", "GFLOP/s", "of sgemm peak", "reference ms",
                          "reference / oneDNN"], conv_cpu))
    merged["derived"]["conv"] = conv
    merged["derived"]["conv_algos"] = conv_algos
    merged["derived"]["conv_cpu"] = conv_cpu

    # ---- linear ----------------------------------------------------------------
    lin = []
    for devname, ours, bare in (("CUDA", "linear_cuda", "cublas_sgemm"), ("CPU", "linear_cpu", "cblas_sgemm_cpu")):
        for name, r in sorted(rows.items(), key=by_precision):
            if name.startswith(ours + "/") and "error" not in r:
                x = name[len(ours) + 1:]
                base = ms_of(rows, f"{bare}/{x}")
                g = r.get("GFLOP/s")
                # CUDA rows end in /fp32, /tf32 or /bf16 (the context's precision); CPU rows are fp32.
                mm = re.match(r"(.*)/(fp32|tf32|bf16)$", x)
                what, math = (mm[1], mm[2]) if mm else (x, "fp32")
                if math == "bf16":  # bare GemmEx on operands converted once: no cublas_sgemm/.../bf16
                    base = ms_of(rows, f"cublas_gemmex_bf16/{x}")
                peak = "sgemm_cpu" if devname == "CPU" else peak_of[math]
                lin.append([devname, what, math, r["ms"], g, pct(g, peaks.get(peak)), base, ratio(base, r["ms"])])
    if lin:
        out.append("\n### Linear (fc6 25088→4096, fc7 4096→4096; rows = RoIs) vs a bare GEMM of the same product\n")
        out.append("Both columns of a row run on a cuBLAS handle in the row's math mode, and each row is read "
                   "against the GEMM peak of its precision. The bare GEMM is cublasSgemm (fp32, tf32) or, for "
                   "bf16, cublasGemmEx on BF16 operands converted once before timing: our Linear converts the "
                   "activations on every call (its weight once per change of the weight), so its bf16 ratio "
                   "includes that conversion.\n")
        out.append(table(["device", "layer / rows", "math", "ours ms", "GFLOP/s", "of GEMM peak (same math)",
                          "bare GEMM ms", "GEMM / ours"], lin))
    merged["derived"]["linear"] = lin

    # ---- detection kernels -------------------------------------------------------
    tvk = (TV or {}).get("kernels", {})
    tv_dev = (TV or {}).get("device")
    tv_is_cuda = tv_dev not in (None, "cpu")
    tv_map = {("BM_nms", "6000"): "nms_6000", ("BM_nms", "12000"): "nms_12000",
              ("BM_roi_pool_forward", "128"): "roi_pool_fwd_128", ("BM_roi_pool_forward", "300"): "roi_pool_fwd_300",
              ("BM_roi_pool_backward", "128"): "roi_pool_bwd_128", ("BM_roi_pool_backward", "300"): "roi_pool_bwd_300"}
    det = []
    for name, r in sorted(rows.items()):
        m = re.match(r"(BM_[a-z_]+)/(cpu|cuda)(?:/(.*))?$", name)
        if not m or "error" in r:
            continue
        fn, d, arg = m[1], m[2], m[3] or ""
        gbs = r.get("bytes_per_second", 0) * 1e-9 or None
        tvname = tv_map.get((fn, arg))
        tv_ms = tvk.get(tvname, {}).get("median_ms") if tvname and (d == "cuda") == tv_is_cuda else None
        shared = {1: "yes", 0: "no"}.get(int(r["shared_inputs"])) if "shared_inputs" in r else "–"
        # Only the memory-bound kernels are read against the copy peak; NMS, proposals and
        # the target ops are bound by their sorting / pairwise IoU work, not by bytes.
        frac = pct(gbs, peaks.get("copy_" + d)) if fn in BANDWIDTH_BOUND else "–"
        det.append([fn[3:], d, arg.replace("/", "→"), r["ms"], gbs, frac, tv_ms,
                    ratio(tv_ms, r["ms"]), shared if tvname else "–"])
    if det:
        out.append("\n### Detection kernels at Faster R-CNN sizes (38x50 map, 17100 anchors)\n")
        out.append(table(["kernel", "device", "size", "ours ms", "GB/s", "of copy peak",
                          f"torchvision ms ({tv_dev or 'not run'})", "torchvision / ours", "same tensors"], det))
    merged["derived"]["detection"] = det

    # ---- end to end --------------------------------------------------------------
    if E or (TV and TV.get("model")):
        out.append("\n### End to end, batch 1 (random weights and inputs)\n")
        inf = []
        for e in E:
            i = e.get("inference")
            if not i:
                continue
            sets = " ".join(e.get("overrides") or [])
            inf.append([f"frcnn {e['config']} ({e['conv_backend']}, {e.get('math', 'fp32')}"
                        f"{', ' + sets if sets else ''}; "
                        f"{i['mean_proposals']:.0f} RoIs)", f"{i['input'][0]}x{i['input'][1]}",
                        i["conv_ms"]["median"], i["proposals_ms"]["median"], i["region_ms"]["median"],
                        i["total_ms"]["median"], i["fps"], f"{i['memory']['peak_mib']:.0f} ({i['memory']['kind']})",
                        e["device"]])
        for label, mm in ((TV or {}).get("model") or {}).items():
            mem = mm.get("peak_mem_mib")
            inf.append([f"torchvision FasterRCNN VGG16 {label}", "600x1000", None, None, None, mm["median_ms"],
                        mm["fps"], f"{mem:.0f}" if mem else "–", tv_dev])
        inf.append(["published: paper, Caffe (Table 5)", "~600x1000", 141, 10, 47, 198, 5, "–", "K40"])
        inf.append(["published: PyTorch re-implementation", "~600x1000", None, None, None, None, "14–15", "–",
                    "TITAN Xp"])
        out.append(table(["run", "input", "conv ms", "proposals ms", "region-wise ms", "total ms", "fps",
                          "peak MiB", "device"], inf))
        tr = []
        for e in E:
            for stage, t in (e.get("train") or {}).items():
                tr.append([f"frcnn {e['config']} ({e['conv_backend']}, {e.get('math', 'fp32')})", stage,
                           t["ims_per_batch"], t["frozen_blocks"],
                           t["s_per_iter"]["median"], t["images_per_s"],
                           f"{t['memory']['peak_mib']:.0f} ({t['memory']['kind']})", e["device"]])
        tr.append(["published: PyTorch re-implementation", "joint", 1, "–", None, 6, "–", "TITAN Xp"])
        out.append("\nTraining: one iteration = zero_grad + forward/backward of each image + SGD step.\n")
        out.append(table(["run", "stage", "images", "frozen blocks", "s/iter", "images/s", "peak MiB", "device"], tr))
        merged["derived"]["inference"] = inf
        merged["derived"]["train"] = tr

    md = "\n".join(out) + "\n"
    if a.md:
        with open(a.md, "w") as f:
            f.write(md)
    else:
        sys.stdout.write(md)
    if a.merged:
        with open(a.merged, "w") as f:
            json.dump(merged, f, indent=1, default=str)


if __name__ == "__main__":
    main()
