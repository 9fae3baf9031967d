#!/usr/bin/env bash
# Installs every Debian package the build, the tests and the demo need. Idempotent:
# packages already installed are skipped, and apt is not touched when nothing is missing.
# Uses sudo when not root. Debian's packages only; nothing else is downloaded.
#
#   scripts/install-deps.sh            build + test + demo dependencies
#   scripts/install-deps.sh --fixtures also python3-torch/torchvision, to regenerate the
#                                      golden test fixtures (tests/fixtures/*); CI never needs it
set -euo pipefail

pkgs=(
  build-essential cmake ninja-build pkg-config ccache
  catch2                # tests (Catch2 v2)
  libbenchmark-dev      # bench/ (Google Benchmark)
  libcli11-dev          # the frcnn command line
  nlohmann-json3-dev    # safetensors headers, JSON outputs
  libyaml-cpp-dev       # configs
  libtinyxml2-dev       # VOC annotations
  libstb-dev            # JPEG/PNG decode and encode
  libturbojpeg0-dev     # fast JPEG decode (libjpeg-turbo's TurboJPEG API; stb_image stays the fallback)
  libopenblas-dev       # CPU GEMM (Linear, the reference conv's im2col GEMM); cuBLAS on the emulated GPU
  libdnnl-dev           # oneDNN: the CPU convolution (im2col + OpenBLAS stays the reference)
  ocl-icd-opencl-dev    # OpenCL headers and loader: oneDNN's CMake package requires them (unused by us)
  libboost-context-dev  # the emulated GPU's CUDA threads are Boost.Context fibers (emu/)
  clang                 # the fuzz targets (tests/fuzz, scripts/fuzz.sh): libFuzzer is clang's
  libclang-rt-14-dev    # libclang_rt.fuzzer/asan/ubsan-x86_64.a (`dpkg -S libclang_rt.fuzzer-x86_64.a`)
  python3 python3-numpy # scripts (weight conversion, plots)
)
if [[ "${1:-}" == "--fixtures" ]]; then
  pkgs+=(python3-torch python3-torchvision)
fi

missing=()
for p in "${pkgs[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if ((${#missing[@]} == 0)); then
  echo "install-deps: all ${#pkgs[@]} packages present"
else
  echo "install-deps: installing ${missing[*]}"
  SUDO=""
  if [[ $(id -u) -ne 0 ]]; then SUDO="sudo"; fi
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -q
  $SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

# The CUDA toolkit is not a Debian package here: it is part of the machine image
# (/usr/local/cuda). Without it the build falls back to the CPU path (FRCNN_CUDA=AUTO).
if ! command -v nvcc >/dev/null 2>&1 && [[ ! -x /usr/local/cuda/bin/nvcc ]]; then
  echo "install-deps: note: nvcc not found; the CUDA backend will not be built"
fi
