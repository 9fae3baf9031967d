#!/usr/bin/env bash
# `make demo`: what the engine can do end to end today, on the bundled default.
# (Grows with the project: synth -> train -> eval -> detect once those land.)
set -euo pipefail
BUILD_DIR=${1:-build}
FRCNN="$BUILD_DIR/bin/frcnn"
"$FRCNN" info
