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

# Dependencies. The lent machine cannot reach any registry: scripts/gpu-deps.sh (run
# beforehand on the dev machine) leaves the Debian packages in .devdebs/, carried with the
# call; they are unpacked into a private prefix (never over /) and the build uses it.
extra_cmake=()
if [[ -d .devdebs ]] && compgen -G ".devdebs/*.deb" > /dev/null; then
  P=/opt/frcnn-deps
  mkdir -p "$P"
  for f in .devdebs/*.deb; do dpkg -x "$f" "$P"; done
  A=x86_64-linux-gnu
  ob="$P/usr/lib/$A/openblas-pthread"
  export CMAKE_PREFIX_PATH="$P/usr${CMAKE_PREFIX_PATH:+:$CMAKE_PREFIX_PATH}"
  export PKG_CONFIG_PATH="$P/usr/lib/$A/pkgconfig:$P/usr/share/pkgconfig"
  export PKG_CONFIG_SYSROOT_DIR="$P"  # the .pc files say /usr; read them as $P/usr
  export CPATH="$P/usr/include:$P/usr/include/$A/openblas-pthread${CPATH:+:$CPATH}"
  export LIBRARY_PATH="$P/usr/lib/$A:$ob${LIBRARY_PATH:+:$LIBRARY_PATH}"
  export LD_LIBRARY_PATH="$P/usr/lib/$A:$ob${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
  extra_cmake=(-DBLA_VENDOR=OpenBLAS "-DBLAS_LIBRARIES=$ob/libopenblas.so")
  echo "dependencies: unpacked $(ls .devdebs/*.deb | wc -l) packages from .devdebs into $P"
else
  scripts/install-deps.sh > "$OUT/install.log" 2>&1 || { echo "install-deps failed (no .devdebs carried?)"; tail "$OUT/install.log"; }
fi
cmake -S . -B "$BUILD_DIR" -G Ninja -DFRCNN_CUDA=ON -DCMAKE_CUDA_ARCHITECTURES="$ARCH" "${extra_cmake[@]}" \
  > "$OUT/configure.log" 2>&1 || { echo "CONFIGURE FAILED"; tail -40 "$OUT/configure.log"; exit 1; }
cmake --build "$BUILD_DIR" -j "$(nproc)" > "$OUT/build.log" 2>&1 || { echo "BUILD FAILED"; tail -40 "$OUT/build.log"; exit 1; }
"$BUILD_DIR/bin/frcnn" info | tee "$OUT/info.txt"

(cd "$BUILD_DIR" && ctest --output-on-failure -j 4) > "$OUT/ctest.log" 2>&1 || status=1
grep -E "tests passed|tests failed|Skipped|Failed" "$OUT/ctest.log" | tail -20

if [[ "${1:-}" != "--no-bench" && -x scripts/bench-all.sh ]]; then
  BUILD_DIR="$BUILD_DIR" scripts/bench-all.sh "$OUT" || status=1
fi
exit $status
