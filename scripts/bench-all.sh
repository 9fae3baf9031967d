#!/usr/bin/env bash
# Runs every benchmark in one session and leaves the results in OUT_DIR:
#   kernels.json      frcnn_bench (Google Benchmark JSON; peaks, kernels, conv/linear vs cuDNN/cuBLAS)
#   torchvision.json  bench/compare_torchvision.py (needs python3-torch; skipped without it)
#   e2e_*.json        frcnn bench (end-to-end fps / training s/iter) for the paper and tiny configs
# Usage: scripts/bench-all.sh OUT_DIR [--quick]   (BUILD_DIR defaults to build)
# --quick: short repetitions, for a CPU smoke test.
set -uo pipefail
OUT_DIR=${1:?usage: scripts/bench-all.sh OUT_DIR [--quick]}
QUICK=${2:-}
BUILD_DIR=${BUILD_DIR:-build}
BIN="$BUILD_DIR/bin"
mkdir -p "$OUT_DIR"
status=0
PY=/usr/bin/python3

device=cpu
if "$BIN/frcnn" info | grep -q "^  GPU 0"; then device=cuda; fi

# 1. torchvision first: it writes the shared kernel inputs our suite then reads.
if $PY -c "import torch, torchvision" 2>/dev/null; then
  args=(--out "$OUT_DIR" --device "$device")
  [[ -n "$QUICK" ]] && args+=(--iters 2 --warmup 1 --skip-model)
  $PY bench/compare_torchvision.py "${args[@]}" 2>&1 | tee "$OUT_DIR/torchvision.log" || status=1
else
  echo "bench-all: python3-torch not installed: torchvision comparison skipped (scripts/install-deps.sh --fixtures)"
fi

# 2. Our kernel suite.
export FRCNN_BENCH_INPUTS="$OUT_DIR/bench_inputs.safetensors"
kargs=(--benchmark_out="$OUT_DIR/kernels.json" --benchmark_out_format=json --benchmark_repetitions=5
       --benchmark_report_aggregates_only=true)
[[ -n "$QUICK" ]] && kargs=(--benchmark_out="$OUT_DIR/kernels.json" --benchmark_out_format=json --benchmark_min_time=0.01)
if [[ "$device" == cpu ]]; then kargs+=(--benchmark_filter='Cpu|CPU|cpu'); fi
"$BIN/frcnn_bench" "${kargs[@]}" 2>&1 | tee "$OUT_DIR/kernels.log" || status=1

# 3. End to end (once `frcnn bench` exists).
if "$BIN/frcnn" bench --help >/dev/null 2>&1; then
  iters=50; [[ -n "$QUICK" ]] && iters=2
  for cfg in configs/vgg16_voc07.yaml configs/tiny.yaml; do
    name=$(basename "$cfg" .yaml)
    "$BIN/frcnn" bench --config "$cfg" --device "$device" --iters "$iters" --json "$OUT_DIR/e2e_$name.json" \
      2>&1 | tee "$OUT_DIR/e2e_$name.log" || status=1
  done
fi
exit $status
