#!/usr/bin/env bash
# The one command for a lent GPU machine (the `device` tool), run from the repo root after
# scripts/gpu-deps.sh has filled .devdebs/ here (carry it with the call):
#   device run, carry [".devdebs"], timeout_s 600:  scripts/gpu-check.sh
#
#   scripts/gpu-check.sh             the whole lease's work, at most 480 s of wall time
#   scripts/gpu-check.sh --plan      print the steps and their budgets, run nothing
#   scripts/gpu-check.sh --dry-run   the orchestration with every step replaced by a trivial
#                                    command (what tests/scripts/test_gpu_check.sh checks)
#   scripts/gpu-check.sh --no-bench  build, GPU tests and sanitizers only
# Environment: OUT (default ./out), BUILD_DIR (build-gpu), CMAKE_CUDA_ARCHITECTURES (90),
# GPU_CHECK_BUDGET (480 s), GPU_CHECK_COMMIT (recorded in results.json; the machine has no .git).
#
# A lease is 15 minutes of device time and the machine's start takes minutes of them, so
# the whole run must end within 8 minutes (GPU_CHECK_BUDGET=480 s). Every step runs under
# `timeout -k` with its own cap, so a hang costs that step and nothing after it; a failed or
# timed-out step is recorded and the next one runs. A step never starts with a cap larger
# than what is left of the budget. After every step, results.json (per-step status,
# seconds, notes) and logs.tar.gz (every log and raw result so far) are rewritten in $OUT,
# so a call killed from outside still returns what was done. Files in $OUT, at most 8 (the
# device tool returns 8): results.json, logs.tar.gz, table.md, bench-<device>-<date>.json.
#
# Steps, most valuable first, and their caps (s): correctness on the real GPU, then the
# headline figure (Table 5 ms/image, ours and torchvision's), then the detail (kernels,
# training), then the sanitizers, whose ground the emulated suite already covers in part.
# Estimates for the 16-core H200 machine are scaled from this project's 2-core CPU VM
# (measured 2026-12-01, ccache off, the VM shared with other builds) or, where nothing can
# run without a GPU, reasoned; none has been measured on a GPU yet.
#   build           150  deps from .devdebs (dpkg -x of the 17 packages: 1.3 s here),
#                        configure (3.8 s here), the 8 targets (frcnn, frcnn_bench,
#                        test_{engine,kernels,layers,data,train,apps}) at -j$(nproc). Here,
#                        fresh at -j2: 521 s wall, 594 s CPU (user+sys); the longest object
#                        (tests/test_main.cpp) 49 s wall at ~57% of a core, i.e. ~28 s alone.
#                        Scaled: 594 s / 16 cores = 37 s, plus the longest compile's tail and
#                        the link chain: 60-70 s expected; the cap allows 2x for slower cores.
#   gpu-tests        60  ctest -L gpu -j8, the 53 [gpu] tests. On the emulated GPU (ASan,
#                        2 cores, two at a time) they sum to about 13 min per schedule
#                        (measured 2026-12-02), the emulation included
#                        (the tensor-core twins are slow); on a real GPU their CPU references
#                        dominate (the bf16 training test's CPU run the longest): 20-40 s
#                        expected.
#   e2e-inference    60  frcnn bench, paper config, inference, 20 images after 3 warm-ups:
#                        own fp32, cuDNN fp32, own tf32, cuDNN tf32, own bf16 (tf32 / bf16
#                        rows only when the config knows model.precision), own fp32 with 300
#                        RoIs, cuDNN bf16 last; reasoned: 3-5 s start (CUDA, cuBLAS, cuDNN, random init) +
#                        2 x 23 x <0.2 s each, per row (each row runs with CUDA graphs and
#                        again without: host overhead, launches, waits per image); own tf32
#                        also with --batch 2,4,8 (23 calls each, <1 s per call at batch 8);
#                        every row times the loader alone too (~100 images, <2 s).
#   torchvision      45  bench/compare_torchvision.py with the machine's python3 (torch
#                        2.11 / torchvision 0.26 by the device docs; found without importing
#                        it); it writes the NMS / RoI-pool inputs the kernel suite then times.
#                        Without torch: one line, ~0 s.
#   kernel-bench     50  frcnn_bench, its 299 CUDA entries (the CPU ones are CI's), 3
#                        repetitions, in two runs (detection+peaks+Linear at min time 0.05 s,
#                        then the 233 conv rows (ours and cuDNN in fp32/tf32/bf16, ours bf16
#                        forward with BF16 activations,
#                        24 of them the fused inference pool against conv then pool),
#                        at 0.02 s: >= 10 s of timing) so a cap hit in the second keeps the
#                        first's JSON.
#   e2e-train        40  frcnn bench --mode train, 6 iterations after 2 per stage: own and
#                        cuDNN fp32, then the tf32 ones, own bf16 and cuDNN bf16 if the key
#                        exists (each run writes its JSON, so a cap hit keeps those done).
#   memcheck         30  compute-sanitizer memcheck: test_kernels [gpu], then the layer tests
#                        of our own CUDA kernels; uncached allocations (FRCNN_CUDA_CACHING=0)
#                        so that every tensor is its own cudaMalloc.
#   racecheck        30  compute-sanitizer racecheck on small tests of the kernels that use
#                        shared memory (FRCNN_SHARED / dynamic_shared in kernels/*_cuda.cu:
#                        SHARED_MEMORY_OPS below; the plan test checks the list).
#   report           10  scripts/bench_table.py: table.md and the merged JSON into $OUT.
#   total           475  of 480; the pack after each step takes well under a second.
# Not run here: the CPU tests (CI runs them; `ctest -j2` of the 205 took 766 s on the VM,
# the two end-to-end training tests 702 s and 573 s of it, side by side). Measured on the
# VM: --dry-run 6 s; a real run without a GPU 16 s (each GPU step fails or skips at once).
set -uo pipefail
SELF=$(cd "$(dirname "$0")" && pwd)/$(basename "$0")
cd "$(dirname "$SELF")/.." || exit 2

