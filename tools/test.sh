#!/usr/bin/env bash
# Second quick-start command: the test-only packages, set up + build everything (CLI, tests,
# benchmarks), then the whole test suite through ctest.
#   bash tools/test.sh [ctest args]              Release build in build/
#   bash tools/test.sh --sanitize [ctest args]   AddressSanitizer + UndefinedBehaviorSanitizer
#       build in build-sanitize/ (FACTORCH_SANITIZE=ON); any UBSan report aborts its test,
#       so a report fails the suite instead of scrolling by in a passing test.
set -euo pipefail
cd "$(dirname "$0")/.."
if [[ "${1:-}" == "--sanitize" ]]; then
  shift
  export FACTORCH_BUILD_DIR=${FACTORCH_BUILD_DIR:-build-sanitize}
  # RelWithDebInfo: optimised enough for the suite's numerics, with line numbers in reports.
  export FACTORCH_CMAKE_ARGS="-DCMAKE_BUILD_TYPE=RelWithDebInfo -DFACTORCH_SANITIZE=ON -DFACTORCH_BENCH=OFF ${FACTORCH_CMAKE_ARGS:-}"
  # halt_on_error: a report ends the process with an error. detect_leaks=0: LibTorch keeps
  # global allocations alive at exit, which LeakSanitizer would report in every process
  # (including gtest's test discovery at build time, hence exported before the build).
  export UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1}
  export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=0:halt_on_error=1}
fi
# Test-only packages, installed before the build (the suite's configure needs GoogleTest):
# the Python references of the cross-checks (numpy, torch, scikit-learn, mir_eval), and headless
# Chromium through Selenium for tests/app/check_report_in_browser.py (skipped when absent),
# PyYAML for the config-reading evaluation tool that python/tests/test_eval_tools.py checks.
TEST_PACKAGES=(libgtest-dev python3 python3-numpy python3-torch python3-sklearn python3-mir-eval
               chromium chromium-driver python3-selenium python3-pytest python3-yaml)
source tools/apt_install.sh
install_missing "factorch test setup" "${TEST_PACKAGES[@]}"
# Everything: the CLI, the test binary and the benchmarks (a quick-start build dir has tests off).
FACTORCH_CMAKE_ARGS="-DFACTORCH_TESTS=ON -DFACTORCH_BENCH=ON ${FACTORCH_CMAKE_ARGS:-}" FACTORCH_BUILD_TARGETS="" \
  bash tools/setup.sh

BUILD_DIR=${FACTORCH_BUILD_DIR:-build}
(cd "$BUILD_DIR" && ctest --output-on-failure -j "${FACTORCH_JOBS:-$(nproc)}" "$@")
# The Python package's suite (python/tests), against the package in the build tree.
if [[ -d "$BUILD_DIR/python/factorch" ]]; then
  PYTHONPATH="$BUILD_DIR/python" /usr/bin/python3 -m pytest -q python/tests
fi
