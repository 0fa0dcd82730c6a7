#!/usr/bin/env bash
# Second quick-start command: set up + build, then run the whole test suite through ctest.
set -euo pipefail
cd "$(dirname "$0")/.."
bash tools/setup.sh
BUILD_DIR=${FACTORCH_BUILD_DIR:-build}
cd "$BUILD_DIR"
ctest --output-on-failure -j "${FACTORCH_JOBS:-$(nproc)}" "$@"
