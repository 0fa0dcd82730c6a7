#!/usr/bin/env bash
# Second quick-start command: set up + build, then the test-only packages (headless Chromium
# for the report.html browser test), then the whole test suite through ctest.
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
bash tools/setup.sh

# Test-only: tests/app/check_report_in_browser.py opens report.html in headless Chromium
# through Selenium (skipped with a message when these are absent).
TEST_PACKAGES=(chromium chromium-driver python3-selenium python3-pytest)
source tools/apt_install.sh
install_missing "factorch test setup" "${TEST_PACKAGES[@]}"

BUILD_DIR=${FACTORCH_BUILD_DIR:-build}
(cd "$BUILD_DIR" && ctest --output-on-failure -j "${FACTORCH_JOBS:-$(nproc)}" "$@")
# The Python package's suite (python/tests), against the package in the build tree.
if [[ -d "$BUILD_DIR/python/factorch" ]]; then
  PYTHONPATH="$BUILD_DIR/python" /usr/bin/python3 -m pytest -q python/tests
fi
