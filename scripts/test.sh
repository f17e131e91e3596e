#!/usr/bin/env bash
# Sets everything up (system packages, Python venv, build) and runs the whole test
# suite: GoogleTest suites per stage folder plus the pytest interop tests against
# the real anndata / scanpy. Extra arguments go to ctest (e.g. -R io).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
ctest --test-dir "${SCX_BUILD_DIR:-build}" --output-on-failure -j"$(nproc)" "$@"
