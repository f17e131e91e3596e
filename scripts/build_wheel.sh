#!/usr/bin/env bash
# Builds a wheel of the Python package into dist/ with the Debian libraries scripts/setup.sh
# installs (the wheel links them dynamically: install it on a machine that has them).
#   scripts/build_wheel.sh
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/make_venv.sh
.venv/bin/python -m pip wheel --no-build-isolation --no-deps -w dist .
ls -l dist/*.whl
