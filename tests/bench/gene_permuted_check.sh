#!/usr/bin/env bash
# Issue 17, item 5 on a small planted bed, end to end through the CLI: a tiny model with the
# simulation's programs planted in head 2:5, its attention atlas, and `bench` with
# "controls": ["gene_permuted"]. The extracted algorithm (single-head features) must beat the
# same configuration on the atlas with its genes permuted on depth ordering, significantly over
# distinct held-out donors (the control comparison of comparisons.tsv), and the report must
# carry the controls section.
set -euo pipefail
S=$1 OUT=$2
rm -rf "$OUT"
mkdir -p "$OUT"
"$S" --quiet simulate --cells 4000 --donors 12 --genes 1000 --out "$OUT/sim.h5ad"
"$S" --quiet make-model --out "$OUT/planted" --size tiny --plant "$OUT/sim.h5ad" --force
"$S" --quiet export --model "$OUT/planted" --reference "$OUT/sim.h5ad" --panel 400 --mode atlas --cells 300 \
  --out "$OUT/planted.scxop"
cat > "$OUT/bench.json" <<JSON
{
  "data": {"path": "sim.h5ad", "tissue_key": "tissue"},
  "panel": {"from_operator": "planted.scxop"},
  "splits": {"n": 12, "test_donors": 3, "seed": 42},
  "endpoints": ["depth_spearman", "stage_balanced_accuracy"],
  "methods": [
    {"type": "algorithm", "name": "planted", "operator": "planted.scxop", "features": "head", "head": "2:5",
     "controls": ["gene_permuted"]}
  ]
}
JSON
"$S" --quiet bench --config "$OUT/bench.json" --out "$OUT/report"
# columns: reference method endpoint unit n mean_reference mean_method ... q(11) test significant(13) kind(14)
row=$(awk -F'\t' '$14 == "control" && $2 == "planted" && $3 == "depth_spearman" && $4 == "donors"' "$OUT/report/comparisons.tsv")
[ -n "$row" ] || { echo "no control comparison of planted on depth over donors"; exit 1; }
echo "planted vs its gene permutation, depth over donors: $row"
echo "$row" | awk -F'\t' '{ exit !($1 == "planted_gene_permuted" && $7 > $6 && $13 == "yes") }' \
  || { echo "the planted atlas does not beat its gene-permuted control significantly on depth"; exit 1; }
grep -q 'id="controls"' "$OUT/report/report.html" || { echo "report.html lacks the controls section"; exit 1; }
echo "gene-permuted control: the planted atlas wins on depth over donors"