readonly STEPS=(build gpu-tests e2e-inference torchvision kernel-bench e2e-train memcheck racecheck report)
declare -A CAP=([build]=150 [gpu-tests]=60 [e2e-inference]=60 [torchvision]=45 [kernel-bench]=50
                [e2e-train]=40 [memcheck]=30 [racecheck]=30 [report]=10)
declare -A WHAT=(
  [build]="deps, configure, build the 8 targets with -j\$(nproc)"
  [gpu-tests]="ctest -L gpu -j8"
  [e2e-inference]="frcnn bench inference: own/cudnn x fp32/tf32, 300 RoIs"
  [torchvision]="bench/compare_torchvision.py (kernels + FasterRCNN fp32/tf32)"
  [kernel-bench]="frcnn_bench CUDA entries, short"
  [e2e-train]="frcnn bench train: own/cudnn fp32 (tf32 if time)"
  [memcheck]="compute-sanitizer memcheck: kernel tests, own-kernel layer tests"
  [racecheck]="compute-sanitizer racecheck: tests of the shared-memory kernels"
  [report]="bench_table.py: table.md + merged JSON")
# Ops whose CUDA kernels use shared memory, and the tests that run them at small sizes.
readonly SHARED_MEMORY_OPS="anchor_targets conv2d conv2d_mma losses mma_tile nms roi_pool"
readonly RACECHECK_KERNEL_TESTS='[roi_pool][gpu],[anchor_targets][gpu],[kernels][gpu],[mma][gpu],nms: CPU and CUDA visit NaN and infinite scores in the same order,nms: CPU and CUDA decide an IoU on the threshold alike'
readonly RACECHECK_LAYER_TESTS='fixtures: conv2d own CUDA kernels match torch'
readonly MEMCHECK_LAYER_TESTS='grad check: conv2d own CUDA kernels,fixtures: conv2d own CUDA kernels match torch,fixtures: maxpool linear and losses match torch on CUDA,grad check: linear relu maxpool dropout losses on CUDA'
readonly MAX_OUT_FILES=8
readonly SKIP_RC=99  # a step's exit status for "not run here, and why is in its notes"

MODE=full
NO_BENCH=0
STEP=""
while [[ $# -gt 0 ]]; do
  case "$1" in
    --plan) MODE=plan ;;
    --dry-run) MODE=dry-run ;;
    --no-bench) NO_BENCH=1 ;;
    --step) STEP=${2:?--step needs a name}; shift ;;  # internal: run one step (under timeout)
    -h | --help) sed -n '2,13p' "$SELF"; exit 0 ;;
    *) echo "gpu-check: unknown option '$1' (--plan, --dry-run, --no-bench)" >&2; exit 2 ;;
  esac
  shift
