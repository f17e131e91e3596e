#!/usr/bin/env bash
# Sets everything up (system packages, build) and runs the default test suite: the
# GoogleTest suites of every stage folder, the 12-split example bench and the
# headless-Chromium report check. It needs no Python: the C++ suites compare with
# committed fixtures. The checks against the real Python tools (label `python`) run
# from bench/labelled_checks.sh, the side-by-side runs against the real tools (label
# `anchors`) from bench/anchors/run.sh. Extra arguments go to ctest (e.g. -R io).
set -euo pipefail
cd "$(dirname "$0")/.."
SCX_NO_VENV=1 scripts/setup.sh
ctest --test-dir "${SCX_BUILD_DIR:-build}" --output-on-failure -j"$(nproc)" -LE "python|anchors" "$@"
