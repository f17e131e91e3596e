#!/usr/bin/env bash
# Calibrated beds against real cells (issue 18, items 2 and 3; docs/simulation.md).
#
#   bench/realistic/run.sh [WORKDIR]     (default: bench/realistic/out; about 2 minutes)
#
# 1. Realism: calibrate on a real set, simulate its population (--composition reference) and
#    compare the two with `simulate --compare`; also the default planted bed against the same
#    real set, as the baseline the calibration is meant to improve on.
# 2. Difficulty: the same methods (raw panel, PCA-10 readouts) on real cells where truth does
#    not come from RNA, and on calibrated beds of the same size and donor structure (5 seeds):
#    - CD4 vs CD8 AUROC on PBMC CITE-seq T cells gated on CD3/CD4/CD8a protein (gate_adt.py);
#    - depth |Spearman| on the Triana 2021 Abseq set (its labels were assigned with 197 surface
#      proteins together with RNA), 2 batches (BM, PBMC) as donors.
# Prints a Markdown table; results in WORKDIR/difficulty.tsv and WORKDIR/*/realism.*.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
WORK="${1:-$ROOT/bench/realistic/out}"
SCX="${SCX_BIN:-$ROOT/build/scextract}"
PY="$ROOT/.venv/bin/python"
DATA="$ROOT/../shared/data"
for f in "$DATA/clustifyr_pbmc3k/clustifyr_pbmc3k.h5ad" "$DATA/scvi_pbmc_citeseq_5k_10k/scvi_pbmc_citeseq_5k_10k.h5ad" \
         "$DATA/triana2021_hspc_citeseq/triana2021_hspc_citeseq.h5ad"; do
  [ -f "$f" ] || { echo "missing $f (../shared/data)"; exit 1; }
done
[ -x "$SCX" ] || { echo "build scextract first (scripts/setup.sh)"; exit 1; }
[ -x "$PY" ] || "$ROOT/scripts/make_venv.sh"
mkdir -p "$WORK"
cd "$WORK"
SEEDS="1 2 3 4 5"

# --- 1. realism -------------------------------------------------------------------------
realism() { # name ref label_key donor_key min_cells
  local name=$1 ref=$2 label=$3 donor=$4 min=$5 n
  n=$("$PY" -c "import anndata as a; print(a.read_h5ad('$ref', backed='r').n_obs)")
  local dk=(); [ -n "$donor" ] && dk=(--donor-key "$donor")
  "$SCX" -q simulate --calibrate "$ref" --label-key "$label" "${dk[@]}" --min-cells "$min" \
    --calibration-out "$name.calibration.json"
  "$SCX" -q simulate --calibration "$name.calibration.json" --composition reference --cells "$n" \
    --donors "$(( ${#dk[@]} ? 2 : 1 ))" --design-seed 1 --out "${name}_bed.h5ad"
  "$SCX" -q simulate --compare "${name}_bed.h5ad" "$ref" "${dk[@]}" --out "realism_$name"
}
realism pbmc3k "$DATA/clustifyr_pbmc3k/clustifyr_pbmc3k.h5ad" cell_type "" 500
realism triana "$DATA/triana2021_hspc_citeseq/triana2021_hspc_citeseq.h5ad" cell_type "" 200
if [ -f "$DATA/muscat_kang2018_pbmc/muscat_kang2018_pbmc.h5ad" ]; then # GPL-3: used here, never copied
  realism kang "$DATA/muscat_kang2018_pbmc/muscat_kang2018_pbmc.h5ad" cell_type donor 500
fi
"$SCX" -q simulate --cells 2638 --donors 1 --out planted_bed.h5ad
"$SCX" -q simulate --compare planted_bed.h5ad "$DATA/clustifyr_pbmc3k/clustifyr_pbmc3k.h5ad" --out realism_planted_vs_pbmc3k

