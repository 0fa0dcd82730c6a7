#!/usr/bin/env bash
# Installs what a fresh Debian bookworm machine lacks, then configures and builds factorch
# (Release) into build/. Safe to run again: apt is skipped when everything is present.
#   tools/setup.sh [--audio]
set -euo pipefail
cd "$(dirname "$0")/.."

# libgloo-dev: headers of the Gloo process group of LibTorch's c10d (data-parallel training).
PACKAGES=(cmake g++ make pkg-config libtorch-dev libgloo-dev libsndfile1-dev libyaml-cpp-dev nlohmann-json3-dev libgtest-dev
          libcairo2-dev fonts-dejavu-core
          libopenblas0-pthread python3 python3-numpy python3-torch python3-sklearn python3-mir-eval
          pybind11-dev python3-dev)
# --audio: the synthesiser and sampled instrument that tools/make_innmf_audio.py renders the
# real-audio iN-NMF experiments with (configs/innmf_speech.yaml); no test needs them.
if [[ "${1:-}" == "--audio" ]]; then PACKAGES+=(espeak-ng fluidsynth fluid-soundfont-gm); fi
source tools/apt_install.sh
install_missing "factorch setup" "${PACKAGES[@]}"

JOBS=${FACTORCH_JOBS:-$(nproc)}
BUILD_DIR=${FACTORCH_BUILD_DIR:-build}
cmake -S . -B "$BUILD_DIR" -DCMAKE_BUILD_TYPE=Release ${FACTORCH_CMAKE_ARGS:-}
cmake --build "$BUILD_DIR" -j "$JOBS"
