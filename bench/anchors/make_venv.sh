#!/usr/bin/env bash
# Creates .venv-anchors: the real tools scextract is compared with (issue 8), pinned, in one
# venv, and records their versions in bench/out/anchors/versions.json.
#
# torch is Debian's CPU build (python3-torch 1.13, seen through --system-site-packages):
# PyPI's torch wheel is a multi-GB CUDA build and the PyTorch CPU index is not reachable
# from every machine. That fixes the rest of the pins:
#  - numpy < 2 (Debian torch's ABI), so jax / mellon (palantir) resolve to numpy-1 releases;
#  - scikit-learn 1.7.2: celltypist 1.7.1 passes multi_class='ovr', removed in 1.8;
#  - pynndescent 0.5.13: 0.7.0 hands scanpy 1.11.5 a csr_array, which has no getnnz under
#    scipy 1.17, so sc.pp.neighbors fails from 8,192 cells on (where PyNNDescent takes over);
#  - scvi-tools and its lightning / pyro stack go in with --no-deps, and one line of
#    lightning is patched, exactly as scripts/make_scvi_venv.sh explains;
#  - scgpt 0.2.4 goes in with --no-deps (it pins torch and flash-attn); it is used only for
#    its model code, and only if it imports (torchtext comes from Debian too).
# Idempotent: a venv whose recorded pins match is left alone. Exit 1 (with the reason) when
# the venv cannot be built, so callers can skip.
set -euo pipefail
cd "$(dirname "$0")/../.."
VENV=${SCX_ANCHORS_VENV:-.venv-anchors}
STAMP="$VENV/.scx-anchors-pins"
PINS=(
  "numpy==1.26.4" "scipy==1.17.1" "scikit-learn==1.7.2" "pandas==2.3.3" "h5py==3.16.0"
  "anndata==0.12.6" "scanpy==1.11.5" "umap-learn==0.5.12" "pynndescent==0.5.13"
  "numba==0.61.2" "llvmlite==0.44.0"
  "palantir==1.4.5" "celltypist==1.7.1" "leidenalg" "igraph" "scikit-misc==0.5.1"
)
NODEPS=("lightning==2.2.5" "torchmetrics==1.5.2" "pyro-ppl==1.8.6" "scvi-tools==1.4.2")
want="${PINS[*]} ${NODEPS[*]} scgpt==0.2.4"
if [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$want" ] && [ -x "$VENV/bin/python" ]; then
  exit 0
fi
if ! /usr/bin/python3 -c "import torch" 2>/dev/null; then
  if command -v apt-get >/dev/null; then
    SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
    echo "anchors: installing python3-torch python3-torchtext (Debian)" >&2
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends python3-torch python3-torchtext >&2 \
      || { echo "anchors: cannot install Debian's python3-torch" >&2; exit 1; }
  else
    echo "anchors: Debian's python3-torch is needed and apt-get is absent" >&2; exit 1
  fi
fi
/usr/bin/python3 -c "import torchtext" 2>/dev/null || {
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends python3-torchtext >&2 || true
}
echo "anchors: creating $VENV" >&2
rm -rf "$VENV"
/usr/bin/python3 -m venv --system-site-packages "$VENV"
PIP="$VENV/bin/python -m pip"
constraints=$(mktemp)
trap 'rm -f "$constraints"' EXIT
printf '%s\n' "numpy<2" "scikit-learn==1.7.2" > "$constraints"
$PIP install -q --upgrade pip >&2 || true
$PIP install -q -c "$constraints" "${PINS[@]}" \
  "docrep>=0.3.2" ml-collections mudata rich "sparse>=0.14.0" tensorboard tqdm xarray "PyYAML>=5.4,<8" \
  "fsspec[http]>=2022.5.0,<2025" "lightning-utilities>=0.10,<2" "packaging>=20,<25" "typing-extensions>=4.4" \
  "opt-einsum>=2.3.2" "pyro-api>=0.1.1" pytest >&2 \
  || { echo "anchors: pip could not install the pinned tools" >&2; exit 1; }
$PIP install -q --no-deps "${NODEPS[@]}" >&2 || { echo "anchors: pip could not install scvi-tools" >&2; exit 1; }
module_py=$("$VENV/bin/python" -c "import lightning, os; print(os.path.join(os.path.dirname(lightning.__file__), 'pytorch/core/module.py'))")
sed -i 's/^        if _IS_WINDOWS or not torch.distributed.is_available():$/        if True:  # scextract: torch 1.13 + Python 3.11 cannot import torch.distributed._shard/' "$module_py"
$PIP install -q --no-deps scgpt==0.2.4 >&2 || echo "anchors: scgpt did not install; the forward check uses torch modules in scGPT's layout" >&2
"$VENV/bin/python" - <<'PY' || { echo "anchors: the venv's tools do not import" >&2; exit 1; }
import scanpy, palantir, celltypist, scvi, torch, sklearn, scipy, anndata  # noqa: F401
PY
echo "$want" > "$STAMP"
mkdir -p bench/out/anchors
"$VENV/bin/python" bench/anchors/versions.py > bench/out/anchors/versions.json 2>/dev/null
cat bench/out/anchors/versions.json >&2