# --- 2. difficulty ----------------------------------------------------------------------
"$PY" "$ROOT/bench/realistic/gate_adt.py" "$DATA/scvi_pbmc_citeseq_5k_10k/scvi_pbmc_citeseq_5k_10k.h5ad" \
  pbmc_citeseq_T.h5ad --cd3 CD3_TotalSeqB --cd4 CD4_TotalSeqB --cd8 CD8a_TotalSeqB > /dev/null
config() { # path label_key donor_key
  cat <<JSON
{
  "data": {"path": "$1", "label_key": "$2", "donor_key": "$3"},
  "ruler": "default",
  "panel": {"size": 400},
  "splits": {"n": 2, "test_donors": 1, "seed": 42},
  "reference": "raw",
  "methods": [{"type": "raw"}, {"type": "pca", "name": "pca10", "components": 10}]
}
JSON
}
column_mean() { # scores_by_split.tsv method column
  awk -F'\t' -v m="$2" -v c="$3" 'NR==1{for(i=1;i<=NF;i++) if($i==c) k=i; next} $2==m && $k!="NA"{s+=$k; n++} END{if(n) printf "%.3f", s/n; else printf "NA"}' "$1"
}
printf "task\tdata\tmethod\tseed\tvalue\n" > difficulty.tsv
run_bench() { # task data_name path label donor seed
  config "$3" "$4" "$5" > "bench_$2_$6.json"
  "$SCX" -q bench --config "bench_$2_$6.json" --out "bench_$2_$6" > /dev/null
  local col=cd4_cd8_auroc; [ "$1" = depth ] && col=depth_spearman
  for m in raw pca10; do
    printf "%s\t%s\t%s\t%s\t%s\n" "$1" "$2" "$m" "$6" "$(column_mean "bench_$2_$6/scores_by_split.tsv" "$m" "$col")" >> difficulty.tsv
  done
}
run_bench cd4_cd8 real_pbmc_citeseq_adt pbmc_citeseq_T.h5ad adt_cell_type batch -
run_bench depth real_triana "$DATA/triana2021_hspc_citeseq/triana2021_hspc_citeseq.h5ad" cell_type batch -
"$SCX" -q simulate --calibrate pbmc_citeseq_T.h5ad --label-key adt_cell_type --donor-key batch --min-cells 150 \
  --calibration-out adt_t.calibration.json
for scale in 1 0; do
  for seed in $SEEDS; do
    "$SCX" -q --seed "$seed" simulate --calibration adt_t.calibration.json --composition reference --cells 198 --donors 2 \
      --design-seed 1 --within-type-scale "$scale" --out "adt_t_bed_$scale.h5ad"
    run_bench cd4_cd8 "calibrated_adt_t_wt$scale" "adt_t_bed_$scale.h5ad" cell_type donor "$seed"
    "$SCX" -q --seed "$seed" simulate --calibration triana.calibration.json --composition reference --cells 250 --donors 2 \
      --design-seed 1 --within-type-scale "$scale" --out "triana_bed_$scale.h5ad"
    run_bench depth "calibrated_triana_wt$scale" "triana_bed_$scale.h5ad" cell_type donor "$seed"
  done
done
"$PY" - <<'PYEOF'
import csv, statistics
rows = list(csv.DictReader(open("difficulty.tsv"), delimiter="\t"))
print("| task | data | raw panel | PCA-10 |")
print("|---|---|---|---|")
keys = []
for r in rows:
    k = (r["task"], r["data"])
    if k not in keys: keys.append(k)
for task, data in keys:
    cells = []
    for m in ("raw", "pca10"):
        v = [float(r["value"]) for r in rows if r["task"] == task and r["data"] == data and r["method"] == m and r["value"] != "NA"]
        cells.append("NA" if not v else f"{statistics.mean(v):.3f}" if len(v) == 1 else
                     f"{statistics.mean(v):.3f} (range {min(v):.3f}-{max(v):.3f}, {len(v)} seeds)")
    print(f"| {task} | {data} | {cells[0]} | {cells[1]} |")
PYEOF
for d in realism_*; do echo "== $d"; cut -f1-3 "$d/realism.tsv" | tail -n +2; done
