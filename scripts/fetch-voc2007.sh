#!/usr/bin/env bash
# Downloads PASCAL VOC 2007 (trainval, test, devkit) and checks it. Needs internet
# (it cannot run in the build sandbox or CI; the tests use `frcnn synth` instead).
#
#   scripts/fetch-voc2007.sh [DEST]        DEST defaults to ./datasets
#
# Result (the layout frcnn's VOC reader expects; pass DEST/VOCdevkit/VOC2007 as the root):
#   DEST/VOCdevkit/VOC2007/JPEGImages/000001.jpg ...        9963 images
#   DEST/VOCdevkit/VOC2007/Annotations/000001.xml ...
#   DEST/VOCdevkit/VOC2007/ImageSets/Main/{trainval,test}.txt (5011 / 4952 ids), <class>_<split>.txt
#   DEST/VOCdevkit/VOCcode/ ...                              the devkit's MATLAB code
#   DEST/VOCdevkit/VOC2007/classes.txt                       the 20 class names (written here)
#
# Checksums: the two image archives' MD5s are the ones torchvision's VOCDetection
# uses (torchvision/datasets/voc.py), checked below. The devkit archive's MD5 is not
# pinned: no authoritative value was available when this script was written, so it
# is printed for you to compare against a trusted source.
set -euo pipefail

DEST=${1:-datasets}
BASE=http://host.robots.ox.ac.uk/pascal/VOC/voc2007
declare -A MD5=(
  [VOCtrainval_06-Nov-2007.tar]=c52e279531787c972589f7e41ab4ae64
  [VOCtest_06-Nov-2007.tar]=b6e924de25625d8de591ea690078ad9f
  [VOCdevkit_08-Jun-2007.tar]=""   # not pinned (see above)
)
FILES=(VOCtrainval_06-Nov-2007.tar VOCtest_06-Nov-2007.tar VOCdevkit_08-Jun-2007.tar)

mkdir -p "$DEST"
cd "$DEST"
for f in "${FILES[@]}"; do
  if [[ ! -f "$f" ]]; then
    echo "downloading $BASE/$f"
    if command -v curl >/dev/null; then
      curl -fL --retry 3 -C - -o "$f.part" "$BASE/$f"
    else
      wget -c -O "$f.part" "$BASE/$f"
    fi
    mv "$f.part" "$f"
  fi
  got=$(md5sum "$f" | cut -d' ' -f1)
  want=${MD5[$f]}
  if [[ -z "$want" ]]; then
    echo "$f: md5 $got (not pinned; compare with a trusted source)"
  elif [[ "$got" != "$want" ]]; then
    echo "error: $f has md5 $got, expected $want (delete it and run again)" >&2
    exit 1
  else
    echo "$f: md5 ok"
  fi
done

for f in "${FILES[@]}"; do
  echo "extracting $f"
  tar -xf "$f"
done

ROOT=VOCdevkit/VOC2007
for d in JPEGImages Annotations ImageSets/Main; do
  [[ -d "$ROOT/$d" ]] || { echo "error: $DEST/$ROOT/$d missing after extraction" >&2; exit 1; }
done
n_trainval=$(wc -l < "$ROOT/ImageSets/Main/trainval.txt")
n_test=$(wc -l < "$ROOT/ImageSets/Main/test.txt")
n_jpg=$(find "$ROOT/JPEGImages" -name '*.jpg' | wc -l)
echo "trainval $n_trainval ids, test $n_test ids, $n_jpg images (expected 5011, 4952, 9963)"
if [[ "$n_trainval" -ne 5011 || "$n_test" -ne 4952 || "$n_jpg" -ne 9963 ]]; then
  echo "error: unexpected counts" >&2
  exit 1
fi
printf '%s\n' aeroplane bicycle bird boat bottle bus car cat chair cow diningtable dog horse \
  motorbike person pottedplant sheep sofa train tvmonitor > "$ROOT/classes.txt"
echo "VOC 2007 ready: $(cd "$ROOT" && pwd)"
