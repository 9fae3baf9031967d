#!/usr/bin/env bash
# Mutation check of the emulated GPU suite: plants one known device-code bug at a time
# (a missing barrier, an off-by-one load, an early return before a barrier, shared
# memory left uninitialised, a host read of device memory, ...), rebuilds the emulated
# test binaries, runs the GPU tests that cover the op under the three schedules, and
# reports whether the suite caught it. Every mutant must be caught, but for the ones marked
# with why the emulation cannot see them (docs/EMULATION.md); the source file is restored
# after each one (and on exit).
#
#   scripts/emu-mutants.sh [EMU_BUILD_DIR [NAME_REGEX]]
#     EMU_BUILD_DIR  default build-emu (configured by make build-emu)
#     NAME_REGEX     only the mutants whose name matches (grep -E), e.g. 'nms|roipool' 
#
# Takes about a minute per mutant on 2 cores. Not part of make test: it rebuilds.
set -uo pipefail
cd "$(dirname "$0")/.."
B=${1:-build-emu}
ONLY=${2:-}
[[ -f $B/CMakeCache.txt ]] || { echo "emu-mutants: configure $B first (make build-emu)" >&2; exit 2; }

# name | file | text to find (\n = newline) | replacement | test binary | Catch filter [| expected miss: why]
MUTANTS=(
  "conv-no-first-barrier|kernels/conv2d_cuda.cu|    sstore(0);\n    __syncthreads();|    sstore(0);|test_layers|conv2d: CPU vs own CUDA*"
  "conv-no-loop-barrier|kernels/conv2d_cuda.cu|      if (has_next) sstore(buf ^ 1);\n      __syncthreads();|      if (has_next) sstore(buf ^ 1);|test_layers|conv2d: CPU vs own CUDA*"
  "conv-bias-reduce-no-barrier|kernels/conv2d_cuda.cu|    if (threadIdx.x < st) sm[threadIdx.x] += sm[threadIdx.x + st];\n    __syncthreads();|    if (threadIdx.x < st) sm[threadIdx.x] += sm[threadIdx.x + st];|test_layers|conv2d: CPU vs own CUDA*"
  "conv-b-loader-off-by-one|kernels/conv2d_cuda.cu|rb[i] = kb < kend ? p.load_b(bcol, kb) : 0.f;|rb[i] = kb <= kend ? p.load_b(bcol, kb) : 0.f;|test_layers|conv2d: CPU vs own CUDA*"
  "mma-waits-one-group-short|kernels/conv2d_mma_cuda.cu|    ptx::cp_async_wait<kStages - 2>();|    ptx::cp_async_wait<kStages - 1>();|test_kernels|conv2d precision: CUDA tensor-core passes*"
  "mma-no-slice-barrier|kernels/conv2d_mma_cuda.cu|    __syncthreads();                    // everyone's have|    // everyone's have|test_kernels|conv2d precision: CUDA tensor-core passes*"
  "mma-epilogue-no-barrier|kernels/conv2d_mma_cuda.cu|  __syncthreads();\n  const auto cc = p.c_col(n0 + li);|  const auto cc = p.c_col(n0 + li);|test_kernels|conv2d precision: CUDA tensor-core passes*"
  "mma-b-layout-mismatch|kernels/conv2d_mma_cuda.cu|      b[t][1] = ptx::cvt_tf32(s[b_at<kBShift>(ks + tig + 4, nb + 8 * t + group)]);|      b[t][1] = ptx::cvt_tf32(s[b_at<kBShift>(ks + tig + 4, nb + 8 * t + (group ^ 1))]);|test_kernels|conv2d precision: CUDA tensor-core passes*"
  "mma-a-ldmatrix-matrices-swapped|kernels/conv2d_mma_cuda.cu|a_at(mb + lane % 8 + 8 * (j % 2), ks + 4 * (j / 2))|a_at(mb + lane % 8 + 8 * (j / 2), ks + 4 * (j % 2))|test_kernels|conv2d precision: CUDA tensor-core passes*"
  "mma-bf16-x-drops-last-k|kernels/conv2d_mma_cuda.cu|          bs[b_at<Ops::kBShift>(kk, li)] = k < kend ? p.load_b(bcol, k) : 0.f;|          bs[b_at<Ops::kBShift>(kk, li)] = k + 1 < kend ? p.load_b(bcol, k) : 0.f;|test_kernels|conv2d bf16 activations*"
  "conv-bf16-pool-cas-no-retry|kernels/conv2d_problems.cuh|    if (old == assumed) return;|    return;|test_kernels|conv2d bf16 activations*"
  "nms-scan-no-barrier|kernels/nms_cuda.cu|      n_kept_blk = cnt;\n    }\n    __syncthreads();|      n_kept_blk = cnt;\n    }|test_kernels|nms: CPU and CUDA*"
  "nms-mask-oob-read|kernels/nms_cuda.cu|  if (t < col_size) {|  if (t <= col_size) {|test_kernels|nms: CPU and CUDA*"
  "nms-removed-uninit|kernels/nms_cuda.cu|  for (int w = threadIdx.x; w < nblk; w += blockDim.x) removed[w] = 0;|  for (int w = threadIdx.x + 1; w < nblk; w += blockDim.x) removed[w] = 0;|test_kernels|nms: CPU and CUDA*"
  "roipool-bwd-no-chunk-barrier|kernels/roi_pool_cuda.cu|    const int cnt = min(kRoiChunk, R - base);\n    __syncthreads();|    const int cnt = min(kRoiChunk, R - base);|test_kernels|roi_pool: CPU and CUDA*"
  "roipool-bwd-early-return|kernels/roi_pool_cuda.cu|    if (!active) continue;|    if (!active) return;|test_kernels|roi_pool: CPU and CUDA*"
  "anchors-gtmax-no-barrier|kernels/anchor_targets_cuda.cu|    if (threadIdx.x < s) red[threadIdx.x] = fmaxf(red[threadIdx.x], red[threadIdx.x + s]);\n    __syncthreads();|    if (threadIdx.x < s) red[threadIdx.x] = fmaxf(red[threadIdx.x], red[threadIdx.x + s]);|test_kernels|anchor_targets: CPU and CUDA*"
  "losses-reduce-no-barrier|kernels/losses_cuda.cu|      sb[threadIdx.x] += sb[threadIdx.x + s];\n    }\n    __syncthreads();|      sb[threadIdx.x] += sb[threadIdx.x + s];\n    }|test_kernels|dense ops: CPU vs CUDA parity"
  "host-reads-device-count|kernels/cuda_util.cuh|  int32_t h = 0;\n  CUDA_CHECK(cudaMemcpyAsync(&h, count_dev, sizeof(int32_t), cudaMemcpyDeviceToHost, cuda_stream(stream)));|  int32_t h = *count_dev;|test_kernels|nms: CPU and CUDA*"
  "proposals-count-not-atomic|kernels/proposals_cuda.cu|    if (ok) atomicAdd(n_valid, 1);|    if (ok) *n_valid += 1;|test_kernels|proposals: CPU and CUDA*|blocks and their threads never run at the same time here, so a non-atomic global counter still counts right"
)

