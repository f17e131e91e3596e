#!/usr/bin/env bash
# Creates .venv (Python for interop tests, reference fixtures and bench anchors)
# from the pinned python/requirements.txt. Idempotent: a venv whose requirements
# stamp matches is left alone.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=${SCX_VENV:-.venv}
REQ=python/requirements.txt
PY=/usr/bin/python3
[ -x "$PY" ] || PY=$(command -v python3)
stamp="$VENV/.requirements.sha256"
want=$(sha256sum "$REQ" | cut -d' ' -f1)
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ] && [ -x "$VENV/bin/python" ]; then
  exit 0
fi
echo "setup: creating Python venv $VENV from $REQ" >&2
"$PY" -m venv "$VENV"
"$VENV/bin/python" -m pip install -q --upgrade pip
"$VENV/bin/python" -m pip install -q -r "$REQ"
echo "$want" > "$stamp"