done

budget_total() { local t=0 s; for s in "${STEPS[@]}"; do t=$((t + CAP[$s])); done; echo "$t"; }

if [[ $MODE == plan ]]; then
  echo "gpu-check plan: ${#STEPS[@]} steps, caps sum to $(budget_total) s of the ${GPU_CHECK_BUDGET:-480} s budget"
  for s in "${STEPS[@]}"; do
    printf 'step %-14s %4d s  %s\n' "$s" "${CAP[$s]}" "${WHAT[$s]}"
  done
  echo "budget ${GPU_CHECK_BUDGET:-480}"
  echo "out-files max $MAX_OUT_FILES: results.json logs.tar.gz table.md bench-<device>-<date>.json"
  echo "shared-memory-ops $SHARED_MEMORY_OPS"
  echo "sanitize memcheck test_kernels [gpu]"
  echo "sanitize memcheck test_layers $MEMCHECK_LAYER_TESTS"
  echo "sanitize racecheck test_kernels $RACECHECK_KERNEL_TESTS"
  echo "sanitize racecheck test_layers $RACECHECK_LAYER_TESTS"
  exit 0
fi

export OUT=${OUT:-$PWD/out}
BUILD_DIR=${BUILD_DIR:-build-gpu}
mkdir -p "$BUILD_DIR" && BUILD_DIR=$(cd "$BUILD_DIR" && pwd)
export BUILD_DIR
export ARCH=${CMAKE_CUDA_ARCHITECTURES:-90}
WORK=${GPU_CHECK_WORK:-$BUILD_DIR/gpu-check}
mkdir -p "$WORK" && WORK=$(cd "$WORK" && pwd)
export WORK
export LOGS=$WORK/logs RES=$WORK/results
export BIN=$BUILD_DIR/bin
export MODE

# ---- the steps (each runs in its own process: `$0 --step NAME` under timeout) ----------

# Dependencies. The lent machine reaches no registry: scripts/gpu-deps.sh (run beforehand
# here) leaves the Debian packages in .devdebs/; they are unpacked into a private prefix
# (never over /) and the build and the runs use it. Exported before any step runs.
deps_env() {
  EXTRA_CMAKE=""
  if [[ -d .devdebs ]] && compgen -G ".devdebs/*.deb" > /dev/null; then
    export DEPS_PREFIX=/opt/frcnn-deps
    local P=$DEPS_PREFIX A=x86_64-linux-gnu
    local ob="$P/usr/lib/$A/openblas-pthread"
    export CMAKE_PREFIX_PATH="$P/usr${CMAKE_PREFIX_PATH:+:$CMAKE_PREFIX_PATH}"
    export PKG_CONFIG_PATH="$P/usr/lib/$A/pkgconfig:$P/usr/share/pkgconfig"
    export PKG_CONFIG_SYSROOT_DIR="$P"  # the .pc files say /usr; read them as $P/usr
    export CPATH="$P/usr/include:$P/usr/include/$A/openblas-pthread${CPATH:+:$CPATH}"
    export LIBRARY_PATH="$P/usr/lib/$A:$ob${LIBRARY_PATH:+:$LIBRARY_PATH}"
    export LD_LIBRARY_PATH="$P/usr/lib/$A:$ob${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
    EXTRA_CMAKE="-DBLA_VENDOR=OpenBLAS -DBLAS_LIBRARIES=$ob/libopenblas.so"
  fi
  # cuDNN: next to the toolkit where the image has it, else the one PyTorch's wheels carry.
  if [[ ! -f /usr/local/cuda/include/cudnn.h ]] && command -v python3 > /dev/null; then
    local sp h l
    for sp in $(python3 -c 'import site; print(" ".join(site.getsitepackages()))' 2>/dev/null); do
      h=$(compgen -G "$sp/nvidia/*/include/cudnn.h" | head -1)
      l=$(compgen -G "$sp/nvidia/*/lib/libcudnn.so*" | head -1)
      if [[ -n $h && -n $l ]]; then
        EXTRA_CMAKE+=" -DCUDNN_INCLUDE_DIR=$(dirname "$h") -DCUDNN_LIBRARY=$l"
        LD_LIBRARY_PATH="$(dirname "$l")${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
        export LD_LIBRARY_PATH
        break
      fi
    done
  fi
  export EXTRA_CMAKE
}

