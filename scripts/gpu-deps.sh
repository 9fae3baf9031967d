#!/usr/bin/env bash
# Run HERE (a machine with Debian's package registry) before using the lent GPU machine:
# that machine has nvcc, CMake and ninja but none of our Debian -dev packages, and nothing
# can be fetched there. This downloads them as .deb files into .devdebs/ (ignored by git,
# about 14 MB); carry that folder with the device call, and scripts/gpu-check.sh unpacks
# them into a private prefix there (/opt/frcnn-deps, never over /) and builds against it:
#
#   scripts/gpu-deps.sh
#   device run, carry [".devdebs"]:  scripts/gpu-check.sh
set -euo pipefail
cd "$(dirname "$0")/.."
pkgs=(catch2 libcli11-dev nlohmann-json3-dev libyaml-cpp-dev libyaml-cpp0.7 libtinyxml2-dev libtinyxml2-9
      libstb-dev libstb0 libopenblas-dev libopenblas-pthread-dev libopenblas0-pthread libopenblas0 libgfortran5
      libbenchmark-dev libbenchmark1debian libturbojpeg0-dev libturbojpeg0
      libdnnl-dev libdnnl2 ocl-icd-opencl-dev ocl-icd-libopencl1 opencl-c-headers opencl-clhpp-headers opencl-headers)
rm -rf .devdebs
mkdir -p .devdebs
chmod 777 .devdebs  # apt downloads as the _apt user when it can
(cd .devdebs && apt-get download "${pkgs[@]}")
du -sh .devdebs
