#!/usr/bin/env bash
# ctest python_package (label python): installs the package from this checkout into the
# project venv (pip install ., with the Debian libraries; no build isolation, so nanobind and
# scikit-build-core come from python/requirements.txt) and runs tests/python.
#   tests/python/run.sh SCEXTRACT_BIN
set -euo pipefail
cd "$(dirname "$0")/../.."
export SCX_BIN=$(realpath "${1:-build/scextract}")
.venv/bin/python -m pip install --no-build-isolation --no-deps -q .
cd tests/python && ../../.venv/bin/python -m pytest -q -p no:cacheprovider .
