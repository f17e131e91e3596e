#!/usr/bin/env bash
# Every benchmark method on identical donor-holdout splits of the simulated bed: the
# extracted algorithm (the planted model's atlas operator), the light baselines (raw panel,
# PCA-10, SVD-10, CellTypist) and the heavy ones (scanpy DPT, Palantir, scVI, and the
# planted model's frozen embeddings + MLP probe). Writes WORKDIR/report/ (results.json,
# TSVs, report.html) and prints the endpoint table and per-method times.
#
#   bench/heavy/run.sh [WORKDIR]   (env: CELLS=5000 DONORS=20 SPLITS=12 SCVI_EPOCHS=0 SCX_BIN)
#
# SCVI_EPOCHS=0 keeps scvi-tools' epoch heuristic (400 epochs below 5,000 training cells);
# a positive value caps it (a stated deviation, for quick runs).
set -euo pipefail
cd "$(dirname "$0")/../.."
S=${SCX_BIN:-build/scextract}
W=${1:-bench/out/heavy}
CELLS=${CELLS:-5000}
DONORS=${DONORS:-20}
SPLITS=${SPLITS:-12}
SCVI_EPOCHS=${SCVI_EPOCHS:-0}
mkdir -p "$W"
W=$(cd "$W" && pwd)
source bench/planted_bed.sh
planted_bed "$W/bed" "$CELLS" "$DONORS"
cat > "$W/config.json" <<JSON
{
  "data": {"path": "$W/bed/sim.h5ad", "label_key": "cell_type", "donor_key": "donor", "tissue_key": "tissue"},
  "ruler": "default",
  "panel": {"from_operator": "$W/bed/planted.scxop"},
  "splits": {"n": $SPLITS, "test_donors": 4, "max_train_cells": 100000, "seed": 42},
  "reference": "scextract",
  "methods": [
    {"type": "algorithm", "name": "scextract", "operator": "$W/bed/planted.scxop", "features": "drift"},
    {"type": "raw"},
    {"type": "pca", "name": "pca10", "components": 10},
    {"type": "svd", "name": "svd10", "components": 10},
    {"type": "celltypist"},
    {"type": "dpt"},
    {"type": "palantir"},
    {"type": "scvi", "max_epochs": $SCVI_EPOCHS},
    {"type": "mlp_probe", "model": "$W/bed/planted"}
  ]
}
JSON
/usr/bin/time -f "%e s wall, %M KB peak" $S bench --config "$W/config.json" --out "$W/report" 2>&1 | tee "$W/bench.log"
