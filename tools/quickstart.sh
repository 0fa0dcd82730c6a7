#!/usr/bin/env bash
# First quick-start command: set up + build what the demo needs (tools/setup.sh: apt, then the
# `factorch` CLI target alone; tests and benchmarks are built by tools/test.sh), then the demo
# on an embedded signal (no download, no data file): supervised NMF separation of a two-note
# mixture, writing runs/quickstart/sources/*.wav, metrics.json, factors, a checkpoint and
# report.html (figures, scores and audio players; open it in a browser, no server needed).
#   FACTORCH_SKIP_SETUP=1: no apt and no build, the demo with the binaries already in
#   $FACTORCH_BUILD_DIR (tests/readme/run_readme_blocks.py runs the README this way).
set -euo pipefail
cd "$(dirname "$0")/.."
# What the demo needs: the CLI, and the Python package (`import factorch`, build/python).
DEMO_TARGETS=(factorch factorch_python)
if [[ -z "${FACTORCH_SKIP_SETUP:-}" ]]; then
  # FACTORCH_TESTS=OFF: the test suite's packages (GoogleTest, Python references) are not needed.
  FACTORCH_CMAKE_ARGS="-DFACTORCH_TESTS=OFF ${FACTORCH_CMAKE_ARGS:-}" FACTORCH_BUILD_TARGETS="${DEMO_TARGETS[*]}" \
    bash tools/setup.sh
fi
BUILD_DIR=${FACTORCH_BUILD_DIR:-build}
"$BUILD_DIR/factorch" separate configs/nmf_separate_toy.yaml --out runs/quickstart
"$BUILD_DIR/factorch" info runs/quickstart/checkpoint.pt
echo
echo "Open the run report in a browser: $(pwd)/runs/quickstart/report.html"