# The compute-sanitizer binary, or nothing.
sanitizer() {
  local c
  for c in "$(command -v compute-sanitizer 2> /dev/null)" /usr/local/cuda/bin/compute-sanitizer \
    /usr/local/cuda/compute-sanitizer/compute-sanitizer; do
    [[ -n $c && -x $c ]] && { echo "$c"; return; }
  done
}

# The python3 that has torch and torchvision (found without importing them), or nothing.
torch_python() {
  local c
  for c in python3 /usr/bin/python3; do
    command -v "$c" > /dev/null || continue
    "$c" -c 'import importlib.util as u, sys; sys.exit(0 if all(u.find_spec(m) for m in ("torch", "torchvision", "numpy")) else 1)' \
      2> /dev/null && { echo "$c"; return; }
  done
}

note() { echo "$*" >> "$WORK/notes/$STEP"; echo "  $STEP: $*"; }
have_tf32() { "$BIN/frcnn" config -c configs/vgg16_voc07.yaml --set model.precision=tf32 > /dev/null 2>&1; }
have_cudnn() { "$BIN/frcnn" info 2> /dev/null | grep -Eq '^ *cuDNN +[0-9]'; }

# One frcnn bench run: e2e NAME MODE ITERS WARMUP [--set k=v ...]
e2e() {
  local name=$1 mode=$2 iters=$3 warmup=$4
  shift 4
  "$BIN/frcnn" bench -c configs/vgg16_voc07.yaml --device cuda --mode "$mode" --iters "$iters" --warmup "$warmup" \
    --json "$RES/e2e_$name.json" "$@" > "$LOGS/e2e_$name.log" 2>&1
  local rc=$?
  if [[ $rc == 0 ]]; then
    note "e2e $name: $(grep -E '^  (total|fps|rpn|head|joint|CUDA graphs|no graphs) |^ +[0-9]+ thread|^ +[0-9]+ +[0-9.]+ +[0-9.]+ +[0-9.]+ ' "$LOGS/e2e_$name.log" | tr -s ' ' | tr '\n' ';')"
  else
    note "e2e $name: rc $rc: $(tail -1 "$LOGS/e2e_$name.log")"
  fi
  return $rc
}

step_build() {
  if [[ -n ${DEPS_PREFIX:-} ]]; then
    mkdir -p "$DEPS_PREFIX"
    for f in .devdebs/*.deb; do dpkg -x "$f" "$DEPS_PREFIX" || return 1; done
    note "unpacked $(ls .devdebs/*.deb | wc -l) packages from .devdebs into $DEPS_PREFIX"
  else
    # No registry can be reached there: install-deps.sh could only wait for the network.
    note "no .devdebs/ carried: building against what the machine has (run scripts/gpu-deps.sh here first)"
  fi
  nvidia-smi --query-gpu=name,memory.total,driver_version,clocks.max.sm --format=csv > "$LOGS/device.txt" 2>&1
  # shellcheck disable=SC2086
  cmake -S . -B "$BUILD_DIR" -G Ninja -DFRCNN_CUDA=ON -DCMAKE_CUDA_ARCHITECTURES="$ARCH" -DCMAKE_BUILD_TYPE=Release \
    $EXTRA_CMAKE > "$LOGS/configure.log" 2>&1 || { note "configure failed: $(tail -3 "$LOGS/configure.log" | tr '\n' ' ')"; return 1; }
  note "$(grep -m1 'frcnn: CUDA backend' "$LOGS/configure.log" | sed 's/^-- //')"
  CCACHE_DISABLE=1 cmake --build "$BUILD_DIR" -j "$(nproc)" --target frcnn frcnn_bench test_engine test_kernels \
    test_layers test_data test_train test_apps > "$LOGS/build.log" 2>&1 ||
    { note "build failed: $(grep -m1 -E 'error|Error' "$LOGS/build.log")"; return 1; }
  "$BIN/frcnn" info > "$LOGS/info.txt" 2>&1
  note "$(grep -E 'GPU 0|cuDNN ' "$LOGS/info.txt" | tr -s ' ' | tr '\n' ';')"
}

step_gpu-tests() {
  (cd "$BUILD_DIR" && OPENBLAS_NUM_THREADS=2 ctest -L gpu -j 8 --timeout 120 --output-on-failure) \
    > "$LOGS/ctest-gpu.log" 2>&1
  local rc=$?
  if grep -q "No tests were found" "$LOGS/ctest-gpu.log"; then
    note "no test carries the label gpu (tests/CMakeLists.txt)"
    return 1
  fi
  note "$(grep -E 'tests passed|tests failed' "$LOGS/ctest-gpu.log" | tail -1)"
  local skipped total
  skipped=$(grep -c -- '\*\*\*Skipped' "$LOGS/ctest-gpu.log")
  total=$(grep -cE '^ *[0-9]+/[0-9]+ Test +#' "$LOGS/ctest-gpu.log")
  [[ $skipped -gt 0 ]] && note "$skipped skipped: $(grep -- '\*\*\*Skipped' "$LOGS/ctest-gpu.log" | sed -E 's/.*Test +#[0-9]+: //; s/ \.+.*//' | tr '\n' ';')"
  if [[ $total -gt 0 && $skipped == "$total" ]]; then
    note "every GPU test skipped: the tests saw no GPU"
    return 1
  fi
  return $rc
}

