#!/usr/bin/env bash
# Runs every benchmark in one session and leaves the results in OUT_DIR:
#   torchvision.json   bench/compare_torchvision.py (needs python3-torch; skipped without it);
#                      it also writes bench_inputs.safetensors, the NMS / RoI-pool inputs our
#                      suite then times too (FRCNN_BENCH_INPUTS), so both time the same data
#   kernels.json       frcnn_bench (Google Benchmark JSON: peaks, conv vs cuDNN, Linear vs
#                      cuBLAS / OpenBLAS, detection kernels), medians of 5 repetitions
#   e2e_<config>.json  frcnn bench (inference ms/image split, fps, training s/iter, memory);
#                      on the GPU the paper config also as e2e_vgg16_voc07_<suffix>.json:
#                      _cudnn (fp32), _own_tf32, _cudnn_tf32, _own_bf16, _cudnn_bf16, _300rois
#   table.md           scripts/bench_table.py: the markdown table for docs/BENCHMARKS.md
#   <device>-<date>.json  everything merged: commit it as bench/results/<device>-<date>.json
# Usage: [BUILD_DIR=build] scripts/bench-all.sh OUT_DIR [--quick]
# --quick: short runs (1-2 iterations, no repetitions), for a smoke test of the pipeline;
#          its numbers are not for the docs. On a machine without a GPU only the CPU
#          entries run, and the paper config's end-to-end run is inference only at full size
#          (training VGG16 at 600x1000 on a few cores takes minutes per iteration).
set -uo pipefail
OUT_DIR=${1:?usage: scripts/bench-all.sh OUT_DIR [--quick]}
QUICK=${2:-}
BUILD_DIR=${BUILD_DIR:-build}
BIN="$BUILD_DIR/bin"
mkdir -p "$OUT_DIR"
status=0
# The Python that has torch: Debian's /usr/bin/python3 on the dev machines, the plain
# python3 on the lent GPU machine.
PY=""
for cand in /usr/bin/python3 python3; do
  if "$cand" -c "import torch, torchvision" 2>/dev/null; then PY=$cand; break; fi
done
for b in frcnn frcnn_bench; do
  [[ -x "$BIN/$b" ]] || { echo "bench-all: $BIN/$b not built (cmake --build $BUILD_DIR --target $b)"; exit 1; }
done

device=cpu
if "$BIN/frcnn" info | grep -q "^  GPU 0"; then device=cuda; fi
if [[ $device == cuda ]]; then
  dev_name=$(nvidia-smi --query-gpu=name --format=csv,noheader 2>/dev/null | head -1)
  dev_name=${dev_name:-gpu}
else
  dev_name="cpu-$(nproc)core"
fi
slug=$(echo "$dev_name" | tr '[:upper:]' '[:lower:]' | sed -E 's/[^a-z0-9]+/-/g; s/^-|-$//g')
stamp=$(date -u +%Y-%m-%d)
echo "bench-all: device $device ($dev_name), results in $OUT_DIR"

# 1. torchvision first: it writes the shared kernel inputs our suite then reads.
if [[ -n "$PY" ]]; then
  args=(--out "$OUT_DIR" --device "$device")
  [[ -n "$QUICK" ]] && args+=(--iters 2 --warmup 1 --skip-model)
  [[ -z "$QUICK" && $device == cpu ]] && args+=(--iters 3 --warmup 1)
  $PY bench/compare_torchvision.py "${args[@]}" 2>&1 | tee "$OUT_DIR/torchvision.log" || status=1
else
  echo "bench-all: python3-torch not installed: torchvision comparison skipped (scripts/install-deps.sh --fixtures)"
fi

# 2. Our kernel suite (medians of repetitions; on the same inputs as torchvision when present).
if [[ -f "$OUT_DIR/bench_inputs.safetensors" ]]; then
  export FRCNN_BENCH_INPUTS="$OUT_DIR/bench_inputs.safetensors"
else
  unset FRCNN_BENCH_INPUTS
fi
kargs=(--benchmark_out="$OUT_DIR/kernels.json" --benchmark_out_format=json)
if [[ -n "$QUICK" ]]; then
  kargs+=(--benchmark_min_time=0.01)
