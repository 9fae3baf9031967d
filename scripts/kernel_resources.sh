#!/usr/bin/env bash
# Registers, shared memory, stack and spills of every __global__ kernel of ours, as ptxas
# reports them (nvcc -Xptxas -v), one markdown row per kernel: what decides occupancy, and
# what a GPU-less machine can say about a kernel before one runs it (docs/BENCHMARKS.md).
#
#   scripts/kernel_resources.sh [ARCH] [FILE.cu ...]   ARCH default 90 (sm_90); files default: every .cu
#
# Needs nvcc (the CUDA toolkit) and c++filt; CUB's and Thrust's own kernels are left out.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
arch=${1:-90}
shift || true
files=("$@")
((${#files[@]})) || mapfile -t files < <(ls engine/*.cu kernels/*.cu layers/*.cu 2>/dev/null)
nvcc=${NVCC:-$(command -v nvcc || echo /usr/local/cuda/bin/nvcc)}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
echo "| file | kernel | registers | shared memory (static, bytes) | stack (bytes) | spill stores / loads (bytes) |"
echo "| --- | --- | --- | --- | --- | --- |"
for f in "${files[@]}"; do
  "$nvcc" -arch="sm_$arch" -std=c++17 --expt-relaxed-constexpr -O3 -I. -DFRCNN_WITH_CUDA=1 -DFRCNN_CUDA_EMULATION=0 \
    -DFRCNN_SYNC_LAUNCHES=0 -Xptxas -v -c "$f" -o "$tmp/k.o" > "$tmp/log" 2>&1 || { cat "$tmp/log" >&2; exit 1; }
  # ptxas prints, per entry: "Compiling entry function 'MANGLED'", then the stack/spill line, then "Used N registers ...".
  awk -v file="$f" '
    /Compiling entry function/ { match($0, /'"'"'[^'"'"']+'"'"'/); name = substr($0, RSTART + 1, RLENGTH - 2); next }
    /bytes stack frame/ { stack = $1; st = $5; ld = $9; next }
    /Used [0-9]+ registers/ {
      regs = $0; sub(/.*Used /, "", regs); sub(/ registers.*/, "", regs)
      smem = 0; if (match($0, /[0-9]+ bytes smem/)) { smem = substr($0, RSTART, RLENGTH); sub(/ bytes smem/, "", smem) }
      print file "\t" name "\t" regs "\t" smem "\t" stack "\t" st " / " ld
    }' "$tmp/log" | while IFS=$'\t' read -r file name regs smem stack spill; do
    pretty=$(c++filt "$name")
    case "$pretty" in cub::* | thrust::* | void\ cub::* | void\ thrust::*) continue ;; esac
    pretty=${pretty//\(anonymous namespace\)::/}
    pretty=${pretty%%(*}                       # drop the parameter list
    pretty=${pretty#void }
    echo "| \`$file\` | \`$pretty\` | $regs | $smem | $stack | $spill |"
  done
done
