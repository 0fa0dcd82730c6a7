#!/usr/bin/env bash
# Second quick-start command: set up + build, then the test-only packages (headless Chromium
# for the report.html browser test), then the whole test suite through ctest.
set -euo pipefail
cd "$(dirname "$0")/.."
bash tools/setup.sh

# Test-only: tests/app/check_report_in_browser.py opens report.html in headless Chromium
# through Selenium (skipped with a message when these are absent).
TEST_PACKAGES=(chromium chromium-driver python3-selenium)
missing=()
for p in "${TEST_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  SUDO=""; [[ $(id -u) -ne 0 ]] && SUDO="sudo"
  echo "factorch test setup: installing ${missing[*]}"
  $SUDO apt-get update
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y --no-install-recommends "${missing[@]}"
fi

BUILD_DIR=${FACTORCH_BUILD_DIR:-build}
cd "$BUILD_DIR"
ctest --output-on-failure -j "${FACTORCH_JOBS:-$(nproc)}" "$@"