else
  kargs+=(--benchmark_repetitions=5 --benchmark_report_aggregates_only=true)
fi
if [[ "$device" == cpu ]]; then kargs+=(--benchmark_filter='Cpu|CPU|cpu'); fi
"$BIN/frcnn_bench" "${kargs[@]}" 2>&1 | tee "$OUT_DIR/kernels.log" || status=1

# 3. End to end: the paper's config and the tiny one.
e2e=()
for cfg in configs/vgg16_voc07.yaml configs/tiny.yaml; do
  name=$(basename "$cfg" .yaml)
  eargs=(--config "$cfg" --device "$device" --json "$OUT_DIR/e2e_$name.json")
  if [[ -n "$QUICK" ]]; then
    eargs+=(--iters 1 --warmup 0)
  elif [[ $device == cuda ]]; then
    eargs+=(--iters 50 --warmup 5)
  else
    eargs+=(--iters 3 --warmup 1)
  fi
  mode=(--mode all)
  [[ $device == cpu && $name == vgg16_voc07 ]] && mode=(--mode inference)
  "$BIN/frcnn" bench "${eargs[@]}" "${mode[@]}" 2>&1 | tee "$OUT_DIR/e2e_$name.log" || status=1
  e2e+=("$OUT_DIR/e2e_$name.json")
  # The paper setup on the GPU also with cuDNN as the conv backend.
  if [[ $device == cuda && $name == vgg16_voc07 ]]; then
    "$BIN/frcnn" bench "${eargs[@]/e2e_$name.json/e2e_${name}_cudnn.json}" "${mode[@]}" --set model.backbone.conv_backend=cudnn \
      2>&1 | tee "$OUT_DIR/e2e_${name}_cudnn.log" || status=1
    e2e+=("$OUT_DIR/e2e_${name}_cudnn.json")
    # And in the tensor-core precisions (model.precision, engine/math_mode.h) with both
    # backends: tf32 (ours: mma.sync TF32; cuDNN: TF32 allowed; cuBLAS: TF32 math) and bf16
    # (ours: mma.sync BF16; cuDNN: BF16 tensors, FLOAT compute; cuBLAS GemmEx on BF16
    # operands). On the GPU the mode is "all", so each of these runs covers inference and
    # training.
    for run in own:tf32 cudnn:tf32 own:bf16 cudnn:bf16; do
      be=${run%%:*} prec=${run#*:}
      "$BIN/frcnn" bench "${eargs[@]/e2e_$name.json/e2e_${name}_${be}_${prec}.json}" "${mode[@]}" \
        --set model.backbone.conv_backend=$be --set model.precision=$prec \
        2>&1 | tee "$OUT_DIR/e2e_${name}_${be}_${prec}.log" || status=1
      e2e+=("$OUT_DIR/e2e_${name}_${be}_${prec}.json")
    done
  fi
  # With random weights the proposals are near-copies of the anchors and NMS 0.7 leaves
  # far fewer than 300 at 600x1000; the region-wise column (fc6 dominates) is then timed
  # on the paper's full 300 RoIs by a second run without proposal suppression.
  if [[ -z "$QUICK" && $name == vgg16_voc07 ]]; then
    "$BIN/frcnn" bench "${eargs[@]/e2e_$name.json/e2e_${name}_300rois.json}" --mode inference \
      --set model.rpn.nms=1.0 2>&1 | tee "$OUT_DIR/e2e_${name}_300rois.log" || status=1
    e2e+=("$OUT_DIR/e2e_${name}_300rois.json")
  fi
done

# 4. The table and the merged result file.
python3 scripts/bench_table.py --kernels "$OUT_DIR/kernels.json" --torchvision "$OUT_DIR/torchvision.json" \
  --e2e "${e2e[@]}" --md "$OUT_DIR/table.md" --merged "$OUT_DIR/$slug-$stamp.json" || status=1
echo "bench-all: wrote $OUT_DIR/table.md and $OUT_DIR/$slug-$stamp.json (status $status)"
exit $status
