#!/usr/bin/env bash
# Creates .venv-pretrain (at the repository root) for bench/pretrain: Debian's CPU PyTorch
# (python3-torch 1.13, seen through --system-site-packages; PyPI's torch wheel is a multi-GB
# CUDA build) plus the pins in bench/pretrain/requirements.txt. scgpt 0.2.4 is installed with
# --no-deps: its top-level __init__ imports torchtext, scanpy, scvi-tools, datasets, ... which
# are not installed; bench/pretrain/scgpt_model.py imports only scgpt/model/model.py and
# scgpt/loss.py (see there). Idempotent. Not needed to build or test scextract: the
# checkpoint and the embedding fixture it makes are committed.
set -euo pipefail
cd "$(dirname "$0")/../.."
VENV=${SCX_PRETRAIN_VENV:-.venv-pretrain}
REQ=bench/pretrain/requirements.txt
STAMP="$VENV/.scx-pretrain-pins"
if [ -f "$STAMP" ] && cmp -s "$STAMP" "$REQ" && [ -x "$VENV/bin/python" ]; then exit 0; fi
if ! /usr/bin/python3 -c "import torch" 2>/dev/null; then
  command -v apt-get >/dev/null || { echo "pretrain: Debian's python3-torch is needed and apt-get is absent" >&2; exit 1; }
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends python3-torch >&2 \
    || { echo "pretrain: cannot install Debian's python3-torch" >&2; exit 1; }
fi
rm -rf "$VENV"
/usr/bin/python3 -m venv --system-site-packages "$VENV"
PIP="$VENV/bin/python -m pip"
$PIP install -q --no-deps -r "$REQ" >&2 || { echo "pretrain: pip could not install $REQ" >&2; exit 1; }
"$VENV/bin/python" -c "
import sys; sys.path.insert(0, 'bench/pretrain')
import scgpt_model, torch, numpy, h5py
print('torch', torch.__version__, 'numpy', numpy.__version__, 'h5py', h5py.__version__, 'scgpt', scgpt_model.SCGPT_VERSION)
" || { echo "pretrain: scgpt's model code does not import in $VENV" >&2; exit 1; }
cp "$REQ" "$STAMP"
