#!/usr/bin/env bash
# The real-data benchmark (issue 18, item 5; docs/benchmarks.md "Real data").
#
#   bench/realdata/run.sh [WORKDIR] [SETS]     (default WORKDIR bench/realdata/out;
#                                               SETS "kang wu calibrated")
#
# For each set: Stage 1 exports the atlas operator of the learned checkpoint
# (data/scgpt_pretrained_small, pretrained with scGPT's own code, bench/pretrain/) and of the
# same model before training (its random initialisation, rebuilt by bench/pretrain/pretrain.py
# --init-only; needs .venv-pretrain); then `scextract bench` runs every baseline and the
# extracted algorithm on identical donor-holdout splits, with the gene-permuted control of the
# learned operator and the learned operator against its random init (each its own BH family).
#
# Sets: kang = muscat Kang 2018 PBMC (GPL-3: read from ../shared/data, never copied; 1,556
# cells, 2 donors - donor-level tests cannot reach significance with 2); wu = scirpy Wu 2020
# tumour/blood T cells (200 cells, 14 patients); calibrated = a bed calibrated on clustifyr
# pbmc3k (--composition graph, 4,000 cells, 12 donors). The operator is exported on each
# set's own cells without labels (unsupervised, like the frozen model itself).
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
WORK="${1:-$ROOT/bench/realdata/out}"
SETS="${2:-kang wu calibrated}"
SCX="${SCX_BIN:-$ROOT/build/scextract}"
MODEL="${MODEL:-$ROOT/data/scgpt_pretrained_small}"
DATA="$ROOT/../shared/data"
[ -x "$SCX" ] || { echo "build scextract first (scripts/setup.sh)"; exit 1; }
[ -f "$MODEL/best_model.pt" ] || { echo "no learned checkpoint in $MODEL"; exit 1; }
mkdir -p "$WORK"
cd "$WORK"
INIT="$WORK/init_model"
if [ ! -f "$INIT/best_model.pt" ]; then
  [ -x "$ROOT/.venv-pretrain/bin/python" ] || "$ROOT/bench/pretrain/make_venv.sh"
  "$ROOT/.venv-pretrain/bin/python" "$ROOT/bench/pretrain/pretrain.py" --init-only --seed 0 --out "$INIT"
fi

run_set() { # name path label_key donor_key splits test_donors
  local name=$1 path=$2 label=$3 donor=$4 n=$5 test=$6 t0
  t0=$(date +%s)
  for m in learned init; do
    local model=$MODEL; [ $m = init ] && model=$INIT
    [ -f "${name}_$m.scxop" ] || "$SCX" -q export --model "$model" --reference "$path" --panel 400 --cells 600 \
      --out "${name}_$m.scxop"
  done
  cat > "$name.json" <<JSON
{
  "data": {"path": "$path", "label_key": "$label", "donor_key": "$donor"},
  "ruler": "default",
  "panel": {"from_operator": "${name}_learned.scxop"},
  "splits": {"n": $n, "test_donors": $test, "seed": 42},
  "reference": "pca10",
  "methods": [
    {"type": "pca", "name": "pca10", "components": 10},
    {"type": "raw"},
    {"type": "celltypist"},
    {"type": "dpt"},
    {"type": "palantir"},
    {"type": "scvi"},
    {"type": "mlp_probe", "name": "mlp_probe_learned", "model": "$MODEL"},
    {"type": "algorithm", "name": "raw_cell", "operator": "identity", "adaptor": "cell"},
    {"type": "algorithm", "name": "init_atlas_cell", "operator": "${name}_init.scxop", "adaptor": "cell"},
    {"type": "algorithm", "name": "learned_atlas_cell", "operator": "${name}_learned.scxop", "adaptor": "cell",
     "against": "init_atlas_cell", "controls": ["gene_permuted"]},
    {"type": "algorithm", "name": "learned_atlas_pca10", "operator": "${name}_learned.scxop", "bottleneck": "pca",
     "components": 10, "against": "pca10"}
  ]
}
JSON
  "$SCX" bench --config "$name.json" --out "bench_$name" 2>&1 | grep -v "split [0-9]*/" | tail -20
  echo "$name: $(( $(date +%s) - t0 )) s"
}

for set in $SETS; do
  case $set in
    kang) run_set kang "$DATA/muscat_kang2018_pbmc/muscat_kang2018_pbmc.h5ad" cell_type donor 2 1 ;;
    wu) run_set wu "$DATA/scirpy_wu2020_tcells_200/scirpy_wu2020_tcells_200.h5ad" cell_type donor 12 3 ;;
    calibrated)
      "$SCX" -q simulate --calibrate "$DATA/clustifyr_pbmc3k/clustifyr_pbmc3k.h5ad" --calibration-out pbmc3k.calibration.json
      "$SCX" -q simulate --calibration pbmc3k.calibration.json --cells 4000 --donors 12 --design-seed 1 --out calibrated.h5ad
      run_set calibrated "$WORK/calibrated.h5ad" cell_type donor 12 3 ;;
    *) echo "unknown set $set (kang, wu, calibrated)"; exit 1 ;;
  esac
done