step_e2e-inference() {
  local rc=0 cudnn=0 tf32=0
  have_cudnn && cudnn=1 || note "no cuDNN in this build: cuDNN rows skipped"
  have_tf32 && tf32=1 || note "this config has no model.precision key: tf32 / bf16 rows skipped"
  e2e own_fp32 inference 20 3 || rc=1
  [[ $cudnn == 1 ]] && { e2e cudnn_fp32 inference 20 3 --set model.backbone.conv_backend=cudnn || rc=1; }
  # The goal row (tf32, our kernels) also times batches of 2, 4 and 8 images per call.
  [[ $tf32 == 1 ]] && { e2e own_tf32 inference 20 3 --set model.precision=tf32 --batch 2,4,8 || rc=1; }
  [[ $tf32 == 1 && $cudnn == 1 ]] &&
    { e2e cudnn_tf32 inference 20 3 --set model.backbone.conv_backend=cudnn --set model.precision=tf32 || rc=1; }
  [[ $tf32 == 1 ]] && { e2e own_bf16 inference 20 3 --set model.precision=bf16 || rc=1; }
  # Random weights leave far fewer than 300 proposals after NMS 0.7: the region-wise phase
  # on the paper's 300 RoIs comes from a run without proposal suppression (docs/BENCHMARKS.md).
  e2e own_fp32_300rois inference 20 3 --set model.rpn.nms=1.0 || rc=1
  # Last (first to go when the cap is hit): cuDNN in bf16 (BF16 tensors, FLOAT compute).
  [[ $tf32 == 1 && $cudnn == 1 ]] &&
    { e2e cudnn_bf16 inference 20 3 --set model.backbone.conv_backend=cudnn --set model.precision=bf16 || rc=1; }
  return $rc
}

step_torchvision() {
  local py
  py=$(torch_python)
  if [[ -z $py ]]; then
    note "no python3 with torch, torchvision and numpy: torchvision side-by-side skipped"
    return $SKIP_RC
  fi
  PYTHONUNBUFFERED=1 "$py" bench/compare_torchvision.py --out "$RES" --device cuda --iters 20 --warmup 3 \
    > "$LOGS/torchvision.log" 2>&1
  local rc=$?
  note "$py: rc $rc; $(grep -E 'FasterRCNN' "$LOGS/torchvision.log" | tr '\n' ';')"
  return $rc
}

