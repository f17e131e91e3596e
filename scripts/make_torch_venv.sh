#!/usr/bin/env bash
# Creates .venv-torch for regenerating the PyTorch reference fixtures (tests/fixtures/model).
# Uses Debian's CPU build of PyTorch (python3-torch, 1.13) through --system-site-packages;
# PyPI's torch wheel is a multi-GB CUDA build. Not needed to build or test scextract:
# the fixtures it makes are committed.
set -euo pipefail
cd "$(dirname "$0")/.."
if ! dpkg-query -W -f='${Status}' python3-torch 2>/dev/null | grep -q "install ok installed"; then
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends python3-torch
fi
[ -x .venv-torch/bin/python ] || /usr/bin/python3 -m venv --system-site-packages .venv-torch
.venv-torch/bin/python -c "import torch; print('torch', torch.__version__)"
