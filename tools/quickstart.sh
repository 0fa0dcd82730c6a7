#!/usr/bin/env bash
# First quick-start command: set up + build (tools/setup.sh), then the demo on an embedded
# signal (no download, no data file): supervised NMF separation of a two-note mixture,
# writing runs/quickstart/sources/*.wav, metrics.json, factors, a checkpoint and report.html
# (figures, scores and audio players; open it in a browser, no server needed).
set -euo pipefail
cd "$(dirname "$0")/.."
bash tools/setup.sh
BUILD_DIR=${FACTORCH_BUILD_DIR:-build}
"$BUILD_DIR/factorch" separate configs/nmf_separate_toy.yaml --out runs/quickstart
"$BUILD_DIR/factorch" info runs/quickstart/checkpoint.pt
echo
echo "Open the run report in a browser: $(pwd)/runs/quickstart/report.html"