step_kernel-bench() {
  local rc=0 part
  if [[ -f $RES/bench_inputs.safetensors ]]; then
    export FRCNN_BENCH_INPUTS=$RES/bench_inputs.safetensors
  else
    unset FRCNN_BENCH_INPUTS
    note "no torchvision inputs: NMS / RoI-pool entries time their own random tensors"
  fi
  # Two runs, each writing its JSON when it ends, so a cap hit in the second keeps the first.
  for part in "detection:-[Cc]pu|cblas|conv_cuda" "conv:conv_cuda"; do
    local min_time=0.05
    [[ ${part%%:*} == conv ]] && min_time=0.02
    "$BIN/frcnn_bench" --benchmark_filter="${part#*:}" --benchmark_min_time=$min_time --benchmark_repetitions=3 \
      --benchmark_report_aggregates_only=true --benchmark_out="$RES/kernels_${part%%:*}.json" \
      --benchmark_out_format=json > "$LOGS/kernels_${part%%:*}.log" 2>&1 || rc=1
    local medians errors
    medians=$(grep -c _median "$LOGS/kernels_${part%%:*}.log")
    errors=$(grep -c 'ERROR OCCURRED' "$LOGS/kernels_${part%%:*}.log")
    note "${part%%:*}: $medians medians, $errors runs with errors$([[ $errors -gt 0 ]] && grep -m1 -o "ERROR OCCURRED.*" "$LOGS/kernels_${part%%:*}.log" | sed 's/^/, first: /')"
    [[ $medians -gt 0 ]] || rc=1
  done
  return $rc
}

step_e2e-train() {
  local rc=0 cudnn=0 tf32=0
  have_cudnn && cudnn=1
  have_tf32 && tf32=1
  e2e train_own_fp32 train 6 2 || rc=1
  [[ $cudnn == 1 ]] && { e2e train_cudnn_fp32 train 6 2 --set model.backbone.conv_backend=cudnn || rc=1; }
  [[ $tf32 == 1 ]] && { e2e train_own_tf32 train 6 2 --set model.precision=tf32 || rc=1; }
  [[ $tf32 == 1 && $cudnn == 1 ]] &&
    { e2e train_cudnn_tf32 train 6 2 --set model.backbone.conv_backend=cudnn --set model.precision=tf32 || rc=1; }
  [[ $tf32 == 1 ]] && { e2e train_own_bf16 train 6 2 --set model.precision=bf16 || rc=1; }
  [[ $tf32 == 1 && $cudnn == 1 ]] &&
    { e2e train_cudnn_bf16 train 6 2 --set model.backbone.conv_backend=cudnn --set model.precision=bf16 || rc=1; }
  return $rc
}

# sanitize TOOL LOGNAME BINARY SPEC
sanitize() {
  local cs=$1 tool=$2 name=$3 bin=$4 spec=$5
  (cd "$BUILD_DIR" && FRCNN_CUDA_CACHING=0 OPENBLAS_NUM_THREADS=4 "$cs" --tool "$tool" --error-exitcode 86 \
    --print-limit 50 "$bin" "$spec") > "$LOGS/$name.log" 2>&1
  local rc=$?
  if grep -q "Device not supported" "$LOGS/$name.log"; then
    note "$name: compute-sanitizer does not support this device here"
    return $SKIP_RC
  fi
  note "$name: rc $rc; $(grep -E '(ERROR|RACECHECK|LEAK) SUMMARY|test cases' "$LOGS/$name.log" | tr '\n' ';')"
  return $rc
}

# One compute-sanitizer tool over a kernel-test spec, then a layer-test spec.
sanitize_step() {  # tool kernel_spec layer_spec
  local tool=$1 cs rc=0
  cs=$(sanitizer)
  [[ -z $cs ]] && { note "compute-sanitizer not found: $tool skipped"; return $SKIP_RC; }
  sanitize "$cs" "$tool" "${tool}_kernels" "$BUILD_DIR/tests/test_kernels" "$2"
  rc=$?
  [[ $rc == "$SKIP_RC" ]] && return $rc
  sanitize "$cs" "$tool" "${tool}_layers" "$BUILD_DIR/tests/test_layers" "$3" || rc=1
  return $rc
}

step_memcheck() { sanitize_step memcheck "[gpu]" "$MEMCHECK_LAYER_TESTS"; }
step_racecheck() { sanitize_step racecheck "$RACECHECK_KERNEL_TESTS" "$RACECHECK_LAYER_TESTS"; }

