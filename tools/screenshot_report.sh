#!/usr/bin/env bash
# Regenerates docs/report_screenshot.png (the README's picture of a run report): runs the
# quick-start demo as tools/quickstart.sh does (build/factorch must be built), then takes the
# top of runs/quickstart/report.html in headless Chromium (tools/test.sh installs `chromium`).
#   bash tools/screenshot_report.sh [OUT.png]        default docs/report_screenshot.png
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=${1:-docs/report_screenshot.png}
BUILD_DIR=${FACTORCH_BUILD_DIR:-build}
CHROMIUM=$(command -v chromium || command -v chromium-browser || command -v google-chrome || true)
if [[ -z "$CHROMIUM" ]]; then
  echo "screenshot_report: no chromium on PATH (apt-get install chromium, or bash tools/test.sh)" >&2
  exit 2
fi
"$BUILD_DIR/factorch" separate configs/nmf_separate_toy.yaml --out runs/quickstart --quiet > /dev/null
PROFILE=$(mktemp -d)
trap 'rm -rf "$PROFILE"' EXIT
# A fixed window and scale factor: the same page gives the same picture on every machine.
"$CHROMIUM" --headless --no-sandbox --disable-gpu --hide-scrollbars --force-device-scale-factor=1 \
  --user-data-dir="$PROFILE" --window-size=1100,1560 --screenshot="$PROFILE/shot.png" \
  "file://$(pwd)/runs/quickstart/report.html" 2> "$PROFILE/chromium.log" || {
  cat "$PROFILE/chromium.log" >&2
  exit 2
}
mv "$PROFILE/shot.png" "$OUT"
echo "wrote $OUT from runs/quickstart/report.html"
