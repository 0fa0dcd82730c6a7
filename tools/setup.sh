#!/usr/bin/env bash
# Installs what a fresh Debian bookworm machine lacks to build factorch, then configures and
# builds it (Release) into build/. Safe to run again: apt is skipped when everything is present.
#   tools/setup.sh [--audio]
# Environment: FACTORCH_BUILD_DIR (build), FACTORCH_JOBS (nproc), FACTORCH_CMAKE_ARGS (extra
# configure arguments), FACTORCH_BUILD_TARGETS (space-separated targets; empty: everything).
# tools/quickstart.sh builds the CLI alone; tools/test.sh adds the test packages and builds all.
set -euo pipefail
cd "$(dirname "$0")/.."

# libgloo-dev: headers of the Gloo process group of LibTorch's c10d (data-parallel training).
PACKAGES=(cmake g++ make pkg-config libtorch-dev libgloo-dev libsndfile1-dev libyaml-cpp-dev nlohmann-json3-dev
          libcairo2-dev fonts-dejavu-core libopenblas0-pthread)
# The Python package (python/, `import factorch`): pybind11 and the interpreter's headers to
# build it, Debian's torch/numpy to load it, scikit-learn for factorch.sklearn.
PACKAGES+=(pybind11-dev python3-dev python3 python3-numpy python3-torch python3-sklearn)
# --audio: the synthesiser and sampled instrument that tools/make_innmf_audio.py renders the
# real-audio iN-NMF experiments with (configs/innmf_speech.yaml), and PyYAML for
# tools/innmf_heldout.py (it reads the config); no test needs them.
if [[ "${1:-}" == "--audio" ]]; then PACKAGES+=(espeak-ng fluidsynth fluid-soundfont-gm python3 python3-numpy python3-yaml); fi
source tools/apt_install.sh
install_missing "factorch setup" "${PACKAGES[@]}"

JOBS=${FACTORCH_JOBS:-$(nproc)}
BUILD_DIR=${FACTORCH_BUILD_DIR:-build}
cmake -S . -B "$BUILD_DIR" -DCMAKE_BUILD_TYPE=Release ${FACTORCH_CMAKE_ARGS:-}
TARGETS=()
for t in ${FACTORCH_BUILD_TARGETS:-}; do TARGETS+=(--target "$t"); done
cmake --build "$BUILD_DIR" -j "$JOBS" "${TARGETS[@]}"
