#!/usr/bin/env bash
# The one command for a lent GPU machine (the `device` tool), run from the repo root:
# builds for the GPU found (or CMAKE_CUDA_ARCHITECTURES), runs every test including the
# GPU ones, runs the benchmarks when built, and writes logs under $OUT (or ./out).
#   scripts/gpu-check.sh [--no-bench]
set -uo pipefail
OUT=${OUT:-$PWD/out}
mkdir -p "$OUT"
BUILD_DIR=${BUILD_DIR:-build-gpu}
ARCH=${CMAKE_CUDA_ARCHITECTURES:-90}
status=0

{
  echo "date: $(date -u +%Y-%m-%dT%H:%M:%SZ)"
  nvidia-smi --query-gpu=name,memory.total,driver_version,clocks.max.sm --format=csv 2>&1 || true
} | tee "$OUT/device.txt"

scripts/install-deps.sh > "$OUT/install.log" 2>&1 || { echo "install-deps failed"; tail "$OUT/install.log"; }
cmake -S . -B "$BUILD_DIR" -G Ninja -DFRCNN_CUDA=ON -DCMAKE_CUDA_ARCHITECTURES="$ARCH" > "$OUT/configure.log" 2>&1 \
  && cmake --build "$BUILD_DIR" -j "$(nproc)" > "$OUT/build.log" 2>&1 || { echo "BUILD FAILED"; tail -40 "$OUT/build.log"; exit 1; }
"$BUILD_DIR/bin/frcnn" info | tee "$OUT/info.txt"

(cd "$BUILD_DIR" && ctest --output-on-failure -j 4) > "$OUT/ctest.log" 2>&1 || status=1
grep -E "tests passed|tests failed|Skipped|Failed" "$OUT/ctest.log" | tail -20

if [[ "${1:-}" != "--no-bench" && -x scripts/bench-all.sh ]]; then
  BUILD_DIR="$BUILD_DIR" scripts/bench-all.sh "$OUT" || status=1
fi
exit $status
