#!/usr/bin/env bash
# The labelled fidelity tests (ctest -L anchors): builds .venv-anchors, or skips (77) saying why
# it cannot; then pytest bench/anchors/test_fidelity.py, which runs bench/anchors/run.py on the
# small groups (sim2k, real, model) and asserts each fidelity target.
#   bench/anchors/fidelity_check.sh BUILD_DIR
set -uo pipefail
cd "$(dirname "$0")/../.."
BUILD=${1:-build}
if ! bench/anchors/make_venv.sh; then
  echo "SKIP: .venv-anchors could not be built (see the reason above); the anchor fidelity tests need it" >&2
  exit 77
fi
SCX_BUILD_DIR="$BUILD" exec .venv-anchors/bin/python -m pytest -q -p no:cacheprovider bench/anchors/test_fidelity.py
