#!/usr/bin/env bash
# Runs the heavier ctest checks that carry a label, outside the default suite.
#
#   bench/labelled_checks.sh                 # label python: pytest interop against the
#                                            # real anndata / scanpy (creates .venv)
#   bench/labelled_checks.sh 'python|report|bench_example'   # every labelled check
#
# Labels: python (tests/interop, needs the pinned venv), report (report.html in headless
# Chromium), bench_example (examples/bench-sim.json, 12 splits). The last two also run in
# the default suite (scripts/test.sh); python does not, because that suite needs no Python.
set -euo pipefail
cd "$(dirname "$0")/.."
labels=${1:-python}
BUILD_DIR=${SCX_BUILD_DIR:-build}
if [[ "$labels" == *python* ]]; then
  scripts/make_venv.sh
fi
if [ ! -f "$BUILD_DIR/CTestTestfile.cmake" ]; then
  SCX_NO_VENV=1 scripts/setup.sh
fi
ctest --test-dir "$BUILD_DIR" --output-on-failure -j"$(nproc)" -L "$labels"
