#!/usr/bin/env bash
# Downloads ImageNet-pretrained VGG16 weights and converts them to frcnn's safetensors
# (scripts/convert_vgg16.py). Needs internet (it cannot run in the build sandbox or CI).
#
#   scripts/fetch-vgg16.sh [caffe|pyfrcnn|torchvision] [DEST]      DEST defaults to ./datasets
#
#   caffe (default)  the VGG group's original VGG_ILSVRC_16_layers.caffemodel (528 MB),
#                    converted with numpy only. Input: BGR, 0-255 minus the means. The paper's
#                    figures were obtained from Caffe VGG16 weights with this input convention:
#                    expect about the paper's 69.9 % VOC07 mAP (configs/vgg16_voc07.yaml, alt4).
#   pyfrcnn          py-faster-rcnn's imagenet_models.tgz (VGG16.v2.caffemodel, the copy the
#                    paper's released code downloads; about 1 GB). Input and expectation as caffe.
#   torchvision      download.pytorch.org/models/vgg16-397923af.pth (528 MB, needs python3-torch
#                    to convert). Input: RGB, 0-1, ImageNet mean/std. Differently trained ImageNet
#                    weights: PyTorch reimplementations report about one point less VOC07 mAP
#                    with them than with the Caffe model (published reports, not measured here).
# Output: DEST/vgg16_<source>.safetensors (conv1_1 ... conv5_3, fc6, fc7, with the input
# convention in the metadata; see docs/DATA.md).
#
# Checksums:
#   torchvision: torchvision names the file after the first 8 hex digits of its SHA-256
#     (397923af), which this script checks as torchvision's own hub loader does; the full
#     SHA-256 below was taken from a third-party listing whose prefix matches, so a
#     mismatch there is reported as a warning, the prefix as an error.
#   pyfrcnn: MD5 ed34ca912d6782edfb673a8c3a0bda6d, from py-faster-rcnn's
#     data/scripts/fetch_imagenet_models.sh (about 1 GB: ZF, VGG_CNN_M_1024 and VGG16). That
#     script downloads from www.cs.berkeley.edu/~rbg/faster-rcnn-data/; copies of it point to
#     a Dropbox mirror with the same checksum. Both are tried, the original first.
#   caffe: no published checksum was available; the MD5 is printed for you to compare.
set -euo pipefail

SRC=${1:-caffe}
DEST=${2:-datasets}
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
PY=${PYTHON:-/usr/bin/python3}
mkdir -p "$DEST"

fetch() {  # file url [more urls, tried in turn]
  local f=$1
  shift
  [[ -f "$f" ]] && return 0
  for url in "$@"; do
    echo "downloading $url"
    if command -v curl >/dev/null; then
      curl -fL --retry 3 -o "$f.part" "$url" && { mv "$f.part" "$f"; return 0; }
    else
      wget -O "$f.part" "$url" && { mv "$f.part" "$f"; return 0; }
    fi
    rm -f "$f.part"
  done
  echo "error: could not download $f" >&2
  exit 1
}

case "$SRC" in
  torchvision)
    f="$DEST/vgg16-397923af.pth"
    fetch "$f" https://download.pytorch.org/models/vgg16-397923af.pth
    sha=$(sha256sum "$f" | cut -d' ' -f1)
    if [[ "${sha:0:8}" != 397923af ]]; then
      echo "error: $f has sha256 $sha, expected the prefix 397923af (delete it and run again)" >&2
      exit 1
    fi
    full=397923af8e79cdbb6a7127f12361acd7a2f83e06b05044ddf496e83de57a5bf0
    [[ "$sha" == "$full" ]] || echo "warning: $f sha256 $sha differs from the third-party full hash $full"
    echo "$f: sha256 ok ($sha)"
    "$PY" "$HERE/convert_vgg16.py" "$f" "$DEST/vgg16_torchvision.safetensors"
    ;;
  caffe)
    f="$DEST/VGG_ILSVRC_16_layers.caffemodel"
    fetch "$f" http://www.robots.ox.ac.uk/~vgg/software/very_deep/caffe/VGG_ILSVRC_16_layers.caffemodel
    echo "$f: md5 $(md5sum "$f" | cut -d' ' -f1) (not pinned; compare with a trusted source)"
    "$PY" "$HERE/convert_vgg16.py" "$f" "$DEST/vgg16_caffe.safetensors"
    ;;
  pyfrcnn)
    f="$DEST/imagenet_models.tgz"
    fetch "$f" http://www.cs.berkeley.edu/~rbg/faster-rcnn-data/imagenet_models.tgz \
      "https://dl.dropbox.com/s/gstw7122padlf0l/imagenet_models.tgz?dl=0"
    got=$(md5sum "$f" | cut -d' ' -f1)
    if [[ "$got" != ed34ca912d6782edfb673a8c3a0bda6d ]]; then
      echo "error: $f has md5 $got, expected ed34ca912d6782edfb673a8c3a0bda6d" >&2
      exit 1
    fi
    tar -xzf "$f" -C "$DEST" imagenet_models/VGG16.v2.caffemodel
    "$PY" "$HERE/convert_vgg16.py" "$DEST/imagenet_models/VGG16.v2.caffemodel" "$DEST/vgg16_pyfrcnn.safetensors"
    ;;
  *)
    echo "usage: $0 [caffe|pyfrcnn|torchvision] [DEST]   (default: caffe)" >&2
    exit 2
    ;;
esac