step_report() {
  # The kernel suite ran in parts: one Google Benchmark document of all their entries.
  python3 - "$RES" << 'EOF' || return 1
import glob, json, os, sys
res = sys.argv[1]
parts = sorted(glob.glob(os.path.join(res, "kernels_*.json")))
if parts:
    docs = [json.load(open(p)) for p in parts]
    merged = dict(docs[0], benchmarks=[b for d in docs for b in d.get("benchmarks", [])])
    json.dump(merged, open(os.path.join(res, "kernels.json"), "w"), indent=1)
EOF
  local dev slug
  dev=$(nvidia-smi --query-gpu=name --format=csv,noheader 2> /dev/null | head -1)
  slug=$(echo "${dev:-gpu}" | tr '[:upper:]' '[:lower:]' | sed -E 's/[^a-z0-9]+/-/g; s/^-|-$//g')
  python3 scripts/bench_table.py --kernels "$RES/kernels.json" --torchvision "$RES/torchvision.json" \
    --e2e "$RES"/e2e_*.json --md "$OUT/table.md" --merged "$OUT/bench-$slug-$(date -u +%Y-%m-%d).json" \
    > "$LOGS/report.log" 2>&1
}

# --dry-run: the same orchestration, each step a trivial command (GPU_CHECK_DRY_HANG=STEP
# makes that step hang instead, to show that its cap stops it and the rest still runs).
dry_step() {
  if [[ ${GPU_CHECK_DRY_HANG:-} == "$STEP" ]]; then
    note "dry run: hanging on purpose"
    # A grandchild, as a real step's compiler or test would be: the cap must stop it too.
    bash -c 'sleep 4 && touch "$WORK/hang-survived-its-cap"'
    sleep 600
  fi
  echo "dry run of $STEP: ${WHAT[$STEP]}" > "$LOGS/$STEP.log"
  note "dry run: ${WHAT[$STEP]}"
  case $STEP in
    e2e-inference) echo '{"config": "dry-run"}' > "$RES/e2e_dry.json" ;;
    report)
      echo "| dry run |" > "$OUT/table.md"
      echo '{"dry_run": true}' > "$OUT/bench-dry-run-$(date -u +%Y-%m-%d).json" ;;
  esac
}

if [[ -n $STEP ]]; then  # a child: one step
  mkdir -p "$LOGS" "$RES" "$WORK/notes"
  if [[ $MODE == dry-run ]]; then dry_step; else "step_$STEP"; fi
  exit $?
fi

# ---- the orchestration -------------------------------------------------------------------

BUDGET=${GPU_CHECK_BUDGET:-480}
KILL_GRACE=5
if [[ $MODE == dry-run ]]; then
  # Every cap scaled down so the whole dry run takes seconds.
  for s in "${STEPS[@]}"; do CAP[$s]=${GPU_CHECK_DRY_CAP:-3}; done
  BUDGET=${GPU_CHECK_BUDGET:-60}
  KILL_GRACE=1
fi
mkdir -p "$OUT"
rm -rf "$LOGS" "$RES" "$WORK/notes"
mkdir -p "$LOGS" "$RES" "$WORK/notes"
[[ $MODE == full ]] && deps_env
T0=$(date +%s.%N)
now() { awk -v a="$(date +%s.%N)" -v b="$T0" 'BEGIN { printf "%.1f", a - b }'; }
json_str() { printf '"%s"' "$(printf '%s' "$1" | tr '\n\t\r' '   ' | tr -d '\000-\037' | sed 's/\\/\\\\/g; s/"/\\"/g')"; }