backup=""
target=""
restore() {
  if [[ -n $backup && -f $backup ]]; then cp "$backup" "$target" && rm -f "$backup"; fi
  backup=""
}
trap restore EXIT

caught=0
total=0
expected_misses=0
for m in "${MUTANTS[@]}"; do
  IFS='|' read -r name file find repl binary filter expected <<<"$m"
  if [[ -n $ONLY ]] && ! grep -qE "$ONLY" <<<"$name"; then continue; fi
  total=$((total + 1))
  target=$file
  backup=$(mktemp)
  cp "$file" "$backup"
  if ! python3 - "$file" "$find" "$repl" <<'EOF'; then
import sys
path, find, repl = sys.argv[1:]
find, repl = find.replace("\\n", "\n"), repl.replace("\\n", "\n")
t = open(path).read()
if t.count(find) != 1:
    sys.exit("pattern found %d times" % t.count(find))
open(path, "w").write(t.replace(find, repl))
EOF
    echo "MUTANT $name: its pattern is no longer in $file (update scripts/emu-mutants.sh)"
    restore
    continue
  fi
  if ! cmake --build "$B" --target "$binary" >/tmp/emu-mutant-build.log 2>&1; then
    echo "CAUGHT  $name: does not compile"
    caught=$((caught + 1))
    restore
    continue
  fi
  why=""
  for sched in forward reverse random:20261201; do
    out=$(FRCNN_EMU_SCHEDULE=$sched timeout 600 "$B/tests/$binary" "$filter" 2>&1)
    if [[ $? -ne 0 ]]; then
      why="$sched schedule: $(echo "$out" | grep -m1 -E "\[cuda-emu\]|AddressSanitizer|runtime error|FAILED|SIGSEGV" | cut -c1-140)"
      break
    fi
  done
  if [[ -n $why ]]; then
    caught=$((caught + 1))
    echo "CAUGHT  $name ($why)"
  elif [[ -n $expected ]]; then
    expected_misses=$((expected_misses + 1))
    echo "MISSED  $name, as expected: $expected"
  else
    echo "MISSED  $name"
  fi
  restore
done
echo "rebuilding the unmutated test binaries"
cmake --build "$B" >/dev/null 2>&1
echo "$caught of $total mutants caught ($expected_misses missed as expected)"
[[ $((caught + expected_misses)) -eq $total ]]
