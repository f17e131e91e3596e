#!/usr/bin/env bash
# Creates .venv-palantir with palantir 1.4.5 (and the scanpy it brings), for
# tests/fixtures/eval/make_palantir_fixtures.py and the Palantir anchor. palantir needs no
# torch; it pulls jax through mellon (CPU wheels from PyPI). Idempotent.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=${SCX_PALANTIR_VENV:-.venv-palantir}
if [ -x "$VENV/bin/python" ] && "$VENV/bin/python" -c "import importlib.metadata as m; assert m.version('palantir') == '1.4.5'" 2>/dev/null; then
  exit 0
fi
echo "setup: creating $VENV (palantir 1.4.5)" >&2
/usr/bin/python3 -m venv "$VENV"
"$VENV/bin/python" -m pip install -q palantir==1.4.5 scanpy==1.11.5
"$VENV/bin/python" -c "import importlib.metadata as m; print('palantir', m.version('palantir'), 'scanpy', m.version('scanpy'))"
