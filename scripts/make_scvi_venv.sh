#!/usr/bin/env bash
# Creates .venv-scvi: scvi-tools 1.4.2 on Debian's CPU torch 1.13 (python3-torch), for
# tests/fixtures/eval/make_scvi_fixtures.py and the scVI anchor. PyPI's torch wheel is a
# multi-GB CUDA build and the PyTorch CPU index is not reachable from every machine, so the
# venv sees the system torch (--system-site-packages) and pip must never resolve torch:
#  - the packages that do not depend on torch go in first, numpy < 2 (Debian torch's ABI);
#  - lightning 2.2.5 (the last accepting torch 1.x), torchmetrics 1.5.2, pyro-ppl 1.8.6 and
#    scvi-tools 1.4.2 go in with --no-deps (Debian's torch reports 1.13.0a0, a pre-release
#    that fails lightning's "torch>=1.13" specifier, so pip would fetch a CUDA wheel);
#  - one line of lightning is patched inside the venv: torch 1.13 cannot import
#    torch.distributed._shard on Python 3.11 (a dataclass with a mutable default), and
#    lightning registers sharded-tensor hooks, used only for multi-GPU checkpoints, through it.
# Idempotent: an existing venv with scvi-tools 1.4.2 is left alone.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=${SCX_SCVI_VENV:-.venv-scvi}
if [ -x "$VENV/bin/python" ] && "$VENV/bin/python" -c "import importlib.metadata as m; assert m.version('scvi-tools') == '1.4.2'" 2>/dev/null; then
  exit 0
fi
/usr/bin/python3 -c "import torch" 2>/dev/null || {
  echo "make_scvi_venv: Debian's python3-torch is needed (apt-get install python3-torch)" >&2
  exit 1
}
echo "setup: creating $VENV (scvi-tools 1.4.2 on the system torch)" >&2
/usr/bin/python3 -m venv --system-site-packages "$VENV"
PIP="$VENV/bin/python -m pip"
constraints=$(mktemp)
trap 'rm -f "$constraints"' EXIT
echo "numpy<2" > "$constraints"
$PIP install -q -c "$constraints" "numpy<2" anndata "docrep>=0.3.2" ml-collections mudata "numba>=0.60.0" pandas rich \
  "scanpy[skmisc]>=1.10" scikit-learn scipy "sparse>=0.14.0" tensorboard tqdm xarray "PyYAML>=5.4,<8" \
  "fsspec[http]>=2022.5.0,<2025" "lightning-utilities>=0.10,<2" "packaging>=20,<25" "typing-extensions>=4.4" \
  "opt-einsum>=2.3.2" "pyro-api>=0.1.1"
$PIP install -q --no-deps lightning==2.2.5 torchmetrics==1.5.2 pyro-ppl==1.8.6 scvi-tools==1.4.2
module_py=$("$VENV/bin/python" -c "import lightning, os; print(os.path.join(os.path.dirname(lightning.__file__), 'pytorch/core/module.py'))")
sed -i 's/^        if _IS_WINDOWS or not torch.distributed.is_available():$/        if True:  # scextract: torch 1.13 + Python 3.11 cannot import torch.distributed._shard/' "$module_py"
"$VENV/bin/python" -c "import scvi, torch; print('scvi-tools', scvi.__version__, 'torch', torch.__version__)"
