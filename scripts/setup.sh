#!/usr/bin/env bash
# Installs every system package scextract needs (Debian), builds the C++ tree,
# and creates the Python venv used by interop tests and reference-fixture scripts.
# Idempotent: re-running only does what is missing.
#
#   scripts/setup.sh            # packages + build (Release) + venv (for the python-labelled checks)
#   SCX_NO_VENV=1 scripts/setup.sh   # skip the Python venv
#   SCX_BUILD_TYPE=Debug SCX_SANITIZE=ON scripts/setup.sh
set -euo pipefail
cd "$(dirname "$0")/.."

APT_PACKAGES=(
  build-essential cmake ninja-build pkg-config git
  libhdf5-dev hdf5-tools zlib1g-dev liblzf-dev libdeflate-dev
  libeigen3-dev libopenblas-dev
  libzip-dev nlohmann-json3-dev libcli11-dev libfmt-dev
  libspectra-dev libhnswlib-dev
  libgtest-dev libgmock-dev libbenchmark-dev
  python3 python3-venv python3-dev
  chromium fonts-dejavu-core  # headless checks of the benchmark report (tests/report/report_chromium_check.sh, report_layout_check.sh)
  clang libclang-rt-14-dev llvm  # fuzzing: clang + libFuzzer + llvm-symbolizer (scripts/fuzz.sh, tests/fuzz)
)

missing=()
for p in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "setup: installing ${missing[*]}" >&2
  SUDO=""
  [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

if [ -z "${SCX_NO_VENV:-}" ]; then
  scripts/make_venv.sh
fi

BUILD_DIR=${SCX_BUILD_DIR:-build}
cmake -S . -B "$BUILD_DIR" -G Ninja \
  -DCMAKE_BUILD_TYPE="${SCX_BUILD_TYPE:-Release}" \
  -DSCX_SANITIZE="${SCX_SANITIZE:-OFF}" >/dev/null
cmake --build "$BUILD_DIR" -j"$(nproc)"