declare -A STATUS=() SECS=() RC=()
write_results() {
  local s first=1 f
  {
    echo "{"
    echo "  \"script\": \"scripts/gpu-check.sh\","
    echo "  \"mode\": \"$MODE\","
    echo "  \"date\": \"$(date -u +%Y-%m-%dT%H:%M:%SZ)\","
    echo "  \"commit\": $(json_str "${GPU_CHECK_COMMIT:-$(git rev-parse --short HEAD 2> /dev/null || echo unknown)}"),"
    echo "  \"gpu\": $(json_str "$(head -2 "$LOGS/device.txt" 2> /dev/null | tail -1)"),"
    echo "  \"budget_s\": $BUDGET,"
    echo "  \"elapsed_s\": $(now),"
    echo "  \"steps\": ["
    for s in "${STEPS[@]}"; do
      [[ $first == 1 ]] || echo ","
      first=0
      printf '    {"name": "%s", "budget_s": %s, "status": "%s", "rc": %s, "seconds": %s, "notes": %s}' \
        "$s" "${CAP[$s]}" "${STATUS[$s]:-pending}" "${RC[$s]:-null}" "${SECS[$s]:-null}" \
        "$(json_str "$(cat "$WORK/notes/$s" 2> /dev/null)")"
    done
    echo ""
    echo "  ],"
    printf '  "out_files": ["results.json"'
    for f in "$OUT"/*; do
      [[ -f $f && $(basename "$f") != results.json ]] && printf ', "%s"' "$(basename "$f")"
    done
    echo "]"
    echo "}"
  } > "$WORK/results.json.tmp" && mv -f "$WORK/results.json.tmp" "$OUT/results.json"
}
pack() {
  cp -f "$OUT/results.json" "$LOGS/results.json" 2> /dev/null
  # The device tool returns files of at most 16 MiB: a runaway log keeps its first 1 MiB
  # and its last 2 MiB.
  local f
  while IFS= read -r f; do
    { head -c 1048576 "$f"; printf '\n[... cut by gpu-check.sh ...]\n'; tail -c 2097152 "$f"; } > "$f.cut" &&
      mv -f "$f.cut" "$f"
  done < <(find "$LOGS" -type f -size +4M)
  tar -czf "$WORK/logs.tar.gz.tmp" -C "$WORK" --exclude='*.safetensors' logs results notes 2> /dev/null
  local rc=$?
  # GNU tar exits 1 when a file changed while it was read (a log a stopped step's child is
  # still writing); the archive is complete otherwise, so it replaces the previous one.
  ((rc <= 1)) && mv -f "$WORK/logs.tar.gz.tmp" "$OUT/logs.tar.gz"
}

echo "gpu-check ($MODE): ${#STEPS[@]} steps, budget $BUDGET s, out $OUT"
overall=0
for s in "${STEPS[@]}"; do
  if [[ $NO_BENCH == 1 && $s =~ ^(e2e-|torchvision|kernel-bench|report) ]]; then
    STATUS[$s]=skipped
    echo "skipped by --no-bench" > "$WORK/notes/$s"
    continue
  fi
  left=$(awk -v b="$BUDGET" -v e="$(now)" 'BEGIN { printf "%d", b - e - 2 }')  # 2 s kept for the last pack
  cap=${CAP[$s]}
  if [[ $cap -gt $((left - KILL_GRACE)) ]]; then cap=$((left - KILL_GRACE)); fi
  if [[ $cap -lt 1 ]]; then
    STATUS[$s]=skipped
    echo "no time left in the $BUDGET s budget" > "$WORK/notes/$s"
    echo "[$(now) s] $s: skipped, the budget is spent"
    overall=1
    write_results
    continue
  fi
  [[ $cap -lt ${CAP[$s]} ]] && echo "cap cut to $cap s (the budget)" >> "$WORK/notes/$s"
  echo "[$(now) s] $s (cap $cap s): ${WHAT[$s]}"
  t=$(date +%s.%N)
  child=("$SELF" --step "$s")
  [[ $MODE == dry-run ]] && child+=(--dry-run)
  timeout -k "$KILL_GRACE" "$cap" "${child[@]}"
  rc=$?
  SECS[$s]=$(awk -v a="$(date +%s.%N)" -v b="$t" 'BEGIN { printf "%.1f", a - b }')
  RC[$s]=$rc
  case $rc in
    0) STATUS[$s]=ok ;;
    "$SKIP_RC") STATUS[$s]=skipped ;;
    124 | 137) STATUS[$s]=timeout; overall=1; echo "hit its cap of $cap s" >> "$WORK/notes/$s" ;;
    *) STATUS[$s]=failed; overall=1 ;;
  esac
  echo "[$(now) s] $s: ${STATUS[$s]} (rc $rc, ${SECS[$s]} s)"
  write_results
  pack
done

n=$(find "$OUT" -type f | wc -l)
echo "gpu-check: done in $(now) s of $BUDGET s; $n files in $OUT (at most $MAX_OUT_FILES)"
if [[ $n -gt $MAX_OUT_FILES ]]; then
  echo "gpu-check: $OUT holds $n files, more than the $MAX_OUT_FILES the device tool returns:"
  find "$OUT" -type f | sed 's/^/  /'
  overall=2
fi
for s in "${STEPS[@]}"; do printf '  %-14s %-8s %6s s  %s\n' "$s" "${STATUS[$s]:-pending}" "${SECS[$s]:--}" \
  "$(head -c 160 "$WORK/notes/$s" 2> /dev/null | tr '\n' ' ')"; done
exit $overall
