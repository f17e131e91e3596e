#!/usr/bin/env bash
# The runtime campaign of the benchmark issue: every available method on the same 12
# donor-holdout splits of 100,000 simulated cells, timed as `scextract bench` times them
# (one-time cache vs per-split work; results.json "runtime", report.html "Runtimes").
#
#   bench/runtime_campaign/run.sh [WORKDIR]   (env: CELLS=100000, DONORS=24, SPLITS=12, SCX_BIN,
#                                              METHODS=light|heavy|all|adaptors, default light)
#
# light: the extracted algorithm, raw panel, PCA-10, SVD-10, CellTypist; heavy: scanpy DPT,
# Palantir, scVI (scvi-tools' epoch heuristic) and the planted model's frozen embeddings +
# MLP probe (the embedding cache is the one-time cost); adaptors: the extracted algorithm with
# each Stage 2 variant (anchor, cell, hybrid; cell and hybrid on <= 500 cells per stage).
#
# The extracted algorithm uses the planted model's atlas operator from bench/controls/run.sh's
# work directory (made here if absent: simulate 16k cells, make-model --plant, export). The
# campaign's cells are simulated in memory with the same design (seed 42, 1,000 genes), so
# the operator's panel genes are all present.
set -euo pipefail
cd "$(dirname "$0")/../.."
S=${SCX_BIN:-build/scextract}
W=${1:-bench/out/runtime_campaign}
CELLS=${CELLS:-100000}
DONORS=${DONORS:-24}
SPLITS=${SPLITS:-12}
METHODS=${METHODS:-light}
C=${CONTROLS_DIR:-bench/out/controls}
mkdir -p "$W" "$C"
W=$(cd "$W" && pwd)
C=$(cd "$C" && pwd)
source bench/planted_bed.sh
planted_bed "$C"

light='    {"type": "algorithm", "name": "algorithm", "operator": "'$C'/planted.scxop", "features": "drift"},
    {"type": "raw"},
    {"type": "pca", "name": "pca10", "components": 10},
    {"type": "svd", "name": "svd10", "components": 10},
    {"type": "celltypist"}'
adaptors='    {"type": "algorithm", "name": "anchor", "operator": "'$C'/planted.scxop", "features": "drift", "adaptor": "anchor"},
    {"type": "algorithm", "name": "cell", "operator": "'$C'/planted.scxop", "features": "drift", "adaptor": "cell"},
    {"type": "algorithm", "name": "hybrid", "operator": "'$C'/planted.scxop", "features": "drift", "adaptor": "hybrid"}'
heavy='    {"type": "dpt"},
    {"type": "palantir"},
    {"type": "scvi"},
    {"type": "mlp_probe", "model": "'$C'/planted"}'
methods() {
  case "$METHODS" in
    light) echo "$light" ;;
    heavy) echo "$heavy" ;;
    all) printf '%s,\n%s\n' "$light" "$heavy" ;;
    adaptors) echo "$adaptors" ;;
    *) echo "METHODS must be light, heavy, all or adaptors" >&2; exit 2 ;;
  esac
}
methods > /dev/null
cat > "$W/campaign.json" <<JSON
{
  "data": {"simulate": {"cells": $CELLS, "donors": $DONORS, "genes": 1000, "seed": 42}, "tissue_key": "tissue"},
  "panel": {"from_operator": "$C/planted.scxop"},
  "splits": {"n": $SPLITS, "test_donors": 4, "max_train_cells": 100000, "seed": 42},
  $(case "$METHODS" in heavy) ;; adaptors) echo '"reference": "anchor",' ;; *) echo '"reference": "algorithm",' ;; esac)
  "methods": [
$(methods)
  ]
}
JSON
/usr/bin/time -v $S bench --config "$W/campaign.json" --out "$W/report" 2> >(tee "$W/bench.stderr" >&2)
python3 - "$W/report/results.json" <<'PY'
import json, statistics, sys
r = json.load(open(sys.argv[1]))
print(f"{'method':<12} {'cache s':>8} {'split s median':>15} {'min':>7} {'max':>7} {'total s':>9}")
for m in r["methods"]:
    s = m["split_seconds"]
    print(f"{m['name']:<12} {m['cache_seconds']:>8.1f} {statistics.median(s):>15.1f} {min(s):>7.1f} {max(s):>7.1f} "
          f"{m['total_seconds']:>9.1f}")
PY
